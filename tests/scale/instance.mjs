// One receiver instance of the scale-out tests: a node:http server whose Webhooks share a
// Redis seen-store with the other instances. Its handler's side effect is counted in Redis
// itself (HINCRBY handled <event id>), so the test sees what every instance did, crashed ones
// included. An event whose attributes say `fail_first` throws on its first run anywhere; one
// that says `hang_first` never finishes its first run (the test kills the instance then); one
// that says `always_fail` throws on every run. The failure streaks' notices are pushed to the
// Redis list `test:told`, and GET /health is the receiver's health endpoint.
//
//   PKG=… REDIS_URL=redis://127.0.0.1:PORT CLIENT=redis|ioredis NAME=a [LEASE_MS= HANDLER_TIMEOUT_MS= STORE_TIMEOUT_MS=] node instance.mjs

import { createServer } from 'node:http';
import { join, resolve } from 'node:path';

const pkg = resolve(process.env.PKG ?? 'pkg');
const { Webhooks } = await import(join(pkg, 'node.mjs'));
const { createRedisStore } = await import(join(pkg, 'redis.mjs'));
const url = process.env.REDIS_URL;
const name = process.env.NAME ?? 'instance';
const prefix = process.env.PREFIX ?? 'clhooks:seen:';

// Both clients the store takes; each reconnects on its own after Redis comes back.
let client;
if (process.env.CLIENT === 'ioredis') {
  const { default: Redis } = await import('ioredis');
  client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  client.on('error', () => {});
} else {
  const { createClient } = await import('redis');
  client = createClient({ url, socket: { reconnectStrategy: () => 100 } });
  client.on('error', () => {});
  await client.connect();
}
const command = (args) => (process.env.CLIENT === 'ioredis' ? client.call(...args) : client.sendCommand(args));

const options = {
  secret: 'scale-secret',
  // STORE=memory: the same receiver on the in-memory store, to measure what Redis adds.
  seen: process.env.STORE === 'memory' ? undefined : createRedisStore(client, { prefix }),
  ...(process.env.LEASE_MS ? { leaseMs: Number(process.env.LEASE_MS) } : {}),
  ...(process.env.HANDLER_TIMEOUT_MS ? { handlerTimeoutMs: Number(process.env.HANDLER_TIMEOUT_MS) } : {}),
  ...(process.env.STORE_TIMEOUT_MS ? { storeTimeoutMs: Number(process.env.STORE_TIMEOUT_MS) } : {}),
  // A failure streak's notice is kept in Redis, for the test to see what every instance told.
  onError: (error) => {
    if (String(error?.code).startsWith('failure_streak')) command(['RPUSH', `${prefix}test:told`, `${error.code} ${error.streak} ${error.circuit ?? '-'} ${name}`]).catch(() => {});
  },
};
const webhooks = new Webhooks(options).on('*', async (event) => {
  // NOOP=1: nothing but the claim (the latency figures).
  if (process.env.NOOP) return;
  const { attributes } = event.data;
  await command(['HSET', `${prefix}test:started`, event.id, name]);
  if (attributes.hang_first && (await command(['SET', `${prefix}test:hung:${event.id}`, name, 'NX'])) === 'OK') {
    await new Promise(() => {});
  }
  if (attributes.always_fail) throw new Error('this event always fails');
  if (attributes.fail_first && (await command(['SET', `${prefix}test:failed:${event.id}`, name, 'NX'])) === 'OK') {
    throw new Error('the first run of this event fails');
  }
  await command(['HINCRBY', `${prefix}test:handled`, event.id, '1']);
  await command(['HSET', `${prefix}test:by`, event.id, name]);
});

const handler = webhooks.nodeHandler();
const health = webhooks.healthHandler();
const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => (req.url === '/health' ? health(req, res) : handler(req, res)));
server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
