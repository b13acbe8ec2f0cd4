// Handoff mode in the package, in one process: receivers that answer once a queue holds a
// delivery (the memory queue, and a queue of the user's own that does not claim keys), the
// answers when the queue fails or is slow, and workers that run, retry, dead-letter, replay and
// stop. The Redis queue, across processes and crashes: tests/scale/queue.test.mjs.
// Run with `node --test tests/receivers/` after `make pkg`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const { Webhooks, createMemoryQueue, createMemoryStore, createWorker, sign, Verifier } = await import(new URL('pkg/node.mjs', root));
const fixture = readFileSync(new URL('tests/vectors/orders-place-payload.json', root));
const SECRET = 'handoff-secret';

const document = (id, type = 'orders') => Buffer.from(`{"data":{"id":"${id}","type":"${type}","attributes":{"n":1}}}`);
const delivery = (body, secret = SECRET, topic = 'orders.place') => ({
  method: 'POST',
  body,
  headers: { 'x-commercelayer-signature': sign(body, secret), 'x-commercelayer-topic': topic },
});
const said = (answer) => ({ status: answer.status, ...JSON.parse(answer.body) });
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** Waits until `check()` holds, polling every 10 ms for at most `ms`. */
async function until(check, ms = 5_000, what = 'the condition') {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what} did not come within ${ms} ms`);
    await sleep(10);
  }
}

/** Worker settings that make a test's waits short. */
const quick = { retryMs: 20, retryCapMs: 40, blockMs: 50, reclaimIdleMs: 300 };

test('a receiver with a queue answers 200 handed_off once it holds the delivery, a copy as a duplicate, and the worker runs it once', async () => {
  const queue = createMemoryQueue();
  const hooks = new Webhooks({ secret: SECRET, queue });
  const seen = [];
  hooks.on('orders.*', (event) => { seen.push([event.topic, event.id, event.data.type]); });
  const server = createServer(hooks.nodeHandler());
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}/`;
  try {
    const { body, headers } = delivery(fixture);
    const first = await fetch(url, { method: 'POST', body, headers });
    assert.deepEqual({ status: first.status, ...await first.json() }, { status: 200, received: 'orders.place', handed_off: true });
    const copies = await Promise.all([1, 2, 3].map(() => fetch(url, { method: 'POST', body, headers }).then(async (r) => [r.status, await r.json()])));
    for (const [status, json] of copies) assert.deepEqual([status, json], [200, { received: 'orders.place', duplicate: true }]);
    assert.equal(seen.length, 0, 'no handler runs in the request');
    assert.deepEqual(queue.size, { ready: 1, delayed: 0, held: 0, dead: 0 });
    const worker = hooks.worker(quick).start();
    await until(() => seen.length === 1, 5_000, 'the run');
    await worker.stop();
    assert.deepEqual(seen, [['orders.place', 'wBXVhZOmXO', 'orders']]);
    assert.deepEqual(queue.size, { ready: 0, delayed: 0, held: 0, dead: 0 });
    const again = await fetch(url, { method: 'POST', body, headers });
    assert.deepEqual(await again.json(), { received: 'orders.place', duplicate: true }, 'handled: still a duplicate');
  } finally {
    await new Promise((ok) => server.close(ok));
  }
});

test('a queue that fails or is slow is answered 503 queue_unavailable and told; nothing is answered 200 it does not hold', async () => {
  const told = [];
  const onError = (error) => { told.push([error.code, error.message]); };
  const down = { claims: true, enqueue: async () => { throw new Error('connection refused'); } };
  const hooks = new Webhooks({ secret: SECRET, queue: down, onError });
  assert.deepEqual(said(await hooks.process(delivery(document('o1')))), {
    status: 503, error: 'queue_unavailable', message: 'the queue did not take the delivery; Commerce Layer will try again',
  });
  assert.deepEqual(told, [['queue_unavailable', 'the queue did not take the delivery; Commerce Layer will try again: connection refused']]);

  const throwing = { enqueue() { throw new Error('sync failure'); } };
  assert.equal((await new Webhooks({ secret: SECRET, queue: throwing, onError }).process(delivery(document('o2')))).status, 503);
  const garbage = { claims: true, enqueue: () => 'maybe' };
  assert.equal((await new Webhooks({ secret: SECRET, queue: garbage, onError }).process(delivery(document('o3')))).status, 503);

  // Slow: answered within the store wait; the record it takes later records the key, so the
  // retry is a duplicate (the seen-store claimed it first: this queue does not claim).
  let accept;
  const slow = { enqueue: () => new Promise((ok) => { accept = ok; }) };
  const seen = createMemoryStore();
  const late = new Webhooks({ secret: SECRET, queue: slow, seen, storeTimeoutMs: 50, onError });
  assert.equal(said(await late.process(delivery(document('o4')))).error, 'queue_unavailable');
  assert.equal(said(await late.process(delivery(document('o4')))).error, 'in_flight', 'the claim is held while the queue may still take it');
  accept();
  await sleep(20);
  assert.deepEqual(said(await late.process(delivery(document('o4')))), { status: 200, received: 'orders.place', duplicate: true });
});

