// `make bench`, handoff: a node:http receiver in handoff mode on a real Redis (Debian's
// redis-server, append-only, fsync every second, started here on loopback), side by side with
// the receiver a user would write by hand for the same job: node:crypto verify, a SHA-256 key,
// `SET key NX PX` to dedupe and `XADD` of the body to the same kind of stream. Every request is a
// distinct, freshly signed 4 KiB delivery (the load generator signs it, the same cost for both).
// A worker runs the queue meanwhile, its handlers taking 8 s each, as slow work would: the
// answers must not wait for it. Prints requests per second, the answer's p50 and p99, and the
// ratio to the hand-written one.
//
// The servers take turns under load (WINDOW seconds each, ROUNDS times, each round starting one
// server later), after WARMUP seconds each.
//
// Usage: node tests/bench/handoff.mjs PKG_DIR

import { Agent } from 'node:http';
import { join, resolve } from 'node:path';
import { CONCURRENCY, SECRET, deliveries, load, percentile, startRedis, startServer } from './load.mjs';

const pkgDir = resolve(process.argv[2] ?? 'pkg');
const root = resolve(pkgDir, '..');
const WARMUP = 2;
const WINDOW = 1;
const ROUNDS = 6;
const HANDLER_MS = 8_000;

const redis = await startRedis({ aof: true });
const REDIS_URL = redis.url;
const redisModule = JSON.stringify(join(root, 'node_modules/redis/dist/index.js'));

const connect = `
    import { createClient } from ${redisModule};
    const client = await createClient({ url: ${JSON.stringify(REDIS_URL)} }).connect();`;

const servers = {
  'clhooks handoff (createNodeHandler, createRedisQueue: claim + XADD in one script)': `
    import { createServer } from 'node:http';
    import { createNodeHandler } from ${JSON.stringify(join(pkgDir, 'node.mjs'))};
    import { createRedisQueue } from ${JSON.stringify(join(pkgDir, 'redis.mjs'))};
    ${connect}
    const server = createServer(createNodeHandler({ secret: ${JSON.stringify(SECRET)}, queue: createRedisQueue(client, { stream: 'bench:clhooks' }), onError: null }));
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`,
  'by hand: node:crypto verify + SHA-256 key + SET NX PX + XADD': `
    import { createServer } from 'node:http';
    import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
    ${connect}
    const server = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks);
        const signature = String(req.headers['x-commercelayer-signature']);
        const topic = String(req.headers['x-commercelayer-topic']);
        const given = Buffer.from(signature, 'base64');
        const mac = createHmac('sha256', ${JSON.stringify(SECRET)}).update(body).digest();
        if (given.length !== mac.length || !timingSafeEqual(given, mac)) return res.writeHead(401).end();
        const key = createHash('sha256').update(topic).update(body).digest('hex');
        try {
          if (await client.set('bench:seen:' + key, 'q', { NX: true, PX: 15525000 }) === null) {
            return res.writeHead(200, { 'content-type': 'application/json' }).end('{"duplicate":true}');
          }
          await client.xAdd('bench:hand', '*', { key, topic, sig: signature, rcv: String(Date.now()), body });
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"queued":true}');
        } catch {
          res.writeHead(503).end();
        }
      });
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`,
};

// The worker on the clhooks stream: 16 handlers at once, each taking 8 s.
const workerCode = `
    import { createWorker } from ${JSON.stringify(join(pkgDir, 'node.mjs'))};
    import { createRedisQueue } from ${JSON.stringify(join(pkgDir, 'redis.mjs'))};
    ${connect}
    createWorker({ secret: ${JSON.stringify(SECRET)}, queue: createRedisQueue(client, { stream: 'bench:clhooks' }), onError: null })
      .on('*', () => new Promise((ok) => setTimeout(ok, ${HANDLER_MS}))).start();
    console.log('0');`;

const next = deliveries(4096);

const workerProcess = await startServer(workerCode);
console.log(`\nhandoff on loopback: distinct 4 KiB signed deliveries, ${CONCURRENCY} keep-alive connections, one Redis (append-only, fsync every second); `
  + `a worker runs the clhooks queue meanwhile, 16 handlers at once taking ${HANDLER_MS / 1000} s each; ${WARMUP} s of warm-up each, then ${ROUNDS} turns of ${WINDOW} s`);
const running = [];
for (const [name, code] of Object.entries(servers)) {
  const { child, port } = await startServer(code);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  await load(port, agent, next, WARMUP);
  running.push({ name, child, port, agent, ms: 0, done: 0, errors: 0, times: [] });
}
for (let round = 0; round < ROUNDS; round++) {
  for (const server of [...running.slice(round % running.length), ...running.slice(0, round % running.length)]) {
    const { ms, errors, done } = await load(server.port, server.agent, next, WINDOW, server.times);
    server.ms += ms;
    server.done += done;
    server.errors += errors;
  }
}
const twin = running.find((s) => s.name.startsWith('by hand'));
const rate = (s) => s.done / (s.ms / 1000);
console.log('| receiver | req/s | p50 | p99 | vs by hand | errors |');
console.log('|---|---|---|---|---|---|');
for (const server of running) {
  console.log(`| ${server.name} | ${rate(server).toFixed(0)} | ${percentile(server.times, 50).toFixed(2)} ms | ${percentile(server.times, 99).toFixed(2)} ms `
    + `| ${(rate(server) / rate(twin)).toFixed(2)}× | ${server.errors} |`);
}
console.log('goal: p99 under 20 ms in handoff mode while handlers take 8 s');
for (const server of [...running, workerProcess]) {
  server.agent?.destroy();
  server.child.kill();
}
redis.stop();
