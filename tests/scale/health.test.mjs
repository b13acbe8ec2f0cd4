// Failure streaks across instances: two receivers (one on node-redis, one on ioredis) sharing a
// real Redis count one streak of a handler that always fails, as Commerce Layer counts it: the
// owner is told once at the 5th and once at the 30th attempt whichever instance took it, both
// probes turn 503, an instance killed and started again sees the same counters, and a success
// ends the streak once.
//
// Usage: node --test tests/scale/   (after `make pkg`)

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { freePort, postTo, sleep, start, startRedis } from './harness.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = join(root, 'pkg');
const { sign } = await import(join(pkg, 'node.mjs'));
const SECRET = 'scale-secret';

async function instance(name, env) {
  const { child, match } = await start('node', [join(root, 'tests/scale/instance.mjs')], { PKG: pkg, NAME: name, ...env },
    /listening on (http:\/\/\S+)/);
  return { name, child, url: match[1] };
}

/** A signed orders.place delivery of event `id` that always fails, or succeeds with `ok`. */
function delivery(id, ok = false) {
  const body = Buffer.from(JSON.stringify({ data: { id, type: 'orders', attributes: ok ? {} : { always_fail: true } } }));
  return { body, headers: { 'content-type': 'application/json', 'x-commercelayer-signature': sign(body, SECRET), 'x-commercelayer-topic': 'orders.place' } };
}

/** GET /health: its status and report. */
const probe = (url) => new Promise((ok, fail) => {
  get(`${url}/health`, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => ok({ status: res.statusCode, report: JSON.parse(Buffer.concat(chunks).toString()) }));
  }).on('error', fail).setTimeout(5_000, function timeout() { this.destroy(new Error('no answer')); });
});

const redisPort = await freePort();
const redis = await startRedis(redisPort);
const REDIS_URL = `redis://127.0.0.1:${redisPort}`;
const admin = createClient({ url: REDIS_URL });
admin.on('error', () => {});
await admin.connect();
after(async () => {
  await admin.quit().catch(() => {});
  redis.kill('SIGKILL');
});