test('a queue of the user\'s own that does not claim: the seen-store claims, the queue holds the record, then the key is recorded', async () => {
  const records = [];
  const mine = { enqueue: async (record) => { records.push(record); } };
  const hooks = new Webhooks({ secret: SECRET, queue: mine });
  const body = document('o5');
  assert.equal(said(await hooks.process(delivery(body))).handed_off, true);
  assert.equal(said(await hooks.process(delivery(body))).duplicate, true);
  assert.equal(records.length, 1);
  const [record] = records;
  assert.deepEqual(Object.keys(record), ['v', 'key', 'topic', 'sig', 'rcv', 'attempt', 'body'], 'the documented fields, in order');
  assert.equal(record.v, '1');
  assert.equal(record.topic, 'orders.place');
  assert.equal(record.sig, sign(body, SECRET));
  assert.equal(record.attempt, '0');
  assert.ok(Math.abs(Number(record.rcv) - Date.now()) < 5_000);
  assert.deepEqual(Buffer.from(record.body), body);
  assert.match(record.key, /^[0-9a-f]{64}$/);

  // Failing, it releases the claim, so the retry runs.
  let fail = true;
  const flaky = { enqueue: async () => { if (fail) throw new Error('busy'); } };
  const again = new Webhooks({ secret: SECRET, queue: flaky, onError: null });
  assert.equal(said(await again.process(delivery(document('o6')))).status, 503);
  fail = false;
  assert.equal(said(await again.process(delivery(document('o6')))).handed_off, true);
});

test('with a seen-store, a delivery a queue holds twice (a crash between its write and its record) runs once', async () => {
  const queue = createMemoryQueue();
  const record = (body) => {
    let kept;
    const capture = { enqueue: (r) => { kept = r; } };
    return new Webhooks({ secret: SECRET, queue: capture }).process(delivery(body)).then(() => kept);
  };
  const twice = await record(document('twice'));
  const empty = (q) => q.size.ready === 0 && q.size.delayed === 0 && q.size.held === 0;
  queue.enqueue(twice);
  queue.enqueue(twice);
  const seen = createMemoryStore();
  const ran = [];
  const worker = createWorker({ secret: SECRET, queue, seen, ...quick }).on('*', async (event) => {
    ran.push(event.id);
    await sleep(30); // the copy is taken while this one runs: retried, then a duplicate
  });
  worker.start();
  await until(() => empty(queue) && ran.length === 1);
  await worker.stop();
  assert.deepEqual(ran, ['twice']);
  assert.deepEqual(queue.size, { ready: 0, delayed: 0, held: 0, dead: 0 });
  // Without one, it runs for each copy.
  const other = createMemoryQueue();
  other.enqueue(twice);
  other.enqueue(twice);
  const both = [];
  const plain = createWorker({ secret: SECRET, queue: other, ...quick }).on('*', (event) => { both.push(event.id); }).start();
  await until(() => empty(other));
  await plain.stop();
  assert.deepEqual(both, ['twice', 'twice']);
});

