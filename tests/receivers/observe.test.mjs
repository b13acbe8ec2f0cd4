// Metrics and logs in the user's own stack: a receiver given an OpenTelemetry Meter (the real
// @opentelemetry/sdk-metrics, read in memory) and a pino logger (writing to a stream) records
// what the core decided for a known sequence of deliveries: names, units, attributes, values.
// Run with `node --test tests/receivers/` after `make pkg`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import pino from 'pino';

const root = new URL('../../', import.meta.url);
const { Webhooks, sign, WebhookError, createMemoryQueue } = await import(new URL('pkg/node.mjs', root));

const SECRET = 'observed-secret';
const document = (n) => Buffer.from(`{"data":{"id":"o${n}","type":"orders","attributes":{"n":"${n}"}}}`);
const request = (n, { secret = SECRET, topic = 'orders.place', body = document(n) } = {}) => ({
  method: 'POST', body, headers: { 'x-commercelayer-signature': sign(body, secret), 'x-commercelayer-topic': topic },
});

/** A reader the test collects from when it wants. */
class Collected extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

/** Every metric collected, by name: `{ unit, points: [{ attributes, value }] }`. */
async function metricsOf(reader) {
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const out = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) out[metric.descriptor.name] = { unit: metric.descriptor.unit, points: metric.dataPoints };
  }
  return out;
}
const key = (attributes) => JSON.stringify(Object.entries(attributes).sort());

test('a meter and a logger get what the core decided for each delivery, nothing secret', async () => {
  const reader = new Collected();
  const provider = new MeterProvider({ readers: [reader] });
  const lines = [];
  const stream = new Writable({ write(chunk, _encoding, done) { lines.push(JSON.parse(chunk)); done(); } });
  const logger = pino({ base: null, timestamp: false }, stream);
  const told = [];
  const hooks = new Webhooks({ secret: SECRET, meter: provider.getMeter('receiver-test'), logger, onError: (e) => told.push(e) });
  hooks.on('orders.*', async (event) => {
    await new Promise((ok) => setTimeout(ok, 20));
    if (event.id.startsWith('ofail')) throw new Error('the database is down');
  });
  const answers = [];
  for (const n of [1, 2, 3]) answers.push((await hooks.process(request(n))).status);
  answers.push((await hooks.process(request(1))).status); // a duplicate
  for (const n of ['fail1', 'fail2']) answers.push((await hooks.process(request(n))).status);
  answers.push((await hooks.process(request(9, { secret: 'wrong' }))).status);
  answers.push((await hooks.process(request(10, { secret: 'wrong', topic: 'made.up.by.anyone' }))).status);
  assert.deepEqual(answers, [200, 200, 200, 200, 500, 500, 401, 401]);

  const metrics = await metricsOf(reader);
  assert.deepEqual(Object.keys(metrics).sort(), ['clhooks.answer.duration', 'clhooks.deliveries', 'clhooks.failure_streak', 'clhooks.handler.duration']);
  const deliveries = new Map(metrics['clhooks.deliveries'].points.map((p) => [key(p.attributes), p.value]));
  const place = { 'clhooks.topic': 'orders.place' };
  assert.deepEqual(Object.fromEntries([...deliveries].sort()), Object.fromEntries([
    [key({ ...place, 'clhooks.outcome': 'handled', 'http.response.status_code': 200 }), 3],
    [key({ ...place, 'clhooks.outcome': 'duplicate', 'http.response.status_code': 200 }), 1],
    [key({ ...place, 'clhooks.outcome': 'failed', 'http.response.status_code': 500, 'error.type': 'handler_failed' }), 2],
    [key({ ...place, 'clhooks.outcome': 'refused', 'http.response.status_code': 401, 'error.type': 'signature_mismatch' }), 1],
    [key({ 'clhooks.topic': 'unknown', 'clhooks.outcome': 'refused', 'http.response.status_code': 401, 'error.type': 'signature_mismatch' }), 1],
  ].sort()));
  assert.equal(metrics['clhooks.deliveries'].unit, '{request}');
  const answer = metrics['clhooks.answer.duration'];
  assert.equal(answer.unit, 's');
  const handled = answer.points.find((p) => p.attributes['clhooks.outcome'] === 'handled');
  assert.equal(handled.value.count, 3);
  assert.ok(handled.value.min >= 0.015 && handled.value.max < 5, `seconds, each past the handler's 20 ms: ${handled.value.min}..${handled.value.max}`);
  const handler = metrics['clhooks.handler.duration'];
  assert.deepEqual(handler.points.map((p) => [p.attributes['clhooks.outcome'], p.value.count]).sort(), [['failed', 2], ['ok', 3]]);
  const streaks = metrics['clhooks.failure_streak'].points.map((p) => [p.attributes['clhooks.topic'], p.attributes['clhooks.verified'], p.value]);
  assert.deepEqual(streaks.sort(), [['orders.place', false, 1], ['orders.place', true, 2], ['unknown', false, 1]]);

  assert.equal(lines.length, 8, 'one record per request answered');
  const [first] = lines;
  assert.deepEqual({ ...first, durationMs: typeof first.durationMs, idempotencyKey: typeof first.idempotencyKey }, {
    level: 30, topic: 'orders.place', status: 200, outcome: 'handled', durationMs: 'number', eventId: 'o1', idempotencyKey: 'string',
    duplicate: false, streak: 0, msg: 'clhooks: orders.place handled (200)',
  });
  assert.equal(lines[3].duplicate, true);
  assert.deepEqual([lines[5].level, lines[5].code, lines[5].streak], [40, 'handler_failed', 2]);
  assert.deepEqual([lines[6].level, lines[6].outcome, lines[6].code, lines[6].eventId], [40, 'refused', 'signature_mismatch', undefined]);
  assert.equal(lines[7].topic, 'unknown', 'a claimed topic no catalogue knows is not a label');
  const logged = JSON.stringify(lines);
  for (const secret of [SECRET, 'wrong', sign(document(1), SECRET), '"attributes"']) assert.ok(!logged.includes(secret), `no ${secret} in the logs`);
  assert.ok(told.every((e) => e instanceof WebhookError || e instanceof Error));
  await provider.shutdown();
});

