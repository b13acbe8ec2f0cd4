// A Commerce Layer webhook receiver in an Express app that mounts express.json() globally.
//   CL_WEBHOOK_SECRET=secret node server.mjs
import { createServer } from 'node:http';
import express from 'express';
import { Webhooks, keepRawBody } from 'clhooks';

const webhooks = new Webhooks({
  secret: (process.env.CL_WEBHOOK_SECRET ?? '').split(',').filter(Boolean),
  // ALLOW_SOURCES=commercelayer: only Commerce Layer's published addresses (or a comma list).
  sources: process.env.ALLOW_SOURCES ? { allow: process.env.ALLOW_SOURCES.split(',') } : undefined,
});
webhooks.on('orders.*', (event) => console.log(`event ${event.topic} ${event.id} ${event.idempotencyKey.slice(0, 12)}`));
webhooks.on('shipments.*', (event) => console.log(`event ${event.topic} ${event.id} ${event.idempotencyKey.slice(0, 12)}`));

const app = express();
// The whole app parses JSON. `keepRawBody` keeps the exact bytes too, so the webhook route can
// verify signatures even for requests the JSON parser read.
app.use(express.json({ limit: '5mb', verify: keepRawBody }));
app.get('/health', (_req, res) => res.json({ ok: true }));
app.all('/webhooks', webhooks.express());

// An app-wide parser reads a body before any route sees it, and after refusing one over its
// limit reads the rest to the end, however long that is: every request is bounded in time
// (checked each second). Commerce Layer gives up after 5 s anyway.
const server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000, connectionsCheckingInterval: 1_000 }, app);
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}`);
});
