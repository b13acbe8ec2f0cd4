// simulateLive: the package's sender driving real HTTP with fetch on loopback, against the
// package's own receiver and against servers that fail or stall on purpose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

const { simulateLive, createNodeHandler } = await import(new URL('../../pkg/node.mjs', import.meta.url));

/** A loopback server; `answer(n, req, res)` handles the n-th request (1-based). */
async function server(answer) {
  let n = 0;
  const srv = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(++n, req, res));
  });
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${srv.address().port}`, count: () => n, close: () => new Promise((ok) => srv.close(ok)) };
}

const webhook = (id, host, secret = 's', topic = 'orders.place') => ({
  id, topic, callback_url: `http://${host}.test/hooks`, shared_secret: secret,
});

test('simulateLive delivers signed events to a real receiver and retries a flaky one', async () => {
  const received = [];
  const good = createServer(createNodeHandler({ secret: 's', onEvent: (e) => received.push(e.topic) }));
  await new Promise((ok) => good.listen(0, '127.0.0.1', ok));
  const flaky = await server((n, _req, res) => res.writeHead(n <= 2 ? 503 : 200).end());
  const entries = [];
  try {
    const report = await simulateLive({
      webhooks: [webhook('good', 'good'), webhook('flaky', 'flaky')],
      events: [{ at_ms: 0, topic: 'orders.place', count: 2, every_ms: 60000 }],
    }, {
      timeScale: 0.0005,
      target: { 'good.test': `http://127.0.0.1:${good.address().port}`, 'flaky.test': flaky.url },
      onEntry: (e) => entries.push(e.kind),
    });
    const by = Object.fromEntries(report.summary.map((s) => [s.id, s]));
    assert.deepEqual([by.good.delivered, by.good.failures], [2, 0]);
    assert.deepEqual([by.flaky.delivered, by.flaky.failures, by.flaky.attempts], [2, 2, 4]);
    assert.deepEqual(received, ['orders.place', 'orders.place']);
    assert.equal(flaky.count(), 4);
    assert.ok(entries.includes('retry_scheduled') && entries.includes('delivered'));
    assert.equal(report.timeline.length, entries.length);
  } finally {
    await new Promise((ok) => good.close(ok));
    await flaky.close();
  }
});

test('an answer after the timeout is aborted and counted as a failure', async () => {
  const slow = await server((_n, _req, res) => setTimeout(() => res.writeHead(200).end(), 1500));
  try {
    const report = await simulateLive({
      policy: { timeout_ms: 300, max_retries: 1, backoff_ms: [1000] },
      webhooks: [webhook('slow', 'slow')],
      events: [{ at_ms: 0, topic: 'orders.place' }],
    }, { target: slow.url, timeScale: 0.01 });
    const results = report.timeline.filter((e) => e.kind === 'attempt_finished').map((e) => e.result);
    assert.deepEqual(results, ['timeout after 300 ms', 'timeout after 300 ms']);
    assert.equal(report.timeline.at(-1).reason, 'retries_exhausted');
  } finally {
    await slow.close();
  }
});

test("Commerce Layer's 5 s: a receiver answering after 6 s has failed", async () => {
  const slow = await server((_n, _req, res) => setTimeout(() => res.writeHead(200).end(), 6000));
  try {
    const report = await simulateLive({
      policy: { max_retries: 0 },
      webhooks: [webhook('slow', 'slow')],
      events: [{ at_ms: 0, topic: 'orders.place' }],
    }, { target: slow.url });
    const finished = report.timeline.find((e) => e.kind === 'attempt_finished');
    assert.equal(finished.success, false);
    assert.equal(finished.result, 'timeout after 5000 ms');
  } finally {
    await slow.close();
  }
});

test('a refused connection and an invalid scenario', async () => {
  const gone = await server(() => {});
  const url = gone.url;
  await gone.close();
  const report = await simulateLive({
    policy: { max_retries: 0 },
    webhooks: [webhook('gone', 'gone')],
    events: [{ at_ms: 0, topic: 'orders.place' }],
  }, { target: url });
  assert.equal(report.summary[0].failures, 1);
  await assert.rejects(simulateLive({ webhooks: 'nope' }), (e) => e.code === 'invalid_scenario');
});

test('a redirect is a failed delivery: Commerce Layer does not follow it', async () => {
  const redirecting = await server((_n, _req, res) => res.writeHead(302, { location: '/login' }).end());
  try {
    const report = await simulateLive({
      policy: { max_retries: 0 },
      webhooks: [webhook('moved', 'moved')],
      events: [{ at_ms: 0, topic: 'orders.place' }],
    }, { target: redirecting.url });
    const finished = report.timeline.find((e) => e.kind === 'attempt_finished');
    assert.equal(finished.success, false);
    assert.match(finished.result, /^302/);
    assert.equal(redirecting.count(), 1, 'the Location is not requested');
  } finally {
    await redirecting.close();
  }
});

test('calls to different webhooks run side by side', async () => {
  const slow = await server((_n, _req, res) => setTimeout(() => res.writeHead(200).end(), 1500));
  const quick = await server((n, _req, res) => res.writeHead(n === 1 ? 500 : 200).end());
  try {
    const report = await simulateLive({
      policy: { backoff_ms: [100] },
      webhooks: [webhook('slow', 'slow'), webhook('quick', 'quick')],
      events: [{ at_ms: 0, topic: 'orders.place' }],
    }, { target: { 'slow.test': slow.url, 'quick.test': quick.url } });
    const order = report.timeline.filter((e) => e.kind === 'delivered').map((e) => e.webhook);
    assert.deepEqual(order, ['quick', 'slow'], 'the quick webhook retried and succeeded while the slow call was out');
  } finally {
    await slow.close();
    await quick.close();
  }
});
