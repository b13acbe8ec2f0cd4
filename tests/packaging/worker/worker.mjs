// A Worker that receives Commerce Layer webhooks with clhooks, and runs the shared vectors
// inside workerd when the test POSTs them to /vectors.
import * as clhooks from 'clhooks';
import { runVectors } from '../vectors.mjs';

function base64ToBytes(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

let webhooks;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/vectors' && request.method === 'POST') {
      const files = await request.json();
      files.fixture = base64ToBytes(files.fixture);
      return Response.json({ runtime: 'workerd', ...(await runVectors(clhooks, files)) });
    }
    webhooks ??= new clhooks.Webhooks({ secret: env.CL_WEBHOOK_SECRET });
    return webhooks.fetch(request);
  },
};
