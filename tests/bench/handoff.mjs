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

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const pkgDir = resolve(process.argv[2] ?? 'pkg');
const root = resolve(pkgDir, '..');
const WARMUP = 2;
const WINDOW = 1;
const ROUNDS = 6;
const CONCURRENCY = 32;
const SECRET = 'bench-secret';
const HANDLER_MS = 8_000;

const freePort = () => new Promise((ok) => {
  const server = netServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => ok(port));
  });
});

const work = mkdtempSync(join(tmpdir(), 'clhooks-bench-'));
const redisPort = await freePort();
const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes',
  '--appendfsync', 'everysec', '--dir', work], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((ok) => redis.stdout.on('data', (d) => { if (/Ready to accept/.test(d)) ok(); }));
const REDIS_URL = `redis://127.0.0.1:${redisPort}`;
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

const CPU_PROBE = `
    process.stdin.on('data', () => { const { user, system } = process.cpuUsage(); process.stdout.write(\`\${user + system}\\n\`); });`;
function startServer(code) {
  const child = spawn('node', ['--input-type=module', '-e', code + CPU_PROBE], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((ok) => child.stdout.once('data', (d) => ok({ child, port: Number(String(d).trim()) })));
}

// Every request a distinct delivery: a 4 KiB document with its own id, signed here.
const padding = 'x'.repeat(4000);
let sent = 0;
function delivery() {
  sent += 1;
  const body = Buffer.from(`{"data":{"id":"o${sent}","type":"orders","attributes":{"status":"placed","note":"${padding}"}}}`);
  const headers = {
    'content-type': 'application/vnd.api+json',
    'content-length': body.length,
    'x-commercelayer-signature': createHmac('sha256', SECRET).update(body).digest('base64'),
    'x-commercelayer-topic': 'orders.place',
  };
  return { body, headers };
}

/** Load on `port` for `seconds`; each answer's time (ms) pushed to `times`. */
async function load(port, agent, seconds, times) {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  const one = () => new Promise((ok) => {
    const { body, headers } = delivery();
    const started = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/hooks', method: 'POST', agent, headers }, (res) => {
      if (res.statusCode !== 200) errors++;
      res.resume();
      res.on('end', () => {
        times?.push(performance.now() - started);
        ok();
      });
    });
    req.on('error', () => { errors++; ok(); });
    req.end(body);
  });
  const worker = async () => {
    while (performance.now() < deadline) {
      await one();
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { ms: performance.now() - started, errors, done };
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

const workerProcess = await startServer(workerCode);
console.log(`\nhandoff on loopback: distinct 4 KiB signed deliveries, ${CONCURRENCY} keep-alive connections, one Redis (append-only, fsync every second); `
  + `a worker runs the clhooks queue meanwhile, 16 handlers at once taking ${HANDLER_MS / 1000} s each; ${WARMUP} s of warm-up each, then ${ROUNDS} turns of ${WINDOW} s`);
const running = [];
for (const [name, code] of Object.entries(servers)) {
  const { child, port } = await startServer(code);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  await load(port, agent, WARMUP);
  running.push({ name, child, port, agent, ms: 0, done: 0, errors: 0, times: [] });
}
for (let round = 0; round < ROUNDS; round++) {
  for (const server of [...running.slice(round % running.length), ...running.slice(0, round % running.length)]) {
    const { ms, errors, done } = await load(server.port, server.agent, WINDOW, server.times);
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
redis.kill();
rmSync(work, { recursive: true, force: true });