test('a handoff worker records each handler run and each message settled, with the queue\'s messaging attributes', async () => {
  const reader = new Collected();
  const provider = new MeterProvider({ readers: [reader] });
  const lines = [];
  const stream = new Writable({ write(chunk, _encoding, done) { lines.push(JSON.parse(chunk)); done(); } });
  const logger = pino({ base: null, timestamp: false }, stream);
  // A queue of one's own names itself as OpenTelemetry's messaging conventions say.
  const memory = createMemoryQueue();
  const queue = Object.assign(Object.create(memory), { messaging: { 'messaging.system': 'example', 'messaging.destination.name': 'hooks' } });
  for (const name of ['enqueue', 'take', 'extend', 'settle']) queue[name] = memory[name].bind(memory);
  // The receiver records nothing; its worker is given a meter and a logger of its own.
  const hooks = new Webhooks({ secret: SECRET, queue, onError: null });
  hooks.on('orders.*', async (event) => {
    if (event.id === 'ofail') throw new Error('the database is down');
  });
  assert.deepEqual([(await hooks.process(request(1))).status, (await hooks.process(request('fail'))).status], [200, 200]);
  assert.equal(lines.length, 0);
  const worker = hooks.worker({ maxAttempts: 2, retryMs: 5, blockMs: 10, meter: provider.getMeter('worker-test'), logger }).start();
  const settled = () => lines.filter((l) => 'attempt' in l).length;
  for (let i = 0; i < 500 && settled() < 3; i += 1) await new Promise((ok) => setTimeout(ok, 10));
  await worker.stop({ graceMs: 1_000 });

  const metrics = await metricsOf(reader);
  const messaging = { 'messaging.system': 'example', 'messaging.destination.name': 'hooks' };
  const place = { 'clhooks.topic': 'orders.place', ...messaging };
  const messages = metrics['clhooks.messages'];
  assert.equal(messages.unit, '{message}');
  assert.deepEqual(Object.fromEntries(messages.points.map((p) => [key(p.attributes), p.value]).sort()), Object.fromEntries([
    [key({ ...place, 'clhooks.outcome': 'done', 'messaging.operation.type': 'settle' }), 1],
    [key({ ...place, 'clhooks.outcome': 'retry', 'messaging.operation.type': 'settle' }), 1],
    [key({ ...place, 'clhooks.outcome': 'dead', 'messaging.operation.type': 'settle', 'error.type': 'handler_failed' }), 1],
  ].sort()));
  const runs = metrics['clhooks.handler.duration'].points.filter((p) => p.attributes['messaging.operation.type'] === 'process');
  assert.deepEqual(runs.map((p) => [p.attributes['clhooks.outcome'], p.attributes['messaging.system'], p.value.count]).sort(), [['failed', 'example', 2], ['ok', 'example', 1]]);

  const records = lines.filter((l) => 'attempt' in l).map((l) => [l.level, l.eventId, l.outcome, l.attempt, l.code, typeof l.durationMs, l['messaging.system']]);
  assert.deepEqual(records.sort(), [
    [30, 'o1', 'done', 1, undefined, 'number', 'example'],
    [40, 'ofail', 'dead', 2, 'handler_failed', 'number', 'example'],
    [40, 'ofail', 'retry', 1, undefined, 'number', 'example'],
  ].sort());
  assert.ok(!JSON.stringify(lines).includes(SECRET));
  await provider.shutdown();
});

test('a meter or a logger that is neither is refused at once, with how to get one', () => {
  assert.throws(() => new Webhooks({ secret: SECRET, meter: {} }), /getMeter/);
  assert.throws(() => new Webhooks({ secret: SECRET, logger: { info() {} } }), /info\(object, message\) and warn/);
});

test('a logger that throws changes no answer', async () => {
  const hooks = new Webhooks({ secret: SECRET, logger: { info() { throw new Error('disk full'); }, warn() { throw new Error('disk full'); } } });
  hooks.on('*', () => {});
  assert.equal((await hooks.process(request(1))).status, 200);
  assert.equal((await hooks.process(request(2, { secret: 'x' }))).status, 401);
});
