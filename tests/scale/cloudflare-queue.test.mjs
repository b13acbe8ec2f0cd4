// Handoff on Cloudflare Queues, in workerd through Miniflare with its queue producer and
// consumer: the Worker's receiver claims in the Durable Object store and answers once the queue
// holds a delivery; its consumer (`queueHandler`) runs the handlers, retrying a failing one and
// letting Cloudflare move the last attempt to the dead-letter queue. The Worker is built by
// Wrangler from the packed package, as a user's would be. Miniflare's consumer defaults are not
// production's (a batch of 5 after 1 s, 2 retries): they are set here explicitly.
//
// Usage: node --test tests/scale/   (after `make pkg`)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWorker, sleep } from './harness.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { sign, receive, encodeRecord } = await import(join(root, 'pkg/node.mjs'));
const SECRET = 'queue-secret';

const delivery = (id, attributes = {}, pad = 0) => {
  const body = JSON.stringify({ data: { id, type: 'orders', attributes: { number: id, ...attributes, ...(pad ? { note: 'x'.repeat(pad) } : {}) } } });
  const headers = { 'x-commercelayer-signature': sign(body, SECRET), 'x-commercelayer-topic': 'orders.place' };
  return { id, body, headers, key: receive(body, headers, SECRET).idempotencyKey };
};

test('Cloudflare Queues: answered once queued, each run by the consumer, a failing one retried, the one that always fails in the dead-letter queue', async () => {
  const outdir = buildWorker(join(root, 'tests/scale/queue-worker'));
  const { Miniflare } = await import(join(root, 'node_modules/miniflare/dist/src/index.js'));
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(outdir, 'worker.js'),
    modulesRoot: outdir,
    modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-01',
    bindings: { CL_WEBHOOK_SECRET: SECRET },
    durableObjects: { SEEN: 'SeenStoreObject', COUNTS: 'Counts' },
    queueProducers: { QUEUE: 'hooks' },
    queueConsumers: {
      hooks: { maxBatchSize: 10, maxBatchTimeout: 0, maxRetries: 2, deadLetterQueue: 'hooks-dead' },
      'hooks-dead': { maxBatchSize: 10, maxBatchTimeout: 0 },
    },
  });
  try {
    const worker = await mf.getWorker();
    const post = async ({ body, headers }) => {
      const res = await worker.fetch('http://localhost/hooks', { method: 'POST', body, headers });
      return { status: res.status, json: await res.json() };
    };
    const counts = async () => (await worker.fetch('http://localhost/counts')).json();
    const events = Array.from({ length: 30 }, (_, i) => delivery(`q${i}`, i === 4 ? { always_fail: true } : i % 10 === 7 ? { fail_first: true } : {}));
    for (const event of events) {
      // Two copies at once: one queued, the other answered as a duplicate (never 409 or 503
      // once queued: the first copy holds the claim only until the queue has it).
      const both = await Promise.all([post(event), post(event)]);
      for (const answer of both) assert.ok(answer.status === 200 || (answer.status === 409 && answer.json.error === 'in_flight'), JSON.stringify(answer));
      const again = await post(event);
      assert.deepEqual(again, { status: 200, json: { received: 'orders.place', duplicate: true } }, event.id);
    }
    const dead = events[4];
    let seen = {};
    for (let i = 0; i < 300; i++) {
      seen = await counts();
      const done = Object.keys(seen).filter((k) => k.startsWith('done:')).length;
      if (done === 29 && seen[`dead:${dead.key}`] === 1) break;
      await sleep(100);
    }
    const done = Object.entries(seen).filter(([k]) => k.startsWith('done:'));
    assert.equal(done.length, 29, `every event but the one that always fails done: ${JSON.stringify(seen)}`);
    assert.deepEqual(done.filter(([, n]) => n !== 1), [], 'none done twice');
    for (const event of events.filter((_, i) => i % 10 === 7)) assert.equal(seen[`run:${event.id}`], 2, `${event.id}: failed once, retried`);
    assert.equal(seen[`run:${dead.id}`], 3, 'the one that always fails: its 3 attempts (max_retries 2)');
    assert.equal(seen[`dead:${dead.key}`], 1, 'then in the dead-letter queue');

    // A record over a message's 128 KB is refused and told, never answered 200.
    const large = delivery('large', {}, 130_000);
    const refused = await post(large);
    assert.deepEqual([refused.status, refused.json.error], [503, 'queue_unavailable']);
    assert.ok((await counts())['told:queue_unavailable'] >= 1);
    // A message that does not verify (sent to the queue by something else) never runs.
    const producer = await mf.getQueueProducer('QUEUE');
    const forged = new TextEncoder().encode(`{"v":"1","key":"forged","topic":"orders.place","sig":"bm9wZQ==","rcv":"1","attempt":"0"}\n${delivery('forged').body}`);
    await producer.send(forged, { contentType: 'bytes' });
    for (let i = 0; i < 100 && (await counts())['dead:forged'] !== 1; i++) await sleep(100);
    const after = await counts();
    assert.equal(after['dead:forged'], 1, 'in the dead-letter queue');
    assert.equal(after['run:forged'], undefined, 'never run');
    // The crash window between the send and the record: a delivery's record queued a second time.
    // The consumer claims each run in the Durable Object store: the copy is acked, not run again.
    const again = events[0];
    const copy = encodeRecord({ v: '1', key: again.key, topic: 'orders.place', sig: again.headers['x-commercelayer-signature'], rcv: String(Date.now()), attempt: '0', body: new TextEncoder().encode(again.body) });
    const through = (await counts())[`through:${again.key}`];
    await producer.send(copy, { contentType: 'bytes' });
    for (let i = 0; i < 100 && (await counts())[`through:${again.key}`] === through; i++) await sleep(100);
    const last = await counts();
    assert.equal(last[`through:${again.key}`], through + 1, 'the copy went through the consumer');
    assert.equal(last[`run:${again.id}`], 1, 'the second copy of a delivery that ran is not run again');
    console.log(`# Cloudflare Queues in workerd: 30 events, each sent twice at once, ${done.length} done once; fail-first retried once; `
      + 'the always-failing one dead-lettered after 3 attempts; a 130 KB record refused (503); a forged message dead-lettered unrun; '
      + 'a delivery queued twice run once');
  } finally {
    await mf.dispose();
    rmSync(outdir, { recursive: true, force: true });
  }
});
