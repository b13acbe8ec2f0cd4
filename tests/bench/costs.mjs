// `make bench`, what single pieces of a Redis-backed delivery cost: in Node, the core's calls the
// package makes for a failure streak's count and the turns a session takes (each alone, many
// times over); in Redis, the CPU each command and each of the store's scripts takes (Redis's own
// `INFO cpu` before and after, 64 commands in flight), the store's scripts sent through the
// package's `createRedisStore` itself.
//
// Usage: node tests/bench/costs.mjs PKG_DIR

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient } from 'redis';
import { startRedis } from './load.mjs';

const pkgDir = resolve(process.argv[2] ?? 'pkg');
const { createCore } = await import(join(pkgDir, 'core/web.js'));
const { createRedisStore } = await import(join(pkgDir, 'redis.mjs'));
const core = createCore(new WebAssembly.Module(readFileSync(join(pkgDir, 'clhooks.wasm'))));

const N = 200_000;
const each = (label, fn) => {
  for (let i = 0; i < N / 10; i++) fn(i);
  const started = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  return [label, `${(((performance.now() - started) * 1000) / N).toFixed(2)} µs`];
};
const args = core.Health.countArgs('orders.place', undefined, 200, undefined, Date.now(), 3.2);
const health = new core.Health();
const node = [
  each("the count's arguments (`Health.countArgs`)", () => core.Health.countArgs('orders.place', undefined, 200, undefined, Date.now(), 3.2)),
  each("the count's reply read (`Health.countReply`)", () => core.Health.countReply(args[0], ['', 0, 0])),
  each("a topic's label (`Health.label`)", () => core.Health.label('orders.place')),
  each('a count in this process (`Health.count`)', () => health.count('orders.place', undefined, 200, undefined, Date.now(), 3.2)),
  each('a wake-up set and cleared (`setTimeout`, `unref`, `clearTimeout`)', (i) => clearTimeout(setTimeout(() => {}, 2000 + (i & 7)).unref())),
];
let chain = Promise.resolve();
const started = performance.now();
for (let i = 0; i < N; i++) chain = chain.then(() => {});
await chain;
node.push(['a promise turn', `${(((performance.now() - started) * 1000) / N).toFixed(2)} µs`]);

const redis = await startRedis();
const client = await createClient({ url: redis.url }).connect();
const cpu = async () => {
  const info = String(await client.sendCommand(['INFO', 'cpu']));
  return Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1]);
};
const M = 30_000;
const inRedis = async (label, send) => {
  for (let i = 0; i < 640; i += 64) await Promise.all(Array.from({ length: 64 }, (_, j) => send(M + i + j)));
  const before = await cpu();
  for (let i = 0; i < M; i += 64) await Promise.all(Array.from({ length: 64 }, (_, j) => send(i + j)));
  return [label, `${(((await cpu()) - before) * 1e6 / M).toFixed(2)} µs`];
};
const key = (i, prefix) => `${prefix}:${'k'.repeat(64)}${i}`;
const empty = await client.sendCommand(['SCRIPT', 'LOAD', 'return 1']);
const store = createRedisStore(client, { prefix: 'costs:' });
const terms = { leaseMs: 45_000, keepMs: 15_525_000 };
const twelve = Array.from({ length: 12 }, (_, i) => `argument${i}`);
const redisRows = [
  await inRedis('`PING`', () => client.sendCommand(['PING'])),
  await inRedis('`SET NX PX`', (i) => client.sendCommand(['SET', key(i, 'a'), 'busy', 'NX', 'PX', '45000'])),
  await inRedis('`SET PX`', (i) => client.sendCommand(['SET', key(i, 'a'), 'done', 'PX', '15525000'])),
  await inRedis('`SET NX PX GET` (Redis 7.0 or later)', (i) => client.sendCommand(['SET', key(i, 'g'), 'f:token', 'NX', 'PX', '45000', 'GET'])),
  await inRedis('a script that returns 1: 1 key, 1 argument', (i) => client.sendCommand(['EVALSHA', empty, '1', key(i, 'e'), 'x'])),
  await inRedis('the same: 3 keys, 12 arguments', (i) => client.sendCommand(['EVALSHA', empty, '3', key(i, 'e'), 'h', 's', ...twelve])),
  await inRedis("the store's claim, one `SET NX PX GET` (`claim`)", (i) => store.claim(`b${i}`, terms)),
  await inRedis("its end script (`done`)", (i) => store.done(`b${i}`, terms)),
  await inRedis("its count script (`count`)", () => store.count(core.Health.countArgs('orders.place', undefined, 200, undefined, Date.now(), 1))),
  await inRedis('(claims for the next row)', (i) => store.claim(`c${i}`, terms)),
  await inRedis('its end with the count folded in (`endCounting`)', (i) => store.endCounting(`c${i}`, true, terms, core.Health.countArgs('orders.place', undefined, 200, undefined, Date.now(), 1))),
];
await client.quit();
redis.stop();

console.log(`\nwhat single pieces cost: in Node (each run ${N.toLocaleString('en')} times), and in Redis's CPU (${M.toLocaleString('en')} calls, 64 in flight)`);
console.log('| in Node | each |');
console.log('|---|---|');
for (const [label, cost] of node) console.log(`| ${label} | ${cost} |`);
console.log('\n| in Redis | its CPU a call |');
console.log('|---|---|');
for (const [label, cost] of redisRows) if (!label.startsWith('(')) console.log(`| ${label} | ${cost} |`);
