// A Worker that receives Commerce Layer webhooks with clhooks, and runs the shared vectors
// inside workerd when the test POSTs them to /vectors.
import * as clhooks from 'clhooks';
import { runVectors } from '../vectors.mjs';

const UNAUTHORIZED = new Set(['missing_signature', 'malformed_signature', 'signature_mismatch']);

function base64ToBytes(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/vectors' && request.method === 'POST') {
      const files = await request.json();
      files.fixture = base64ToBytes(files.fixture);
      return Response.json({ runtime: 'workerd', ...runVectors(clhooks, files) });
    }
    if (request.method !== 'POST') return new Response('only POST', { status: 405 });
    try {
      const event = clhooks.receive(await request.arrayBuffer(), request.headers, env.CL_WEBHOOK_SECRET);
      return Response.json({ topic: event.topic, id: event.id });
    } catch (e) {
      if (!(e instanceof clhooks.WebhookError)) throw e;
      return Response.json({ code: e.code }, { status: UNAUTHORIZED.has(e.code) ? 401 : 400 });
    }
  },
};
