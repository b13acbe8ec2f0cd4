// Failure streaks: the shared cases of tests/vectors/health.json through the WebAssembly's
// `Health` (as tests/health.rs runs them in Rust), then receivers that count what Commerce Layer
// counts and tell onError at the 5th and 30th consecutive failed attempt, and serve the counters
// to a probe. Run with `node --test tests/receivers/` after `make pkg`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const { createCore } = await import(new URL('pkg/core/web.js', root));
const core = createCore(new WebAssembly.Module(readFileSync(new URL('pkg/clhooks.wasm', root))));
const { Webhooks, sign, WebhookError } = await import(new URL('pkg/node.mjs', root));
const { cases } = JSON.parse(readFileSync(new URL('tests/vectors/health.json', root), 'utf8'));

/** Whether `actual` has every member `expected` has (arrays: the same length, each alike). */
function has(actual, expected) {
  if (Array.isArray(expected)) return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => has(actual[i], e));
  if (expected !== null && typeof expected === 'object') return actual !== null && typeof actual === 'object' && Object.entries(expected).every(([k, v]) => has(actual[k], v));
  return actual === expected;
}
const written = (s) => (s.code === 'failure_streak' ? `failure_streak ${s.streak} ${s.circuit}` : `failure_streak_ended ${s.streak}`);

test('every shared health case counts, signals and reports the same through the package', () => {
  assert.ok(cases.length >= 10);
  for (const { name, attempts, report, secrets = [] } of cases) {
    const health = new core.Health();
    attempts.forEach((step, n) => {
      const body = step.code ? JSON.stringify({ error: step.code, message: 'why' }) : '{"received":"orders.place"}';
      const signals = [];
      for (let i = 0; i < (step.times ?? 1); i += 1) {
        const at = step.at + i * (step.every ?? 0);
        if ('refused' in step) {
          const counted = health.countRefused(step.refused ?? undefined, step.status, body, step.from_commerce_layer, step.secrets, at, step.latency);
          assert.equal(counted.length, step.counted.length, `${name}, attempt ${n}: the streaks counted`);
          signals.push(...counted.filter((c) => typeof c === 'object'));
        } else {
          const [kind, webhook] = step.webhook.split(':');
          assert.equal(kind, 'v', 'the package counts verified webhooks by topic');
          const [topic, secret] = webhook.split('#');
          const signal = health.count(topic, secret, step.status, step.status >= 300 ? body : undefined, at, step.latency);
          if (typeof signal === 'object') signals.push(signal);
          else assert.equal(typeof signal, 'number', 'the streak now');
        }
      }
      if (step.signals) assert.deepEqual(signals.map(written), step.signals, `${name}, attempt ${n}: the signals`);
      for (const s of signals) assert.ok(typeof s.message === 'string' && s.message.length > 20 && typeof s.topic === 'string');
    });
    if (report) {
      const answer = health.answer(secrets);
      assert.equal(answer.status, report.status, `${name}: the status`);
      const body = JSON.parse(answer.body);
      assert.ok(has(body, report.body), `${name}: the report ${answer.body}`);
    }
  }
});

const SECRET = 'health-secret';
const document = (n) => Buffer.from(`{"data":{"id":"o${n}","type":"orders","attributes":{"n":${n}}}}`);

