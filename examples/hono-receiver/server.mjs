// A Commerce Layer webhook receiver on Hono (in Node, through @hono/node-server; the same app
// runs on Workers, Deno and Bun). Hono hands clhooks the standard Request: the raw body is
// read and verified by clhooks, and every answer is its core's.
//   CL_WEBHOOK_SECRET=secret node server.mjs      (several secrets, comma-separated, while rotating)
//   ALLOW_SOURCES=commercelayer                   (optional: only Commerce Layer's addresses, or a list)
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { handleRequest } from 'clhooks';

// One options object for every request: handleRequest keeps one receiver (and seen-store) for it.
const options = {
  secret: (process.env.CL_WEBHOOK_SECRET ?? '').split(',').filter(Boolean),
  sources: process.env.ALLOW_SOURCES ? { allow: process.env.ALLOW_SOURCES.split(',') } : undefined,
  onEvent: (event) => console.log(`event ${event.topic} ${event.id} ${event.idempotencyKey.slice(0, 12)}`),
  onError: (error, event) => console.error(`handler failed for ${event.topic} ${event.id}:`, error),
};

const app = new Hono();
// Every method: the core answers 405 to anything but POST. The socket's address is for `sources`.
app.all('/webhooks', (c) => handleRequest(c.req.raw, options, c.env?.incoming?.socket?.remoteAddress));

serve({
  fetch: app.fetch,
  port: Number(process.env.PORT ?? 3000),
  hostname: process.env.HOST ?? '127.0.0.1',
  // Bounded in time whatever the client does; clhooks stops reading a body at its limit.
  serverOptions: { requestTimeout: 10_000, headersTimeout: 10_000, connectionsCheckingInterval: 1_000 },
}, (info) => console.log(`listening on http://${info.address}:${info.port}`));
