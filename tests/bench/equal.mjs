// `make bench`, performance at equal work: each clhooks receiver configuration side by side
// with the receiver a competent user would write by hand for the same job (tests/bench/twins/,
// shown in BENCHMARKS.md), under the same load: distinct 4 KiB deliveries, each made and signed
// by the load generator (the same cost for both), 32 keep-alive connections. A duplicate-heavy
// configuration sends a few thousand bodies round, so that after the first round every
// delivery is a copy. The two servers of a configuration take turns (WINDOW seconds each,
// ROUNDS times, the order swapped every round) after WARMUP seconds each, and the table gives
// requests per second, the 99th percentile answer time, the server's CPU per request, and the
// ratios against the goals: throughput at least 0.9× the twin's, p99 at most 1.2× its (and in
// handoff mode, a worker running the queue's 8 s handlers meanwhile, under 20 ms).
//
// Then memory over time: each memory-store server's RSS after 100,000 and after 1,000,000
// distinct deliveries (goal: within 10%).
//
// The Worker rows run both as module Workers in workerd (Miniflare), on its loopback port.
//
// The axum rows come from `cargo bench -p clhooks-axum --bench throughput` (its own hyper load
// generator: Node's could not keep axum busy), run from here.
//
// Usage: node tests/bench/equal.mjs PKG_DIR   (ONLY=Redis: the configurations named so, no
// memory, axum or 44 KB run, ONLY=denormalize the 44 KB run alone, ONLY=rss the memory run alone; MEMORY=N: N deliveries in place of 1,000,000, 0 for none; AXUM=0: no axum)

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { SECRET, deliveries, fileCode, load, loadCount, percentile, probe, startRedis, startServer } from './load.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const pkgDir = resolve(process.argv[2] ?? 'pkg');
const WARMUP = 2;
const WINDOW = 1;
const ROUNDS = 6;
const GOAL_RATE = 0.9;
const GOAL_P99 = 1.2;
const GOAL_44K = 1.1;

const redis = await startRedis();
// The queue's Redis keeps what it is given: append-only, fsync every second.
const durable = await startRedis({ aof: true });
const HANDLER_MS = 8_000;
/** Redis's own CPU so far (s), from `INFO cpu`: what a server's turn cost Redis. */
const admins = new Map();
async function redisCpu(url) {
  if (!admins.has(url)) admins.set(url, await createClient({ url }).connect());
  const info = String(await admins.get(url).sendCommand(['INFO', 'cpu']));
  return Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1]);
}
const GOAL_HANDOFF_P99_MS = 20;
const configurations = [
  { name: 'no seen-store', store: 'none', twin: 'plain.mjs' },
  { name: 'memory store', store: 'memory', twin: 'memory.mjs' },
  { name: 'memory store, duplicates', store: 'memory', twin: 'memory.mjs', repeat: 2_000 },
  { name: 'Redis store', store: 'redis', twin: 'redis.mjs' },
  { name: 'Redis store, duplicates', store: 'redis', twin: 'redis.mjs', repeat: 2_000 },
  // What the shared failure streak costs: the same claims, the streaks counted in each process.
  { name: 'Redis store, streaks counted in each process', store: 'redis-claims', twin: 'redis.mjs' },
  // A worker runs the clhooks queue meanwhile, its handlers taking 8 s each: answers must not wait for it.
  { name: `handoff to a Redis stream, handlers taking ${HANDLER_MS / 1000} s`, store: 'queue', twin: 'handoff.mjs', durable: true },
  // Module Workers in workerd (Miniflare): clhooks' fetch receiver and one on WebCrypto by hand.
  { name: 'Worker in workerd, no seen-store', store: 'none', twin: 'worker.mjs', workerd: true },
  { name: 'Worker in workerd, memory store', store: 'memory', twin: 'worker.mjs', workerd: true },
];

/**
 * A module Worker in workerd (Miniflare) on a loopback port: `{ port, stop }`. Its CPU is
 * workerd's, not a Node process's: not probed.
 */
