// clhooks' node:http receiver as `equal.mjs` runs it: the package in PKG, the seen-store STORE
// (`none`, `memory` at 10,000 keys, `redis` on REDIS_URL, or `redis-claims`: its claims alone,
// the streaks counted in this process), a handler that does nothing; or
// with STORE `queue`, handing each delivery to a Redis stream for the workers
// (clhooks-worker.mjs).
import { createServer } from 'node:http';
import { join } from 'node:path';

const pkg = process.env.PKG;
const { createNodeHandler, createMemoryStore } = await import(join(pkg, 'node.mjs'));
let seen = null;
if (process.env.STORE === 'memory') seen = createMemoryStore({ max: 10_000 });
if (process.env.STORE === 'redis' || process.env.STORE === 'redis-claims') {
  const { createClient } = await import('redis');
  const { createRedisStore } = await import(join(pkg, 'redis.mjs'));
  seen = createRedisStore(await createClient({ url: process.env.REDIS_URL }).connect());
  // Its claims alone: without `count` and `tallies`, the streaks are counted in this process.
  if (process.env.STORE === 'redis-claims') seen = { claim: seen.claim, done: seen.done, release: seen.release };
}
let queue;
if (process.env.STORE === 'queue') {
  const { createClient } = await import('redis');
  const { createRedisQueue } = await import(join(pkg, 'redis.mjs'));
  queue = createRedisQueue(await createClient({ url: process.env.REDIS_URL }).connect(), { stream: 'bench:clhooks' });
}
const server = createServer(createNodeHandler({ secret: process.env.CL_WEBHOOK_SECRET, seen, queue, onEvent: async () => {}, onError: null }));
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