/** A receiver on node:http with its health endpoint, and what onError was told. */
async function serve(options, setup) {
  const told = [];
  const hooks = new Webhooks({ secret: SECRET, onError: (error, event) => { told.push([error, event]); }, ...options });
  setup(hooks);
  const health = hooks.healthHandler();
  const handler = hooks.nodeHandler();
  const server = createServer((req, res) => (req.url === '/health' ? health(req, res) : handler(req, res)));
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}`;
  const post = async (n, { secret = SECRET, topic = 'orders.place', body = document(n) } = {}) => {
    const answer = await fetch(`${url}/`, { method: 'POST', body, headers: { 'x-commercelayer-signature': sign(body, secret), 'x-commercelayer-topic': topic } });
    await answer.arrayBuffer();
    return answer.status;
  };
  const probe = async () => {
    const answer = await fetch(`${url}/health`);
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    return { http: answer.status, ...await answer.json() };
  };
  return { hooks, told, post, probe, close: () => new Promise((ok) => server.close(ok)) };
}
const streaks = (told) => told.filter(([e]) => String(e?.code).startsWith('failure_streak')).map(([e]) => [e.code, e.streak, e.circuit]);

test('a handler that always fails: onError is told at the 5th and the 30th attempt, the probe turns 503, a success ends it', async () => {
  let failing = true;
  const { hooks, told, post, probe, close } = await serve({}, (hooks) => hooks.on('orders.*', () => { if (failing) throw new Error('the database is down'); }));
  try {
    for (let n = 1; n <= 4; n += 1) assert.equal(await post(n), 500);
    assert.deepEqual(streaks(told), []);
    const early = await probe();
    assert.deepEqual({ ...early, http: undefined }, { ...(await hooks.health()), http: undefined }, 'the probe serves health()');
    assert.deepEqual([early.http, early.status], [200, 'failing']);
    assert.equal(early.webhooks[0].streak, 4);
    assert.equal(early.webhooks[0].last_failure.reason, 'handler_failed');
    assert.match(early.note, /attempts that never did/);
    assert.equal(await post(5), 500);
    const [notice] = told.filter(([e]) => e.code === 'failure_streak');
    assert.ok(notice[0] instanceof WebhookError);
    assert.deepEqual([notice[0].streak, notice[0].topic, notice[0].circuit, notice[0].verified], [5, 'orders.place', 'notice', true]);
    assert.equal(notice[1].id, 'o5', 'told with the event that crossed it');
    // A retry of one that failed counts too, as Commerce Layer counts retries.
    for (let n = 6; n <= 30; n += 1) assert.equal(await post(n % 2 ? n : 1), 500);
    assert.deepEqual(streaks(told), [['failure_streak', 5, 'notice'], ['failure_streak', 30, 'open']]);
    const open = told.find(([e]) => e.circuit === 'open')[0];
    assert.match(open.message, /opened this webhook's circuit.*_reset_circuit/);
    const down = await probe();
    assert.deepEqual([down.http, down.status, down.webhooks[0].circuit, down.webhooks[0].streak], [503, 'open', 'open', 30]);
    assert.ok(!JSON.stringify(down).includes(SECRET));
    failing = false;
    assert.equal(await post(31), 200);
    assert.deepEqual(streaks(told).at(-1), ['failure_streak_ended', 30, undefined]);
    const up = await probe();
    assert.deepEqual([up.http, up.status, up.webhooks[0].streak, up.webhooks[0].circuit], [200, 'ok', 0, 'closed']);
    assert.equal(await post(32), 200);
    assert.equal(streaks(told).length, 3, 'said once');
  } finally {
    await close();
  }
});

test('in-flight copies and duplicates count as Commerce Layer counts them: a 409 fails, a duplicate 200 succeeds', async () => {
  let release;
  const { hooks, told, post, close } = await serve({}, (hooks) => hooks.on('orders.*', (event) => (event.id === 'o1' ? new Promise((ok) => { release = ok; }) : undefined)));
  try {
    const first = post(1);
    while (release === undefined) await new Promise((ok) => setTimeout(ok, 5));
    for (let i = 0; i < 5; i += 1) assert.equal(await post(1), 409);
    assert.deepEqual(streaks(told), [['failure_streak', 5, 'notice']]);
    release();
    assert.equal(await first, 200);
    assert.deepEqual(streaks(told).at(-1), ['failure_streak_ended', 5, undefined]);
    assert.equal(await post(1), 200, 'a duplicate');
    const { webhooks } = await hooks.health();
    assert.equal(webhooks[0].streak, 0);
  } finally {
    await close();
  }
});

test('signature mismatches are their own streak, labelled unverified, and never turn the probe 503', async () => {
  const { hooks, told, post, probe, close } = await serve({}, (hooks) => hooks.on('orders.*', () => {}));
  try {
    for (let n = 1; n <= 30; n += 1) assert.equal(await post(n, { secret: 'a rotated secret' }), 401);
    assert.equal(await post(31, { secret: 'another', topic: 'no.such' }), 401);
    const seen = told.filter(([e]) => e.code === 'failure_streak').map(([e, event]) => [e.streak, e.circuit, e.verified, e.topic, event]);
    assert.deepEqual(seen, [[5, 'notice', false, 'orders.place', undefined], [30, 'open', false, 'orders.place', undefined]]);
    assert.match(told.find(([e]) => e.streak === 5)[0].message, /failed their signature \(unverified\)/);
    const report = await probe();
    assert.equal(report.http, 200, 'anyone can send bad signatures: the probe stays up');
    assert.deepEqual(report.webhooks.map((w) => [w.topic, w.verified, w.streak]), [['orders.place', false, 30], ['unknown', false, 1]]);
    assert.equal(await post(32), 200);
    assert.deepEqual((await hooks.health()).webhooks.map((w) => [w.topic, w.verified, w.streak]), [['orders.place', false, 30], ['orders.place', true, 0], ['unknown', false, 1]]);
  } finally {
    await close();
  }
});

test('where several secrets are set, each is a webhook of its own: one failing does not move the other, and the report names them by their place', async () => {
  const hooks = new Webhooks({ secret: ['new-secret', 'old-secret'], onError: null });
  hooks.on('orders.*', (event) => { if (event.id.startsWith('bad')) throw new Error('down'); });
  for (let n = 0; n < 6; n += 1) assert.equal((await hooks.process({ method: 'POST', ...signed(`bad${n}`, 'old-secret') })).status, 500);
  assert.equal((await hooks.process({ method: 'POST', ...signed('good', 'new-secret') })).status, 200);
  const { webhooks } = await hooks.health();
  assert.deepEqual(webhooks.map((w) => [w.topic, w.secret, w.streak]).sort(), [['orders.place', 1, 0], ['orders.place', 2, 6]]);
  assert.ok(!JSON.stringify(webhooks).includes('secret"') || webhooks.every((w) => typeof w.secret === 'number'));
});

/** A delivery of event `id` signed with `secret`: `{ body, headers }`. */
function signed(id, secret) {
  const body = Buffer.from(`{"data":{"id":"${id}","type":"orders","attributes":{}}}`);
  return { body, headers: { 'x-commercelayer-signature': sign(body, secret), 'x-commercelayer-topic': 'orders.place' } };
}

test('a Redis store folds the count into the end of the claim where its keys may share a script: anywhere on one Redis, on a cluster only under a hash tag', async () => {
  const { createRedisStore } = await import(new URL('pkg/redis.mjs', root));
  // Clients that are never called: only what the store says of itself is read here.
  const single = { call: () => { throw new Error('not called'); } };
  const cluster = { ...single, isCluster: true };
  const folds = (client, prefix) => new Webhooks({ secret: SECRET, seen: createRedisStore(client, prefix === undefined ? {} : { prefix }) }).folds;
  assert.equal(folds(single), true);
  assert.equal(folds(cluster), false);
  assert.equal(folds(cluster, '{hooks}:seen:'), true);
  assert.equal(folds(cluster, '{}:seen:'), false);
  // A store that keeps no streaks, or streaks apart from its claims, folds nothing.
  assert.equal(new Webhooks({ secret: SECRET }).folds, false);
});