test('a worker retries a failing handler with the backoff, then moves it to the dead letters; replayed, it runs again', async () => {
  const queue = createMemoryQueue();
  const hooks = new Webhooks({ secret: SECRET, queue });
  await hooks.process(delivery(document('flaky')));
  await hooks.process(delivery(document('broken')));
  const runs = { flaky: 0, broken: 0 };
  const told = [];
  let fixed = false;
  const worker = createWorker({ secret: SECRET, queue, ...quick, maxAttempts: 3, onError: (error, event) => told.push([error.code ?? error.message, event?.id]) })
    .on('orders.place', (event) => {
      runs[event.id] += 1;
      if (event.id === 'flaky' && runs.flaky < 2) throw new Error('not yet');
      if (event.id === 'broken' && !fixed) return Promise.reject(new Error('always'));
      return undefined;
    })
    .start();
  await until(() => queue.size.dead === 1 && runs.flaky === 2, 5_000, 'the dead letter');
  assert.deepEqual(runs, { flaky: 2, broken: 3 });
  const [dead] = queue.deadLetters();
  assert.equal(dead.reason, 'handler_failed');
  assert.equal(dead.error, 'always');
  assert.equal(dead.record.attempt, '3');
  assert.deepEqual(told.filter(([code]) => code === 'dead_lettered'), [['dead_lettered', 'broken']]);
  fixed = true;
  assert.equal(queue.replay(), 1);
  await until(() => runs.broken === 4, 5_000, 'the replay');
  await worker.stop();
  assert.deepEqual(queue.size, { ready: 0, delayed: 0, held: 0, dead: 0 });
});

test('a worker verifies every record again: one signed with a secret it does not have goes to the dead letters, unrun', async () => {
  const queue = createMemoryQueue();
  await new Webhooks({ secret: 'old-secret', queue }).process(delivery(document('rotated'), 'old-secret'));
  await new Webhooks({ secret: SECRET, queue }).process(delivery(document('current')));
  const ran = [];
  const worker = createWorker({ secret: SECRET, queue, ...quick, onError: null }).on('*', (event) => { ran.push(event.id); }).start();
  await until(() => ran.length === 1 && queue.size.dead === 1);
  await worker.stop();
  assert.deepEqual(ran, ['current']);
  const [dead] = queue.deadLetters();
  assert.equal(dead.reason, 'unverified');
  assert.match(dead.error, /signature/);
  // With both secrets (a rotation), it runs.
  queue.replay();
  const both = createWorker({ secret: new Verifier([SECRET, 'old-secret']), queue, ...quick }).on('*', (event) => { ran.push(event.id); }).start();
  await until(() => ran.length === 2);
  await both.stop();
  assert.deepEqual(ran, ['current', 'rotated']);
});

test('stop lets what runs finish; past its grace it hands the message back, and another worker runs it', async () => {
  const queue = createMemoryQueue();
  const hooks = new Webhooks({ secret: SECRET, queue });
  await hooks.process(delivery(document('slow')));
  let release;
  const ran = [];
  const first = createWorker({ secret: SECRET, queue, ...quick })
    .on('*', (event) => { ran.push(['first', event.id]); return new Promise((ok) => { release = ok; }); })
    .start();
  await until(() => ran.length === 1);
  const stopped = first.stop({ graceMs: 50 });
  await stopped;
  assert.equal(first.busy, 0);
  assert.deepEqual(queue.size, { ready: 1, delayed: 0, held: 0, dead: 0 }, 'handed back');
  const second = createWorker({ secret: SECRET, queue, ...quick }).on('*', (event) => { ran.push(['second', event.id]); }).start();
  await until(() => ran.length === 2);
  release();
  await second.stop();
  assert.deepEqual(ran, [['first', 'slow'], ['second', 'slow']]);
  assert.deepEqual(queue.size, { ready: 0, delayed: 0, held: 0, dead: 0 }, 'the first one\'s late end changed nothing');

  // A graceful stop waits for a handler within its grace.
  await hooks.process(delivery(document('short')));
  const third = createWorker({ secret: SECRET, queue, ...quick }).on('*', () => sleep(100)).start();
  await until(() => third.busy === 1);
  await third.stop({ graceMs: 5_000 });
  assert.deepEqual(queue.size, { ready: 0, delayed: 0, held: 0, dead: 0 });
});

test('bad options are typed errors, and worker() needs handoff mode', () => {
  assert.throws(() => new Webhooks({ secret: SECRET, queue: {} }), (error) => error.code === 'invalid_argument');
  assert.throws(() => new Webhooks({ secret: SECRET }).worker(), (error) => error.code === 'invalid_argument');
  assert.throws(() => createWorker({ secret: SECRET }), (error) => error.code === 'invalid_argument');
  assert.throws(() => createWorker({ secret: SECRET, queue: createMemoryQueue(), maxAttempts: 0 }), (error) => error.code === 'invalid_worker');
  assert.throws(() => createWorker({ secret: '', queue: createMemoryQueue() }), (error) => error.code === 'empty_secret');
  assert.throws(() => createWorker({ secret: SECRET, queue: createMemoryQueue() }).on('not a pattern!', () => {}), (error) => error.code === 'invalid_topic_pattern');
});
