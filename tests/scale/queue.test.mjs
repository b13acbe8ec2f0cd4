// Handoff on a real Redis (Debian's redis-server, started here on loopback): receivers that
// answer once the stream holds a delivery, and workers in other processes that run it, across
// duplicate copies at two receivers at once, handlers slower than Commerce Layer's 5 s, handlers
// that fail then succeed, one that always fails (dead letters, then replayed), a worker killed
// while it holds messages, and Redis killed and restarted from its append-only file between
// enqueue and work. Prints the crash figures the handoff docs quote.
//
// Usage: node --test tests/scale/   (after `make pkg`)

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { freePort, killed, pool, postTo, sleep, start, startRedis, work } from './harness.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = join(root, 'pkg');
const { sign } = await import(join(pkg, 'node.mjs'));
const { createRedisQueue } = await import(join(pkg, 'redis.mjs'));
const SECRET = 'handoff-secret';
const script = join(root, 'tests/scale/handoff-instance.mjs');

const redisPort = await freePort();
let redis = await startRedis(redisPort);
const REDIS_URL = `redis://127.0.0.1:${redisPort}`;
const admin = createClient({ url: REDIS_URL, socket: { reconnectStrategy: () => 100 } });
admin.on('error', () => {});
await admin.connect();
after(async () => {
  await admin.quit().catch(() => {});
});

/** Short worker settings: retries 50 ms apart, reclaimed after 1.5 s without a heartbeat. */
const QUICK = { MAX_ATTEMPTS: '3', RETRY_MS: '50', RECLAIM_IDLE_MS: '1500', BLOCK_MS: '200' };

const receiver = async (name, client, env = {}) => {
  const { child, match } = await start('node', [script], { PKG: pkg, REDIS_URL, CLIENT: client, ROLE: 'receiver', NAME: name, ...env }, /listening on (http:\/\/\S+)/);
  return { name, child, url: match[1] };
};
const worker = async (name, client, env = {}) => {
  const { child } = await start('node', [script], { PKG: pkg, REDIS_URL, CLIENT: client, ROLE: 'worker', NAME: name, ...QUICK, ...env }, /worker \S+ started/);
  return { name, child };
};

/** A signed orders.place delivery of event `id`. */
function delivery(id, attributes = {}) {
  const body = Buffer.from(JSON.stringify({ data: { id, type: 'orders', attributes: { number: id, ...attributes } } }));
  return { id, body, headers: { 'content-type': 'application/json', 'x-commercelayer-signature': sign(body, SECRET), 'x-commercelayer-topic': 'orders.place' } };
}

/** Sends a copy as Commerce Layer would, again after a non-2xx, 50 ms apart, at most 60 times; each answer kept with its time. */
async function deliver(url, { body, headers }, answers) {
  for (let i = 0; i < 60; i++) {
    const started = performance.now();
    const answer = await postTo(url, body, headers);
    answers.push({ ...answer, ms: performance.now() - started });
    if (answer.status >= 200 && answer.status < 300) return answer;
    await sleep(50);
  }
  return answers.at(-1);
}

/** Waits until `check()` (async) holds, polling every 50 ms for at most `ms` (a check that hangs counts as not yet). */
async function until(check, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const left = end - Date.now();
    const held = await Promise.race([check(), sleep(Math.max(0, Math.min(left, 1_000))).then(() => false)]);
    if (held) return;
    if (Date.now() > end) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(50);
  }
}

const hash = (name) => admin.hGetAll(`handoff:${name}`);
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

