// Receivers on several instances sharing one idempotency claim in a real Redis, started here on
// loopback (Debian's redis-server, installed by `make test`): exactly once, nothing lost, through
// concurrent copies, retries, handlers that throw, an instance killed mid-handler and Redis
// stopped mid-run. Prints the figures BENCHMARKS.md quotes (deliveries per second through the
// shared claim, latency against the in-memory store).
//
// Usage: node --test tests/scale/   (after `make pkg`)

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { freePort, pool, postTo, sleep, start, startRedis, work } from './harness.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = join(root, 'pkg');
const { sign } = await import(join(pkg, 'node.mjs'));
const SECRET = 'scale-secret';

async function instance(name, env) {
  const { child, match } = await start('node', [join(root, 'tests/scale/instance.mjs')], { PKG: pkg, NAME: name, ...env },
    /listening on (http:\/\/\S+)/);
  return { name, child, url: match[1] };
}

/** One POST to `${url}/hooks`; its status and JSON answer (status 0 when the connection failed). */
const post = (url, body, headers) => postTo(`${url}/hooks`, body, headers);

/** A signed orders.place delivery of event `id`. */
function delivery(id, attributes = {}) {
  const body = Buffer.from(JSON.stringify({ data: { id, type: 'orders', attributes: { number: id, ...attributes } } }));
  return { id, body, headers: { 'content-type': 'application/json', 'x-commercelayer-signature': sign(body, SECRET), 'x-commercelayer-topic': 'orders.place' } };
}

/**
 * What Commerce Layer does with one copy: sends it, and again after a failure (any non-2xx),
 * here 50 ms apart and at most `tries` times. Every answer is kept.
 */
const deliver = (url, event, answers, tries) => deliverTo(`${url}/hooks`, event, answers, tries);

/** As `deliver`, to a full URL (the Rust example's `/webhooks`). */
async function deliverTo(url, { body, headers }, answers, tries = 60) {
  for (let i = 0; i < tries; i++) {
    const answer = await postTo(url, body, headers);
    answers.push(answer);
    if (answer.status >= 200 && answer.status < 300) return answer;
    await sleep(50);
  }
  return answers.at(-1);
}

const redisPort = await freePort();
let redis = await startRedis(redisPort);
const REDIS_URL = `redis://127.0.0.1:${redisPort}`;
const admin = createClient({ url: REDIS_URL, socket: { reconnectStrategy: () => 100 } });
admin.on('error', () => {});
await admin.connect();
const hash = async (name, prefix = 'clhooks:seen:') => admin.hGetAll(`${prefix}test:${name}`);

