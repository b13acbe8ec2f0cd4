// A Commerce Layer webhook receiver on node:http.
//   CL_WEBHOOK_SECRET=secret node server.mjs      (several secrets, comma-separated, while rotating)
//   ALLOW_SOURCES=commercelayer                   (optional: only Commerce Layer's addresses, or a list)
//   REDIS_URL=redis://127.0.0.1:6379              (optional: claims shared by every instance on that Redis)
import { createServer } from 'node:http';
import { Webhooks } from 'clhooks';

const secrets = (process.env.CL_WEBHOOK_SECRET ?? '').split(',').filter(Boolean);

// Several instances behind a load balancer share one Redis, so each event is handled once
// whichever instance a retry lands on; alone, the in-memory store does.
let seen;
if (process.env.REDIS_URL) {
  const [{ createClient }, { createRedisStore }] = await Promise.all([import('redis'), import('clhooks/redis')]);
  const client = createClient({ url: process.env.REDIS_URL });
  client.on('error', (error) => console.error(`redis: ${error.message}`));
  seen = createRedisStore(await client.connect());
}

const webhooks = new Webhooks({
  secret: secrets,
  seen,
  sources: process.env.ALLOW_SOURCES ? { allow: process.env.ALLOW_SOURCES.split(',') } : undefined,
  onError: (error, event) => console.error(`handler failed for ${event.topic} ${event.id}:`, error),
});

webhooks.on('orders.place', (event) => {
  const order = event.denormalize();
  console.log(`order ${order.number} placed: ${order.line_items?.length ?? 0} line items, ${order.formatted_total_amount_with_taxes}`);
});
webhooks.on('*.destroy', (event) => console.log(`${event.type} ${event.id} destroyed`));
webhooks.on('*', (event) => console.log(`event ${event.topic} ${event.id} ${event.idempotencyKey.slice(0, 12)}`));

// Bounded in time whatever the client does (Commerce Layer gives up after 5 s anyway); the
// handler itself stops reading a body at the limit.
const server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000, connectionsCheckingInterval: 1_000 }, webhooks.nodeHandler());
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}`);
});