test('2 receivers and 2 workers on one Redis: every event\'s handler succeeds once, duplicates at both receivers answered 200, the one that always fails dead-lettered, then replayed', async () => {
  await admin.flushAll();
  const receivers = [await receiver('r1', 'redis'), await receiver('r2', 'ioredis')];
  const workers = [await worker('w1', 'redis'), await worker('w2', 'ioredis')];
  const events = Array.from({ length: 400 }, (_, i) => delivery(`e${i}`,
    i === 7 ? { always_fail: true }
      : i % 100 === 11 ? { slow_ms: 6_000 }
        : i % 10 === 3 ? { fail_first: true } : {}));
  const answers = [];
  await pool(events.map((event) => async () => {
    // Each copy at both receivers at once: one queues it, the other answers a duplicate.
    const [a, b] = await Promise.all(receivers.map((r) => deliver(`${r.url}/hooks`, event, answers)));
    assert.equal(a.status, 200, event.id);
    assert.equal(b.status, 200, event.id);
    assert.deepEqual([a.json.handed_off ?? false, b.json.handed_off ?? false].sort(), [false, true], `${event.id}: queued once`);
  }), 32);
  assert.ok(answers.every((answer) => answer.status === 200), 'never a 409 or 503: Commerce Layer counts those');
  const slow = events.filter((_, i) => i % 100 === 11).map((e) => e.id);
  await until(async () => Object.keys(await hash('done')).length === 399, 30_000, 'every event but the one that always fails done');
  await until(async () => (await admin.xLen('clhooks:queue:dead')) === 1, 10_000, 'the dead letter');
  const done = await hash('done');
  assert.deepEqual(Object.entries(done).filter(([, n]) => n !== '1'), [], 'no handler succeeded twice');
  const runs = await hash('runs');
  for (const id of slow) assert.equal(runs[id], '1', `${id}: a handler slower than 5 s ran once (its heartbeat kept it)`);
  assert.equal(runs.e7, '3', 'the one that always fails ran its 3 attempts');
  const failedFirst = events.filter((_, i) => i % 10 === 3 && i % 100 !== 11 && i !== 7).map((e) => e.id);
  for (const id of failedFirst) assert.equal(runs[id], '2', `${id}: failed once, then succeeded`);
  // The dead letter, its reason and error, and the key still answered as a duplicate.
  const queue = createRedisQueue(admin);
  const [dead] = await queue.deadLetters();
  assert.deepEqual([dead.reason, dead.error, dead.record.attempt, dead.record.topic], ['handler_failed', 'this event always fails', '3', 'orders.place']);
  assert.deepEqual(JSON.parse(dead.record.body.toString()).data.id, 'e7');
  assert.deepEqual((await queue.deadLetter(dead.id)).id, dead.id);
  const copy = await postTo(`${receivers[0].url}/hooks`, events[7].body, events[7].headers);
  assert.deepEqual(copy.json, { received: 'orders.place', duplicate: true });
  // Replayed from the command line, it runs again (its attempts counted afresh), and is
  // dead-lettered again.
  const replayed = spawnSync(process.execPath, [join(pkg, 'cli.mjs'), 'dead-letters', 'replay', '--all', '--redis', REDIS_URL], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(replayed.stdout, 'moved 1 dead letter back to clhooks:queue\n', replayed.stderr);
  assert.equal(await admin.xLen('clhooks:queue:dead'), 0);
  await until(async () => (await hash('runs')).e7 === '6', 10_000, 'the replay\'s three runs');
  await until(async () => (await admin.xLen('clhooks:queue:dead')) === 1, 10_000, 'dead-lettered again');
  assert.equal(await admin.xLen('clhooks:queue'), 0, 'acknowledged entries are deleted');
  const ms = answers.map((a) => a.ms);
  console.log(`# handoff: ${answers.length} answers to ${events.length} events sent to 2 receivers at once, all 200; `
    + `answer p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms while 4 handlers took 6 s each`);
  for (const { child } of [...receivers, ...workers]) await killed(child, 'SIGTERM');
});

test('a Redis slower than the store wait: answered 503, and the script that queued after it makes the retry a duplicate', async () => {
  await admin.flushAll();
  const r = await receiver('slow', 'redis', { STORE_TIMEOUT_MS: '200' });
  const event = delivery('late');
  // Redis stops for 1.5 s: the receiver stops waiting at 200 ms; its script runs after.
  const blocker = createClient({ url: REDIS_URL });
  blocker.on('error', () => {});
  await blocker.connect();
  const probe = createClient({ url: REDIS_URL });
  probe.on('error', () => {});
  await probe.connect();
  const sleeping = blocker.sendCommand(['DEBUG', 'SLEEP', '1.5']);
  // Asleep once a PING goes unanswered (the POST must come after the sleep began).
  for (let i = 0; i < 100; i++) {
    if (await Promise.race([probe.ping().then(() => false), sleep(100).then(() => true)])) break;
  }
  const first = await postTo(`${r.url}/hooks`, event.body, event.headers);
  assert.deepEqual([first.status, first.json.error], [503, 'queue_unavailable'], JSON.stringify(first));
  await sleeping;
  await blocker.quit();
  await probe.quit();
  const retry = await postTo(`${r.url}/hooks`, event.body, event.headers);
  assert.deepEqual(retry.json, { received: 'orders.place', duplicate: true }, 'queued after the 503: the retry is a duplicate');
  assert.equal(await admin.xLen('clhooks:queue'), 1, 'queued once');
  await killed(r.child, 'SIGTERM');
});

test('a worker killed (SIGKILL) while it holds messages: another reclaims and runs them; effects repeat only for what it held', async () => {
  await admin.flushAll();
  const r = await receiver('r', 'redis');
  // The doomed worker takes everything first: it holds 4 messages that never end on it.
  const doomed = await worker('doomed', 'redis', { HOLDER: 'doomed', CONCURRENCY: '4' });
  const held = Array.from({ length: 4 }, (_, i) => delivery(`h${i}`, { hold: true }));
  for (const event of held) assert.equal((await postTo(`${r.url}/hooks`, event.body, event.headers)).json.handed_off, true);
  await until(async () => Object.keys(await hash('runs')).length === 4, 10_000, 'the doomed worker holding all four');
  await killed(doomed.child);
  const killedAt = performance.now();
  const rest = Array.from({ length: 50 }, (_, i) => delivery(`k${i}`));
  for (const event of rest) await postTo(`${r.url}/hooks`, event.body, event.headers);
  const survivor = await worker('survivor', 'ioredis');
  await until(async () => Object.keys(await hash('done')).length === 54, 20_000, 'every message done');
  const reclaimedIn = performance.now() - killedAt;
  const runs = await hash('runs');
  const done = await hash('done');
  assert.deepEqual(Object.entries(done).filter(([, n]) => n !== '1'), [], 'each done once');
  const repeated = Object.entries(runs).filter(([, n]) => n !== '1').map(([id]) => id).sort();
  assert.deepEqual(repeated, held.map((e) => e.id), 'only the killed worker\'s messages ran twice');
  console.log(`# worker SIGKILLed holding 4 messages: all 54 done once, reclaimed and finished ${(reclaimedIn / 1000).toFixed(1)} s after the kill `
    + `(reclaim idle 1.5 s); effects repeated for ${repeated.length} (the ones it held), none lost`);
  await killed(r.child, 'SIGTERM');
  await killed(survivor.child, 'SIGTERM');
});

test('one queue, two languages: a Node receiver queues and a Rust worker runs, and a Rust receiver queues and a Node worker runs', async () => {
  await admin.flushAll();
  const rust = join(root, 'target/rust-receiver/release/examples/handoff');
  assert.ok(existsSync(rust), 'the Rust example is built (make rust-receiver)');
  const log = join(work, 'rust-worker-events.log');
  const rustEnv = { REDIS_URL, CL_WEBHOOK_SECRET: SECRET, EVENTS_LOG: log, PORT: '0' };
  // Node receiver -> Rust worker.
  const node = await receiver('node', 'redis');
  const rustWorker = await start(rust, [], { ...rustEnv, ROLE: 'worker' }, /worker started/);
  const toRust = Array.from({ length: 50 }, (_, i) => delivery(`n${i}`));
  for (const event of toRust) assert.equal((await postTo(`${node.url}/hooks`, event.body, event.headers)).json.handed_off, true);
  const ran = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((line) => line.split(' ')[2]) : []);
  await until(async () => ran().length === 50, 15_000, 'the Rust worker running the Node receiver\'s events');
  assert.deepEqual(ran().sort(), toRust.map((e) => e.id).sort(), 'each once');
  await killed(rustWorker.child, 'SIGTERM');
  await killed(node.child, 'SIGTERM');
  // Rust receiver -> Node worker (a copy at both ends of the same Redis is a duplicate).
  const rustReceiver = await start(rust, [], { ...rustEnv, ROLE: 'receiver' }, /listening on (http:\/\/\S+)/);
  const nodeWorker = await worker('node-worker', 'ioredis');
  const toNode = Array.from({ length: 50 }, (_, i) => delivery(`r${i}`));
  for (const event of toNode) {
    const answer = await postTo(`${rustReceiver.match[1]}/webhooks`, event.body, event.headers);
    assert.deepEqual(answer.json, { received: 'orders.place', handed_off: true }, event.id);
  }
  const copy = await postTo(`${rustReceiver.match[1]}/webhooks`, toRust[0].body, toRust[0].headers);
  assert.deepEqual(copy.json, { received: 'orders.place', duplicate: true }, 'queued by Node, a duplicate for Rust');
  await until(async () => Object.keys(await hash('done')).length === 50, 15_000, 'the Node worker running the Rust receiver\'s events');
  assert.deepEqual(Object.keys(await hash('done')).sort(), toNode.map((e) => e.id).sort());
  assert.ok(Object.values(await hash('done')).every((n) => n === '1'));
  await killed(rustReceiver.child, 'SIGTERM');
  await killed(nodeWorker.child, 'SIGTERM');
});