test('3 instances, one Redis: 2,000 deliveries each sent to two instances at once, 5% retried later, 2% failing first: each handled exactly once', async () => {
  const instances = [
    await instance('a', { REDIS_URL, CLIENT: 'redis' }),
    await instance('b', { REDIS_URL, CLIENT: 'ioredis' }),
    await instance('c', { REDIS_URL, CLIENT: 'redis' }),
  ];
  const events = Array.from({ length: 2000 }, (_, i) => delivery(`e${i}`, i % 50 === 7 ? { fail_first: true } : {}));
  const answers = [];
  const started = performance.now();
  await pool(events.map((event, i) => async () => {
    const [x, y] = [instances[i % 3], instances[(i + 1 + (i % 2)) % 3]];
    const [first, second] = await Promise.all([deliver(x.url, event, answers), deliver(y.url, event, answers)]);
    assert.equal(first.status, 200, `event ${event.id} to ${x.name}`);
    assert.equal(second.status, 200, `event ${event.id} to ${y.name}`);
  }), 32);
  const seconds = (performance.now() - started) / 1000;
  // 5% sent again later (Commerce Layer retrying a delivery whose 200 it missed): duplicates.
  const later = events.filter((_, i) => i % 20 === 3);
  for (const [i, event] of later.entries()) {
    const answer = await post(instances[i % 3].url, event.body, event.headers);
    assert.deepEqual([answer.status, answer.json.duplicate], [200, true], event.id);
  }
  const handled = await hash('handled');
  assert.equal(Object.keys(handled).length, 2000, 'none lost');
  assert.deepEqual(Object.entries(handled).filter(([, n]) => n !== '1'), [], 'none handled twice');
  const failed = Object.keys(await admin.keys('clhooks:seen:test:failed:*'));
  assert.equal(failed.length, 40, 'every event that fails first failed once, and was handled on its retry');
  // What the keys hold: a handled one is kept for the retry window (4 h 18 min 45 s).
  const handledKey = (await admin.keys('clhooks:seen:*')).find((k) => /^clhooks:seen:[0-9a-f]{64}$/.test(k));
  assert.equal(await admin.get(handledKey), 'd');
  const ttl = await admin.pTTL(handledKey);
  assert.ok(ttl > 15_525_000 - 120_000 && ttl <= 15_525_000, `kept ${ttl} ms`);
  const statuses = {};
  for (const { status, json } of answers) statuses[`${status} ${json?.error ?? (json?.duplicate ? 'duplicate' : 'handled')}`] = (statuses[`${status} ${json?.error ?? (json?.duplicate ? 'duplicate' : 'handled')}`] ?? 0) + 1;
  assert.equal(statuses['200 handled'], 2000);
  assert.deepEqual(Object.keys(statuses).sort(), ['200 duplicate', '200 handled', '409 in_flight', '500 handler_failed']
    .filter((k) => statuses[k]), JSON.stringify(statuses));
  assert.equal(statuses['500 handler_failed'], 40);
  const byInstance = Object.values(await hash('by')).reduce((n, name) => ({ ...n, [name]: (n[name] ?? 0) + 1 }), {});
  console.log(`# 2,000 events (4,000 copies, ${answers.length} requests) over 3 instances in ${seconds.toFixed(2)} s: `
    + `${(2000 / seconds).toFixed(0)} events/s, ${(answers.length / seconds).toFixed(0)} requests/s through the shared claim; `
    + `answers ${JSON.stringify(statuses)}; handled by ${JSON.stringify(byInstance)}`);
  for (const { child } of instances) child.kill();
});

test('an instance killed (SIGKILL) while its handler runs: after the lease, the retry is handled by another instance', async () => {
  // The handler timeout is well past the time it takes to see the handler run and kill it, so
  // the claim is still a's when it dies; the lease must outlast the timeout and the store wait.
  const env = { REDIS_URL, CLIENT: 'redis', LEASE_MS: '4000', HANDLER_TIMEOUT_MS: '3000', STORE_TIMEOUT_MS: '500', PREFIX: 'kill:' };
  const a = await instance('a', env);
  const b = await instance('b', { ...env, CLIENT: 'ioredis' });
  const event = delivery('killed-1', { hang_first: true });
  const first = post(a.url, event.body, event.headers);
  for (let i = 0; i < 100 && !(await hash('started', 'kill:'))[event.id]; i++) await sleep(20);
  assert.equal((await hash('started', 'kill:'))[event.id], 'a', 'the handler runs on a');
  // The claim a holds: its token, expiring with the lease.
  const [claimKey] = (await admin.keys('kill:*')).filter((k) => /^kill:[0-9a-f]{64}$/.test(k));
  assert.match(await admin.get(claimKey), /^f:/);
  const lease = await admin.pTTL(claimKey);
  const leaseReadAt = performance.now();
  assert.ok(lease > 0 && lease <= 4000, `lease ${lease} ms`);
  a.child.kill('SIGKILL');
  const killedAt = performance.now();
  assert.equal((await first).status, 0, 'a never answered');
  const answers = [];
  const retried = await deliver(b.url, event, answers, 200);
  const waited = performance.now() - killedAt;
  const afterLease = performance.now() - leaseReadAt;
  assert.equal(retried.status, 200);
  assert.equal(answers[0].status, 409, 'within the lease the claim is still a\'s');
  assert.ok(afterLease >= lease - 100, `handled ${afterLease.toFixed(0)} ms after the claim had ${lease} ms left: only once it ended`);
  assert.deepEqual({ ...(await hash('handled', 'kill:')) }, { [event.id]: '1' });
  assert.equal((await hash('by', 'kill:'))[event.id], 'b');
  console.log(`# killed mid-handler: ${answers.length - 1} answers 409 in_flight, then handled by b ${waited.toFixed(0)} ms after the kill (lease 4,000 ms from the claim)`);
  b.child.kill();
});