/** Waits (at most 5 s) until `check()` holds. */
async function until(check, what) {
  const end = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} did not come within 5 s`);
    await sleep(10);
  }
}
/** How many scripts (EVAL, EVALSHA) and how many SETs Redis ran, failures such as NOSCRIPT left out. */
async function commandsRun() {
  const stats = String(await admin.sendCommand(['INFO', 'commandstats']));
  const run = (pattern) => [...stats.matchAll(pattern)].reduce((sum, [, calls, failed]) => sum + Number(calls) - Number(failed), 0);
  return {
    scripts: run(/^cmdstat_eval(?:sha)?:calls=(\d+),.*?failed_calls=(\d+)/gm),
    sets: run(/^cmdstat_set:calls=(\d+),.*?failed_calls=(\d+)/gm),
  };
}
const streakOf = async (url) => (await probe(url)).report.webhooks.find((w) => w.verified)?.streak;
const told = () => admin.lRange('clhooks:seen:test:told', 0, -1);

test('two instances on one Redis count one streak: told once at 5 and at 30, 503 on both probes, kept across a restart, ended once', async () => {
  const env = { REDIS_URL };
  const instances = [await instance('a', { ...env, CLIENT: 'redis' }), await instance('b', { ...env, CLIENT: 'ioredis' })];
  await admin.sendCommand(['CONFIG', 'RESETSTAT']);
  for (let n = 1; n <= 30; n += 1) {
    const { body, headers } = delivery(`o${n}`);
    const answer = await postTo(`${instances[n % 2].url}/hooks`, body, headers);
    assert.equal(answer.status, 500);
    // Commerce Layer's attempts of one webhook come one after another: each count lands first.
    await until(async () => (await streakOf(instances[(n + 1) % 2].url)) === n, `streak ${n}`);
  }
  // Two round trips a delivery: the claim, one SET, then one script that ends the claim and
  // counts the answer (each failed: its end deletes the key, no SET).
  assert.deepEqual(await commandsRun(), { scripts: 30, sets: 30 });
  await until(async () => (await told()).length >= 2, 'the notices');
  const notices = (await told()).map((line) => line.split(' ').slice(0, 3).join(' '));
  assert.deepEqual(notices, ['failure_streak 5 notice', 'failure_streak 30 open']);
  for (const { url } of instances) {
    const { status, report } = await probe(url);
    assert.deepEqual([status, report.status, report.webhooks[0].circuit, report.webhooks[0].last_failure.reason], [503, 'open', 'open', 'handler_failed']);
  }
  // An instance killed and started again: the counters are Redis', not its own.
  instances[0].child.kill('SIGKILL');
  instances[0] = await instance('a2', { ...env, CLIENT: 'redis' });
  assert.equal((await probe(instances[0].url)).status, 503);
  const { body, headers } = delivery('o31', true);
  assert.equal((await postTo(`${instances[0].url}/hooks`, body, headers)).status, 200);
  await until(async () => (await told()).length >= 3, 'the end of the streak');
  assert.equal((await told())[2].split(' ').slice(0, 2).join(' '), 'failure_streak_ended 30');
  for (const { url } of instances) assert.deepEqual([(await probe(url)).status, await streakOf(url)], [200, 0]);
  await sleep(100);
  assert.equal((await told()).length, 3, 'each told once, by one instance');
  for (const { child } of instances) child.kill('SIGKILL');
});

test('where several secrets are set, a count folded into the claim\'s end lands in the streak of the secret that verified the delivery', async () => {
  const { Webhooks } = await import(join(pkg, 'node.mjs'));
  const { createRedisStore } = await import(join(pkg, 'redis.mjs'));
  const hooks = new Webhooks({ secret: ['first-secret', 'second-secret'], seen: createRedisStore(admin, { prefix: 'secrets:' }), onError: null });
  assert.equal(hooks.folds, true);
  hooks.on('orders.*', () => { throw new Error('the database is down'); });
  await admin.sendCommand(['CONFIG', 'RESETSTAT']);
  for (const n of [1, 2]) {
    const body = Buffer.from(JSON.stringify({ data: { id: `s${n}`, type: 'orders', attributes: {} } }));
    const headers = { 'x-commercelayer-signature': sign(body, 'second-secret'), 'x-commercelayer-topic': 'orders.place' };
    assert.equal((await hooks.process({ method: 'POST', body, headers })).status, 500);
  }
  assert.deepEqual(await commandsRun(), { scripts: 2, sets: 2 }, 'each count rode on its claim\'s end');
  const { webhooks } = JSON.parse((await hooks.healthAnswer()).body);
  assert.deepEqual(webhooks.filter((w) => w.verified).map((w) => [w.secret, w.streak]), [[2, 2]]);
});

test('on a Redis Cluster node, without a hash tag in the prefix, the store ends the claim and counts in two scripts: nothing lost', async () => {
  const { Webhooks } = await import(join(pkg, 'node.mjs'));
  const { createRedisStore } = await import(join(pkg, 'redis.mjs'));
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'clhooks-cluster-'));
  // One node holding every slot: keys of two slots still cannot share a script.
  const { child } = await start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')], {}, /Ready to accept connections/);
  const client = createClient({ url: `redis://127.0.0.1:${port}` });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.sendCommand(['CLUSTER', 'ADDSLOTSRANGE', '0', '16383']);
    await until(async () => String(await client.sendCommand(['CLUSTER', 'INFO'])).includes('cluster_state:ok'), 'the cluster');
    const hooks = new Webhooks({ secret: SECRET, seen: createRedisStore(client), onError: null });
    hooks.on('orders.*', () => {});
    const { body, headers } = delivery('c1', true);
    assert.deepEqual([(await hooks.process({ method: 'POST', body, headers })).status, (await hooks.process({ method: 'POST', body, headers })).body],
      [200, JSON.stringify({ received: 'orders.place', duplicate: true })]);
    const { webhooks } = JSON.parse((await hooks.healthAnswer()).body);
    assert.equal(webhooks.length, 1);
    assert.ok(webhooks[0].last_success, 'the success was counted');
  } finally {
    await client.quit().catch(() => {});
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
