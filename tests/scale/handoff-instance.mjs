// One process of the handoff tests: a receiver (ROLE=receiver: a node:http server handing off to
// the Redis queue) or a worker (ROLE=worker: running the queue's messages). Each handler run is
// counted in Redis itself (HINCRBY handoff:runs / handoff:done <event id>), so the test sees
// what every worker did, killed ones included. An event's attributes choose what its handler
// does: `fail_first` throws on its first run anywhere, `always_fail` always throws, `slow_ms`
// sleeps that long, `hold` never ends on the worker named by HOLDER.
//
//   PKG=… REDIS_URL=… CLIENT=redis|ioredis ROLE=receiver|worker NAME=… [MAX_ATTEMPTS= RETRY_MS=
//   RECLAIM_IDLE_MS= BLOCK_MS= CONCURRENCY= HOLDER= STORE_TIMEOUT_MS= STREAM=] node handoff-instance.mjs

import { createServer } from 'node:http';
import { join, resolve } from 'node:path';

const pkg = resolve(process.env.PKG ?? 'pkg');
const { Webhooks, createWorker } = await import(join(pkg, 'node.mjs'));
const { createRedisQueue } = await import(join(pkg, 'redis.mjs'));
const url = process.env.REDIS_URL;
const name = process.env.NAME ?? 'instance';
const secret = 'handoff-secret';

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
const queue = createRedisQueue(client, process.env.STREAM ? { stream: process.env.STREAM } : {});
const number = (variable) => (process.env[variable] ? Number(process.env[variable]) : undefined);

if (process.env.ROLE === 'worker') {
  const options = {
    secret, queue, onError: () => {},
    maxAttempts: number('MAX_ATTEMPTS'), retryMs: number('RETRY_MS'), retryCapMs: number('RETRY_MS'),
    reclaimIdleMs: number('RECLAIM_IDLE_MS'), blockMs: number('BLOCK_MS'), concurrency: number('CONCURRENCY'),
  };
  const worker = createWorker(options).on('*', async (event) => {
    const { attributes } = event.data;
    await command(['HINCRBY', 'handoff:runs', event.id, '1']);
    await command(['HSET', 'handoff:ran-on', event.id, name]);
    if (attributes.hold && name === process.env.HOLDER) await new Promise(() => {});
    if (attributes.slow_ms) await new Promise((ok) => setTimeout(ok, attributes.slow_ms));
    if (attributes.always_fail) throw new Error('this event always fails');
    if (attributes.fail_first && (await command(['SET', `handoff:failed:${event.id}`, name, 'NX'])) === 'OK') {
      throw new Error('the first run of this event fails');
    }
    await command(['HINCRBY', 'handoff:done', event.id, '1']);
  });
  worker.start();
  console.log(`worker ${name} started`);
  process.on('SIGTERM', async () => {
    await worker.stop({ graceMs: 5_000 });
    process.exit(0);
  });
} else {
  const webhooks = new Webhooks({ secret, queue, onError: () => {}, storeTimeoutMs: number('STORE_TIMEOUT_MS') });
  const server = createServer({ keepAliveTimeout: 30_000 }, webhooks.nodeHandler());
  server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
}