test('Redis stopped mid-run: 503 store_unavailable (never 200 for an event that was not claimed), and back to normal once it returns', async () => {
  const env = { REDIS_URL, PREFIX: 'stop:' };
  const instances = [await instance('a', { ...env, CLIENT: 'redis' }), await instance('b', { ...env, CLIENT: 'ioredis' })];
  const before = delivery('stop-before');
  assert.equal((await post(instances[0].url, before.body, before.headers)).status, 200);
  await admin.sendCommand(['SHUTDOWN']).catch(() => {});
  await new Promise((ok) => (redis.exitCode === null ? redis.once('exit', ok) : ok()));
  const during = Array.from({ length: 20 }, (_, i) => delivery(`stop-${i}`));
  const answers = await Promise.all(during.map((event, i) => post(instances[i % 2].url, event.body, event.headers)));
  const seen = [...new Set(answers.map(({ status, json }) => `${status} ${json?.error}`))];
  assert.deepEqual(seen, ['503 store_unavailable'], 'every delivery refused while Redis is down');
  redis = await startRedis(redisPort);
  for (let i = 0; i < 100 && !(await admin.ping().catch(() => null)); i++) await sleep(50);
  const retried = [];
  for (const [i, event] of during.entries()) await deliver(instances[i % 2].url, event, retried);
  assert.deepEqual(retried.filter((a) => a.status === 200).length, 20);
  const again = await post(instances[1].url, before.body, before.headers);
  assert.deepEqual([again.status, again.json.duplicate], [200, true], 'what was handled before the stop is still known');
  const handled = await hash('handled', 'stop:');
  assert.equal(Object.keys(handled).length, 21);
  assert.ok(Object.values(handled).every((n) => n === '1'));
  for (const { child } of instances) child.kill();
});

test('a Rust receiver (the axum example, clhooks-redis) and a Node one share the claims: one protocol, the same keys', async () => {
  const events = join(work, 'rust-events.log');
  const { child: rust, match } = await start(join(root, 'target/rust-receiver/release/clhooks-rust-receiver'), [],
    { REDIS_URL, PORT: '0', HOST: '127.0.0.1', CL_WEBHOOK_SECRET: SECRET, EVENTS_LOG: events }, /listening on (http:\/\/\S+)/);
  const node = await instance('node', { REDIS_URL, CLIENT: 'redis' });
  const rustUrl = `${match[1]}/webhooks`;
  const answers = [];
  const deliveries = Array.from({ length: 200 }, (_, i) => delivery(`mixed-${i}`));
  await pool(deliveries.map((event) => async () => {
    const both = await Promise.all([deliver(node.url, event, answers), deliverTo(rustUrl, event, answers)]);
    assert.deepEqual(both.map((a) => a.status), [200, 200], event.id);
  }), 16);
  const byNode = Object.keys(await hash('handled')).filter((id) => id.startsWith('mixed-'));
  const { readFileSync } = await import('node:fs');
  let byRust = [];
  try {
    byRust = readFileSync(events, 'utf8').trim().split('\n').filter(Boolean).map((line) => line.split(' ')[2]);
  } catch {
    // no event handled by the Rust receiver
  }
  assert.equal(byNode.length + byRust.length, 200, `node ${byNode.length} + rust ${byRust.length}`);
  assert.equal(new Set([...byNode, ...byRust]).size, 200, 'no event handled by both');
  console.log(`# Rust and Node receivers on one Redis: 200 events each sent to both, handled by node ${byNode.length}, by rust ${byRust.length}, none twice`);
  rust.kill();
  node.child.kill();
});

