// Two Workers (two isolates, as Cloudflare runs many) in workerd through Miniflare, sharing
// clhooks' Durable Object seen-store: deliveries each sent to both at once, some retried later,
// some failing first, each handled exactly once (counted in a Durable Object of the test
// Worker). The Worker is built by Wrangler from the packed package, as a user's would be.
//
// Usage: node --test tests/scale/   (after `make pkg`)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWorker } from './harness.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const here = join(root, 'tests/scale/worker');
const { sign, receive } = await import(join(root, 'pkg/node.mjs'));
const SECRET = 'scale-secret';

const build = () => buildWorker(here);

test('2 Workers sharing the Durable Object store: 600 deliveries each sent to both at once, 5% retried later, 2% failing first: each handled exactly once', async () => {
  const outdir = build();
  const { Miniflare } = await import(join(root, 'node_modules/miniflare/dist/src/index.js'));
  const worker = (name, durableObjects) => ({
    name,
    modules: true,
    scriptPath: join(outdir, 'worker.js'),
    modulesRoot: outdir,
    modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-01',
    bindings: { CL_WEBHOOK_SECRET: SECRET, NAME: name },
    durableObjects,
  });
  const mf = new Miniflare({
    workers: [
      worker('a', { SEEN: 'SeenStoreObject', COUNTS: 'Counts' }),
      // The second Worker binds the first one's objects: one store for both.
      worker('b', { SEEN: { className: 'SeenStoreObject', scriptName: 'a' }, COUNTS: { className: 'Counts', scriptName: 'a' } }),
    ],
  });
  try {
    const workers = [await mf.getWorker('a'), await mf.getWorker('b')];
    const post = async (w, { body, headers }) => {
      const res = await w.fetch('http://localhost/hooks', { method: 'POST', body, headers });
      return { status: res.status, json: await res.json() };
    };
    const answers = [];
    /** As Commerce Layer: again after any non-2xx, at most 60 times. */
    const deliver = async (w, event) => {
      for (let i = 0; i < 60; i++) {
        const answer = await post(w, event);
        answers.push(answer);
        if (answer.status === 200) return answer;
        await new Promise((ok) => setTimeout(ok, 20));
      }
      return answers.at(-1);
    };
    const events = Array.from({ length: 600 }, (_, i) => {
      const body = JSON.stringify({ data: { id: `w${i}`, type: 'orders', attributes: { number: i, ...(i % 50 === 7 ? { fail_first: true } : {}) } } });
      return { id: `w${i}`, body, headers: { 'x-commercelayer-signature': sign(body, SECRET), 'x-commercelayer-topic': 'orders.place' } };
    });
    const started = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < events.length) {
        const event = events[next++];
        const both = await Promise.all(workers.map((w) => deliver(w, event)));
        assert.deepEqual(both.map((a) => a.status), [200, 200], `${event.id}: ${JSON.stringify(both)}`);
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    for (const [i, event] of events.filter((_, i) => i % 20 === 3).entries()) {
      const again = await post(workers[i % 2], event);
      assert.deepEqual([again.status, again.json.duplicate], [200, true], event.id);
    }
    // A claim whose holder died (an isolate gone mid-handler): 409 until its lease ends, then
    // the retry runs.
    const orphan = events[0].body.replace('"w0"', '"orphan"');
    const event = { id: 'orphan', body: orphan, headers: { 'x-commercelayer-signature': sign(orphan, SECRET), 'x-commercelayer-topic': 'orders.place' } };
    const key = receive(orphan, event.headers, SECRET).idempotencyKey;
    const abandoned = await (await workers[1].fetch(`http://localhost/abandon?key=${key}&leaseMs=1000`)).json();
    assert.equal(abandoned.claim, 'fresh');
    const abandonedAt = performance.now();
    const blocked = await post(workers[0], event);
    assert.deepEqual([blocked.status, blocked.json.error], [409, 'in_flight']);
    const before = answers.length;
    assert.equal((await deliver(workers[0], event)).status, 200);
    const waited = performance.now() - abandonedAt;
    assert.ok(waited >= 900, `the retry ran ${waited.toFixed(0)} ms after the claim, past its 1,000 ms lease`);
    answers.length = before;

    const counts = await (await workers[0].fetch('http://localhost/counts')).json();
    const handled = Object.entries(counts).filter(([k]) => k.startsWith('handled:'));
    assert.equal(handled.length, 601, 'none lost');
    assert.deepEqual(handled.filter(([, n]) => n !== 1), [], 'none handled twice');
    assert.equal(Object.keys(counts).filter((k) => k.startsWith('failed:')).length, 12, 'each failing event failed once, then was handled');
    const tally = {};
    for (const { status, json } of answers) {
      const kind = `${status} ${json.error ?? (json.duplicate ? 'duplicate' : 'handled')}`;
      tally[kind] = (tally[kind] ?? 0) + 1;
    }
    assert.equal(tally['200 handled'], 600);
    assert.equal(tally['500 handler_failed'], 12);
    const by = Object.entries(counts).filter(([k]) => k.startsWith('by:')).reduce((n, [, name]) => ({ ...n, [name]: (n[name] ?? 0) + 1 }), {});
    console.log(`# workerd, 2 Workers, one Durable Object store: 600 events (${answers.length} requests) in ${seconds.toFixed(2)} s, `
      + `${(600 / seconds).toFixed(0)} events/s; answers ${JSON.stringify(tally)}; handled by ${JSON.stringify(by)}`);

    // The failure streak both Workers share in the store's health object: a handler that always
    // fails, its attempts one after another as Commerce Layer sends them, to either Worker. On a
    // topic of its own: the copies sent to both Workers at once above were answered 409 to one
    // of them, which Commerce Layer counts as failed, so orders.place's streaks came and went.
    const probe = async (w) => {
      const res = await w.fetch('http://localhost/health');
      return { http: res.status, ...(await res.json()) };
    };
    const TOPIC = 'orders.approve';
    const streak = async (w) => (await probe(w)).webhooks.find((h) => h.verified && h.topic === TOPIC)?.streak ?? 0;
    const notices = async () => {
      const all = await (await workers[0].fetch('http://localhost/counts')).json();
      return Object.entries(all).filter(([k]) => k.startsWith('told:')).sort(([a], [b]) => Number(a.slice(5)) - Number(b.slice(5)))
        .map(([, line]) => line.split(' ')).filter((words) => words[3] === TOPIC).map((words) => words.slice(0, 3).join(' '));
    };
    for (let n = 1; n <= 30; n += 1) {
      const body = JSON.stringify({ data: { id: `down${n}`, type: 'orders', attributes: { always_fail: true } } });
      const headers = { 'x-commercelayer-signature': sign(body, SECRET), 'x-commercelayer-topic': TOPIC };
      assert.equal((await post(workers[n % 2], { body, headers })).status, 500);
      // Counted past the answer (waitUntil): each lands before the next attempt.
      const end = Date.now() + 5_000;
      while ((await streak(workers[(n + 1) % 2])) !== n) {
        assert.ok(Date.now() < end, `the streak never reached ${n}`);
        await new Promise((ok) => setTimeout(ok, 10));
      }
    }
    const down = await Promise.all(workers.map(probe));
    assert.deepEqual(down.map((r) => [r.http, r.webhooks.find((h) => h.topic === TOPIC).circuit]), [[503, 'open'], [503, 'open']]);
    const end = Date.now() + 5_000;
    while ((await notices()).length < 2 && Date.now() < end) await new Promise((ok) => setTimeout(ok, 10));
    assert.deepEqual(await notices(), ['failure_streak 5 notice', 'failure_streak 30 open']);
  } finally {
    await mf.dispose();
    rmSync(outdir, { recursive: true, force: true });
  }
});