async function startWorkerd(scriptPath, bindings) {
  const { Miniflare } = await import(join(root, 'node_modules/miniflare/dist/src/index.js'));
  const mf = new Miniflare({
    modules: true, scriptPath, modulesRoot: root, host: '127.0.0.1', port: 0, compatibilityDate: '2026-04-01', bindings,
    modulesRules: [{ type: 'ESModule', include: ['**/*.js', '**/*.mjs'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
  });
  try {
    return { port: Number((await mf.ready).port), stop: () => mf.dispose() };
  } catch (error) {
    await mf.dispose();
    throw error;
  }
}

// ONLY=text: the configurations whose name has it, alone (to measure one change).
const chosen = configurations.filter(({ name }) => !process.env.ONLY || name.includes(process.env.ONLY));
const env = { CL_WEBHOOK_SECRET: SECRET, REDIS_URL: redis.url, PKG: pkgDir };
const rows = [];
for (const { name, store, twin, repeat = 0, durable: onDisk = false, workerd = false } of chosen) {
  const sideEnv = onDisk ? { ...env, REDIS_URL: durable.url } : env;
  const worker = store === 'queue'
    ? await startServer(fileCode(join(here, 'clhooks-worker.mjs')), { ...sideEnv, HANDLER_MS: String(HANDLER_MS) })
    : undefined;
  const sides = [
    { side: 'clhooks', file: join(here, workerd ? 'clhooks-workerd.mjs' : 'clhooks-receiver.mjs'), env: { ...sideEnv, STORE: store } },
    { side: 'by hand', file: join(here, 'twins', twin), env: { ...sideEnv, STORE: store } },
  ];
  const running = [];
  for (const { side, file, env: sideEnv } of sides) {
    const { child, port, stop } = workerd
      ? await startWorkerd(file, { CL_WEBHOOK_SECRET: SECRET, STORE: store })
      : await startServer(fileCode(file), sideEnv);
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    // Each side its own deliveries, the same ones: the duplicate path is each one's own.
    const next = deliveries(4096, repeat);
    await load(port, agent, next, WARMUP);
    running.push({ side, child, stop, port, agent, next, ms: 0, done: 0, errors: 0, cpu: 0, redisCpu: 0, times: [] });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const server of round % 2 ? [...running].reverse() : running) {
      const usesRedis = store.startsWith('redis') || store === 'queue';
      const before = server.child ? await probe(server.child) : undefined;
      const redisBefore = usesRedis ? await redisCpu(sideEnv.REDIS_URL) : 0;
      const { ms, errors, done } = await load(server.port, server.agent, server.next, WINDOW, server.times);
      if (before) server.cpu += (await probe(server.child)).cpu - before.cpu;
      if (usesRedis) server.redisCpu += (await redisCpu(sideEnv.REDIS_URL)) - redisBefore;
      server.ms += ms;
      server.done += done;
      server.errors += errors;
    }
  }
  for (const server of running) {
    server.agent.destroy();
    if (server.child) server.child.kill();
    else await server.stop();
  }
  worker?.child.kill();
  rows.push({ name, twin, store, clhooks: running[0], hand: running[1] });
}

// Memory over time: each memory-store server's RSS after 100,000 distinct deliveries and after
// 1,000,000 (MEMORY=0 skips it; MEMORY=N counts N in place of 1,000,000).
const total = Number(process.env.MEMORY ?? 1_000_000);
const memory = [];
if (total > 0 && (!process.env.ONLY || process.env.ONLY === 'rss')) {
  for (const [side, file, storeEnv] of [['clhooks', join(here, 'clhooks-receiver.mjs'), { STORE: 'memory' }], ['by hand', join(here, 'twins', 'memory.mjs'), {}]]) {
    const { child, port } = await startServer(fileCode(file), { ...env, ...storeEnv });
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const next = deliveries(4096);
    const tenth = await loadCount(port, agent, next, total / 10);
    const early = await probe(child);
    const rest = await loadCount(port, agent, next, total - total / 10);
    const late = await probe(child);
    memory.push({ side, early, late, errors: tenth.errors + rest.errors });
    agent.destroy();
    child.kill();
  }
}
for (const admin of admins.values()) await admin.quit();
redis.stop();
durable.stop();

// clhooks-axum against hand-written axum: its own bench (a hyper load generator, which Node's
// could not keep busy), its rows put in this table. AXUM=0 leaves it out.
const axum = [];
if (process.env.AXUM !== '0' && !process.env.ONLY) {
  const run = spawnSync('cargo', ['bench', '--locked', '-q', '-p', 'clhooks-axum', '--bench', 'throughput'],
    { encoding: 'utf8', env: { ...process.env, CLHOOKS_BENCH_JSON: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = run.stdout.split('\n').find((l) => l.startsWith('clhooks-bench-json '));
  if (run.status !== 0 || !line) throw new Error(`the axum bench failed (${run.status})`);
  const measured = JSON.parse(line.slice('clhooks-bench-json '.length));
  for (let i = 0; i + 1 < measured.length; i += 2) axum.push({ clhooks: measured[i], hand: measured[i + 1] });
}

// Receive and denormalize the real 44 KB orders.place in this process, side by side with
// Commerce Layer's @commercelayer/sdk-utils (checkSignature + denormalizePayload, which take
// text): from the bytes a server reads (sdk-utils' side decodes them first, as its user must),
// and from text. Each warmed up first, then ROUNDS_44K rounds of CALLS_44K calls each in turn.
const denormalizing = [];
if (!process.env.ONLY || process.env.ONLY === 'denormalize') {
  const { checkSignature, denormalizePayload } = await import('@commercelayer/sdk-utils');
  const { Verifier, sign } = await import(join(pkgDir, 'node.mjs'));
  const fixture = readFileSync(join(root, 'tests/vectors/orders-place-payload.json'));
  const text = fixture.toString('utf8');
  const signature = sign(fixture, SECRET);
  const headers = { 'x-commercelayer-signature': signature, 'x-commercelayer-topic': 'orders.place' };
  const verifier = new Verifier(SECRET);
  const byHand = (body) => {
    if (!checkSignature(body, signature, SECRET).ok) throw new Error('sdk-utils refused the fixture');
    return denormalizePayload(body);
  };
  const pairs = [
    ['from the bytes a server reads', () => verifier.receive(fixture, headers).denormalize(), () => byHand(fixture.toString('utf8'))],
    ['from text', () => verifier.receive(text, headers).denormalize(), () => byHand(text)],
  ];
  const ROUNDS_44K = 15;
  const CALLS_44K = 200;
  for (const [how, ours, theirs] of pairs) {
    for (const f of [ours, theirs]) for (let i = 0; i < 2000; i++) f();
    const times = [[], []];
    for (let round = 0; round < ROUNDS_44K; round++) {
      for (const side of round % 2 ? [1, 0] : [0, 1]) {
        const f = side === 0 ? ours : theirs;
        const began = performance.now();
        for (let i = 0; i < CALLS_44K; i++) f();
        times[side].push((performance.now() - began) / CALLS_44K);
      }
    }
    const [clhooksMs, handMs] = times.map((t) => percentile(t, 50));
    denormalizing.push({ how, clhooksMs, handMs, bytes: fixture.length });
  }
}

const rate = (s) => s.done / (s.ms / 1000);
const p99 = (s) => percentile(s.times, 99);
const cpu = (s) => s.cpu / s.done;
const mark = (ok) => (ok ? 'met' : 'NOT MET');
console.log(`\nat equal work: distinct 4 KiB signed deliveries (duplicates: 2,000 bodies going round), 32 keep-alive connections, `
  + `${WARMUP} s of warm-up each, then ${ROUNDS} turns of ${WINDOW} s each, side by side; goals: throughput ≥ ${GOAL_RATE}× and p99 ≤ ${GOAL_P99}× the twin's`);
console.log('| configuration (twin) | clhooks req/s | by hand req/s | ratio | goal | clhooks p99 | by hand p99 | ratio | goal | CPU per request, clhooks / by hand | Redis CPU per request, clhooks / by hand | errors |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
const redisPer = (s) => `${((s.redisCpu * 1e6) / s.done).toFixed(1)} µs`;
for (const { name, twin, store, clhooks, hand } of rows) {
  const speed = rate(clhooks) / rate(hand);
  const tail = p99(clhooks) / p99(hand);
  console.log(`| ${name} (twins/${twin}) | ${rate(clhooks).toFixed(0)} | ${rate(hand).toFixed(0)} | ${speed.toFixed(2)}× | ${mark(speed >= GOAL_RATE)} `
    + `| ${p99(clhooks).toFixed(2)} ms | ${p99(hand).toFixed(2)} ms | ${tail.toFixed(2)}× | ${mark(tail <= GOAL_P99)} `
    + `| ${clhooks.child ? `${cpu(clhooks).toFixed(0)} µs / ${cpu(hand).toFixed(0)} µs` : ''} | ${clhooks.redisCpu ? `${redisPer(clhooks)} / ${redisPer(hand)}` : ''} `
    + `| ${clhooks.errors} / ${hand.errors} |`);
  if (store === 'queue') {
    console.log(`| ${name}: clhooks p99 under ${GOAL_HANDOFF_P99_MS} ms | | | | | ${p99(clhooks).toFixed(2)} ms | | | ${mark(p99(clhooks) < GOAL_HANDOFF_P99_MS)} | | | |`);
  }
}

for (const { clhooks, hand } of axum) {
  const speed = clhooks.rate / hand.rate;
  console.log(`| ${clhooks.name} (${hand.name}; cargo bench -p clhooks-axum --bench throughput, 4 KiB, 2,048 bodies going round) `
    + `| ${clhooks.rate.toFixed(0)} | ${hand.rate.toFixed(0)} | ${speed.toFixed(2)}× | ${mark(speed >= GOAL_RATE)} | | | | | | | ${clhooks.bad} / ${hand.bad} |`);
}

for (const { how, clhooksMs, handMs, bytes } of denormalizing) {
  const ratio = clhooksMs / handMs;
  console.log(`| receive + denormalize the real orders.place (${bytes.toLocaleString('en')} bytes), ${how}, in one process (@commercelayer/sdk-utils checkSignature + denormalizePayload; median of 15 rounds) `
    + `| ${(1000 / clhooksMs).toFixed(0)} /s | ${(1000 / handMs).toFixed(0)} /s | time ${ratio.toFixed(2)}× | ${mark(ratio <= GOAL_44K)} (time ≤ ${GOAL_44K}×) | | | | | | | |`);
}

if (memory.length > 0) {
  const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
  console.log(`\nmemory store at its capacity (10,000 keys): RSS after ${(total / 10).toLocaleString('en')} and ${total.toLocaleString('en')} distinct deliveries; goal: within 10% (1.10×)`);
  console.log('| server | RSS early | RSS late | late / early | goal | V8 heap reserved, early → late | V8 heap used, early → late | of it, the young generation, early → late | ArrayBuffers, early → late | errors |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const { side, early, late, errors } of memory) {
    const grew = late.rss / early.rss;
    console.log(`| ${side} | ${mb(early.rss)} | ${mb(late.rss)} | ${grew.toFixed(2)}× | ${mark(grew <= 1.1)} `
      + `| ${mb(early.heapTotal)} → ${mb(late.heapTotal)} | ${mb(early.heapUsed)} → ${mb(late.heapUsed)} | ${mb(early.young)} → ${mb(late.young)} `
      + `| ${mb(early.arrayBuffers)} → ${mb(late.arrayBuffers)} | ${errors} |`);
  }
}