test('the node-receiver example, two instances with REDIS_URL: a delivery sent to both is handled by one', async () => {
  const example = join(root, 'examples/node-receiver');
  const env = { REDIS_URL, PORT: '0', HOST: '127.0.0.1', CL_WEBHOOK_SECRET: SECRET };
  const started = await Promise.all([0, 1].map(() => start('node', [join(example, 'server.mjs')], env, /listening on (http:\/\/\S+)/)
    .then((s) => ({ ...s, url: s.match[1] }))));
  const copies = Array.from({ length: 20 }, (_, i) => delivery(`example-${i}`));
  const answers = [];
  for (const event of copies) {
    const both = await Promise.all(started.map((s) => deliverTo(`${s.url}/`, event, answers)));
    assert.deepEqual(both.map((a) => a.status), [200, 200]);
  }
  await sleep(100);
  const logged = started.flatMap((s) => s.output().split('\n').filter((line) => line.startsWith('event orders.place example-')));
  assert.equal(logged.length, 20, logged.join('\n'));
  assert.equal(new Set(logged.map((line) => line.split(' ')[2])).size, 20, 'each event handled by one instance, once');
  for (const { child } of started) child.kill();
});

test('the shared receiver exchanges answer the same through a Redis store as through the memory store', async () => {
  const clhooks = await import(join(pkg, 'node.mjs'));
  const { createRedisStore } = await import(join(pkg, 'redis.mjs'));
  const { receiverVectors } = await import(join(root, 'tests/packaging/vectors.mjs'));
  const { readFileSync } = await import('node:fs');
  const files = {
    receiver: JSON.parse(readFileSync(join(root, 'tests/vectors/receiver.json'), 'utf8')),
    fixture: new Uint8Array(readFileSync(join(root, 'tests/vectors/orders-place-payload.json'))),
  };
  const results = [];
  await receiverVectors(clhooks, files, (name, expected, got) => results.push({ name, expected, got }),
    { seen: createRedisStore(admin, { prefix: 'vectors:' }) });
  assert.ok(results.length >= 20, `${results.length} exchanges`);
  for (const { name, expected, got } of results) assert.equal(got, expected, name);
});

test('figures: the extra latency of the shared claim against the in-memory store (one instance, one delivery at a time, a handler that does nothing)', async () => {
  const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  const results = {};
  for (const [label, env] of [['memory', { STORE: 'memory', CLIENT: 'redis' }], ['redis', { CLIENT: 'redis' }], ['ioredis', { CLIENT: 'ioredis' }]]) {
    const one = await instance(label, { REDIS_URL, PREFIX: `lat-${label}:`, NOOP: '1', ...env });
    const times = [];
    for (let i = 0; i < 400; i++) {
      const event = delivery(`lat-${i}`);
      const t = performance.now();
      assert.equal((await post(one.url, event.body, event.headers)).status, 200);
      if (i >= 100) times.push(performance.now() - t);
    }
    results[label] = median(times);
    one.child.kill();
  }
  console.log(`# median delivery on loopback: memory store ${results.memory.toFixed(2)} ms, Redis (redis) ${results.redis.toFixed(2)} ms `
    + `(+${(results.redis - results.memory).toFixed(2)} ms), Redis (ioredis) ${results.ioredis.toFixed(2)} ms (+${(results.ioredis - results.memory).toFixed(2)} ms)`);
  assert.ok(results.redis > 0 && results.ioredis > 0);
});

after(async () => {
  await admin.quit().catch(() => {});
});
