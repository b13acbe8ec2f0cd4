// clhooks' node:http receiver as `equal.mjs` runs it: the package in PKG, the seen-store STORE
// (`none`, `memory` at 10,000 keys, or `redis` on REDIS_URL), a handler that does nothing.
import { createServer } from 'node:http';
import { join } from 'node:path';

const pkg = process.env.PKG;
const { createNodeHandler, createMemoryStore } = await import(join(pkg, 'node.mjs'));
let seen = null;
if (process.env.STORE === 'memory') seen = createMemoryStore({ max: 10_000 });
if (process.env.STORE === 'redis') {
  const { createClient } = await import('redis');
  const { createRedisStore } = await import(join(pkg, 'redis.mjs'));
  seen = createRedisStore(await createClient({ url: process.env.REDIS_URL }).connect());
}
const server = createServer(createNodeHandler({ secret: process.env.CL_WEBHOOK_SECRET, seen, onEvent: async () => {}, onError: null }));
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