// Last: the clients made before it are not used after Redis restarts.
test('Redis killed and restarted from its append-only file between enqueue and work: nothing lost', async () => {
  await admin.flushAll();
  const r = await receiver('r', 'ioredis');
  const events = Array.from({ length: 100 }, (_, i) => delivery(`a${i}`));
  for (const event of events) assert.equal((await postTo(`${r.url}/hooks`, event.body, event.headers)).json.handed_off, true);
  await killed(r.child, 'SIGTERM');
  // A worker reading another, empty stream with node-redis when Redis dies: it must outlive it
  // (a connection's error is no crash).
  const across = await worker('across', 'redis', { STREAM: 'idle:queue' });
  await sleep(300);
  await killed(redis);
  redis = await startRedis(redisPort);
  // Clients made after the restart: a client that reconnects within the moment a killed Redis
  // still accepts connections can be left waiting on a dead socket (node-redis 5), which is no
  // part of what this tests.
  const after = createClient({ url: REDIS_URL });
  after.on('error', () => {});
  await after.connect();
  try {
    assert.equal(await after.xLen('clhooks:queue'), 100, 'the stream came back from the append-only file');
    await sleep(500);
    assert.equal(across.child.exitCode, null, 'the worker reading when Redis died is still running');
    await killed(across.child);
    const late = await worker('after-restart', 'redis');
    const done = async () => after.hGetAll('handoff:done');
    await until(async () => Object.keys(await done()).length === 100, 15_000, 'every queued event done');
    assert.deepEqual(Object.entries(await done()).filter(([, n]) => n !== '1'), []);
    // The keys came back too: a copy is still a duplicate.
    const r2 = await receiver('r2', 'redis');
    const copy = await postTo(`${r2.url}/hooks`, events[0].body, events[0].headers);
    assert.deepEqual(copy.json, { received: 'orders.place', duplicate: true });
    console.log('# Redis SIGKILLed and restarted (appendfsync always) with 100 events queued: 100 done once after the restart, none lost');
    await killed(r2.child, 'SIGTERM');
    await killed(late.child, 'SIGTERM');
  } finally {
    await after.quit().catch(() => {});
  }
});
