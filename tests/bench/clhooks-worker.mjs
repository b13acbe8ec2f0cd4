// clhooks' handoff worker as `equal.mjs` runs it beside the handoff receiver: the package in
// PKG, the queue on REDIS_URL, 16 handlers at once, each taking HANDLER_MS as slow work would.
import { join } from 'node:path';
import { createClient } from 'redis';

const pkg = process.env.PKG;
const { createWorker } = await import(join(pkg, 'node.mjs'));
const { createRedisQueue } = await import(join(pkg, 'redis.mjs'));
const queue = createRedisQueue(await createClient({ url: process.env.REDIS_URL }).connect(), { stream: 'bench:clhooks' });
const slow = Number(process.env.HANDLER_MS);
createWorker({ secret: process.env.CL_WEBHOOK_SECRET, queue, onError: null })
  .on('*', () => new Promise((ok) => setTimeout(ok, slow)))
  .start();
console.log('0');
