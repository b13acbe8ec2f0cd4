// The package's receivers (Webhooks, createNodeHandler, expressMiddleware, handleRequest) in
// Node, through the built package: routing, idempotency, failures, rotation, body parsers.
// Run with `node --test tests/receivers/` after `make pkg`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = new URL('../../', import.meta.url);
const clhooks = await import(new URL('pkg/node.mjs', root));
const { Webhooks, createNodeHandler, expressMiddleware, handleRequest, keepRawBody, createMemoryStore, sign, WebhookError } = clhooks;
const express = createRequire(import.meta.url)(fileURLToPath(new URL('node_modules/express', root)));
const fixture = readFileSync(new URL('tests/vectors/orders-place-payload.json', root));

const headers = (body, secret, topic = 'orders.place', extra = {}) => ({
  'content-type': 'application/vnd.api+json',
  'x-commercelayer-signature': sign(body, secret),
  'x-commercelayer-topic': topic,
  ...extra,
});
const delivery = (body, secret, topic) => ({ method: 'POST', body, headers: headers(body, secret, topic) });
const document = (type, id, extra = '') => Buffer.from(`{"data":{"id":"${id}","type":"${type}","attributes":{}}}${extra}`);

/** Serves a request listener on loopback for the length of `fn`. */
async function serve(listener, fn) {
  const server = createServer(listener);
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    return await fn(`http://127.0.0.1:${server.address().port}/hooks`);
  } finally {
    await new Promise((ok) => server.close(ok));
  }
}

async function post(url, body, requestHeaders) {
  const res = await fetch(url, { method: 'POST', body, headers: requestHeaders });
  return { status: res.status, json: await res.json() };
}

test('events are routed by topic pattern, in registration order', async () => {
  const calls = [];
  const webhooks = new Webhooks({ secret: 's' })
    .on('orders.*', (e) => calls.push(`orders.* ${e.topic}`))
    .on('*.destroy', (e) => calls.push(`*.destroy ${e.topic}`))
    .on('orders.place', async (e) => calls.push(`orders.place ${e.denormalize().line_items.length}`))
    .on('*', (e) => calls.push(`* ${e.topic}`));
  assert.equal((await webhooks.process(delivery(fixture, 's', 'orders.place'))).status, 200);
  assert.equal((await webhooks.process(delivery(document('orders', 'o2'), 's', 'orders.destroy'))).status, 200);
  assert.equal((await webhooks.process(delivery(document('shipments', 's1'), 's', 'shipments.ship'))).status, 200);
  assert.deepEqual(calls, [
    'orders.* orders.place', 'orders.place 6', '* orders.place',
    'orders.* orders.destroy', '*.destroy orders.destroy', '* orders.destroy',
    '* shipments.ship',
  ]);
  assert.throws(() => webhooks.on('orders.**', () => {}), (e) => e instanceof WebhookError && e.code === 'invalid_topic_pattern');
});

test('a retried delivery is recognised: skipped by default, marked on request', async () => {
  let handled = 0;
  const skip = new Webhooks({ secret: 's', onEvent: () => handled++ });
  const first = await skip.process(delivery(fixture, 's'));
  const again = await skip.process(delivery(fixture, 's'));
  assert.deepEqual([first.status, JSON.parse(first.body).duplicate, again.status, JSON.parse(again.body).duplicate], [200, undefined, 200, true]);
  assert.equal(handled, 1);

  const flags = [];
  const store = new Map();
  const mark = new Webhooks({
    secret: 's',
    duplicates: 'mark',
    // An asynchronous store, as Redis or KV would be: claim is one atomic step.
    seen: {
      claim: async (k) => {
        const state = store.get(k);
        if (state === undefined) store.set(k, 'in_flight');
        return state === 'done' ? 'duplicate' : state ?? 'fresh';
      },
      done: async (k) => void store.set(k, 'done'),
      release: async (k) => void store.delete(k),
    },
    onEvent: (e) => flags.push(e.duplicate),
  });
  await mark.process(delivery(fixture, 's'));
  await mark.process(delivery(fixture, 's'));
  await mark.process(delivery(Buffer.concat([fixture, Buffer.from('\n')]), 's'));
  assert.deepEqual(flags, [false, true, false]);
  assert.equal(store.size, 2);
});

test('a handler that throws gets a 500, and the retry is handled, not skipped', async () => {
  let attempts = 0;
  const errors = [];
  const webhooks = new Webhooks({
    secret: 's',
    onEvent: () => {
      attempts++;
      if (attempts === 1) throw new Error('database down');
    },
    onError: (error, event) => errors.push(`${error.message} ${event.topic}`),
  });
  assert.equal((await webhooks.process(delivery(fixture, 's'))).status, 500);
  assert.equal((await webhooks.process(delivery(fixture, 's'))).status, 200);
  assert.equal(attempts, 2);
  assert.deepEqual(errors, ['database down orders.place']);
});

test('a secret rotates while deliveries continue', async () => {
  // Commerce Layer signs with the old secret, then the new one, while retries of older
  // deliveries may still carry the old signature. The receiver accepts both during the switch.
  const handled = [];
  const options = { secret: ['old-secret'], onEvent: (e) => handled.push(e.id) };
  let webhooks = new Webhooks(options);
  const statuses = [];
  for (let i = 0; i < 30; i++) {
    const phase = i < 10 ? 'before' : i < 20 ? 'during' : 'after';
    if (i === 10) webhooks = new Webhooks({ ...options, secret: ['new-secret', 'old-secret'] });
    if (i === 20) webhooks = new Webhooks({ ...options, secret: ['new-secret'] });
    const secret = phase === 'before' || (phase === 'during' && i % 2) ? 'old-secret' : 'new-secret';
    statuses.push((await webhooks.process(delivery(document('orders', `o${i}`), secret))).status);
  }
  assert.deepEqual(statuses, Array(30).fill(200));
  assert.equal(handled.length, 30);
  const stale = await webhooks.process(delivery(document('orders', 'late'), 'old-secret'));
  assert.equal(stale.status, 401);
  assert.equal(JSON.parse(stale.body).error, 'signature_mismatch');
});

test('createNodeHandler answers each kind of request', async () => {
  const seen = [];
  await serve(createNodeHandler({ secret: 's', onEvent: (e) => seen.push(e.topic), maxBodyBytes: 100_000 }), async (url) => {
    assert.equal((await post(url, fixture, headers(fixture, 's'))).status, 200);
    assert.equal((await post(url, fixture, headers(fixture, 'wrong'))).status, 401);
    assert.equal((await post(url, fixture, headers(fixture, 's', 'shipments.ship'))).status, 400);
    assert.equal((await post(url, Buffer.alloc(200_000), headers('x', 's'))).status, 413);
    assert.equal((await fetch(url)).status, 405);
    const bad = await post(url, '{"data":', headers('{"data":', 's'));
    assert.deepEqual([bad.status, bad.json.error], [400, 'invalid_json']);
  });
  assert.deepEqual(seen, ['orders.place']);
});

test('handleRequest takes a fetch Request and gives a Response', async () => {
  const options = { secret: 's', onEvent: () => {} };
  const ok = await handleRequest(new Request('http://x/hooks', { method: 'POST', body: fixture, headers: headers(fixture, 's') }), options);
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { received: 'orders.place' });
  const again = await handleRequest(new Request('http://x/hooks', { method: 'POST', body: fixture, headers: headers(fixture, 's') }), options);
  assert.equal((await again.json()).duplicate, true, 'the options object keeps one seen-store');
  const get = await handleRequest(new Request('http://x/hooks'), options);
  assert.equal(get.status, 405);
});

test('Express: after express.json() the middleware still verifies, or names the fix', async () => {
  const events = [];
  const onEvent = (e) => events.push(e.topic);
  // 1. express.json() mounted first: JSON:API content types are not parsed, the raw body is read.
  const app = express();
  app.use(express.json());
  app.post('/hooks', expressMiddleware({ secret: 's', onEvent }));
  await serve(app, async (url) => {
    assert.equal((await post(url, fixture, headers(fixture, 's'))).status, 200);
    // application/json was parsed: the bytes are gone, and the answer says how to fix it.
    const body = Buffer.concat([fixture, Buffer.from(' ')]);
    const parsed = await post(url, body, headers(body, 's', 'orders.place', { 'content-type': 'application/json' }));
    assert.equal(parsed.status, 500);
    assert.equal(parsed.json.error, 'body_not_raw');
    // The fix for Express, at the receiver's own limit: the route first, or the bytes kept.
    assert.match(parsed.json.message, /Mount app\.post\(path, webhooks\.express\(\)\) before app\.use\(express\.json\(\)\)/);
    assert.match(parsed.json.message, /express\.json\(\{ limit: '5mb', verify: keepRawBody \}\)/);
    // With no signature (or a malformed one) the core's 401 comes first, whatever the body.
    const unsigned = { 'content-type': 'application/json', 'x-commercelayer-topic': 'orders.place' };
    const noSignature = await post(url, fixture, unsigned);
    assert.deepEqual([noSignature.status, noSignature.json.error], [401, 'missing_signature']);
    const malformed = await post(url, fixture, { ...unsigned, 'x-commercelayer-signature': 'abc' });
    assert.deepEqual([malformed.status, malformed.json.error], [401, 'malformed_signature']);
  });
  // 2. express.json({ verify: keepRawBody }): every content type verifies.
  const kept = express();
  kept.use(express.json({ verify: keepRawBody, limit: '5mb' }));
  kept.post('/hooks', expressMiddleware({ secret: 's', onEvent }));
  await serve(kept, async (url) => {
    const body = Buffer.concat([fixture, Buffer.from('  ')]);
    assert.equal((await post(url, body, headers(body, 's', 'orders.place', { 'content-type': 'application/json' }))).status, 200);
  });
  // 2b. jsonOptions(): clhooks' limit, not Express's 100 kb, and the bytes kept; a receiver
  // with a smaller limit names that limit when the bytes are missing.
  const big = Buffer.from(JSON.stringify({ ...JSON.parse(fixture), meta: { pad: 'x'.repeat(150 * 1024) } }));
  const withOptions = express();
  const hooks = new Webhooks({ secret: 's', onEvent });
  withOptions.use(express.json(hooks.jsonOptions()));
  withOptions.post('/hooks', hooks.express());
  await serve(withOptions, async (url) => {
    const answer = await post(url, big, headers(big, 's', 'orders.place', { 'content-type': 'application/json' }));
    assert.deepEqual([answer.status, answer.json.received], [200, 'orders.place']);
  });
  assert.deepEqual(hooks.jsonOptions(), { limit: 5 * 1024 * 1024, verify: keepRawBody });
  const small = express();
  small.use(express.json());
  small.post('/hooks', expressMiddleware({ secret: 's', maxBodyBytes: 512 * 1024, onEvent }));
  await serve(small, async (url) => {
    const body = Buffer.concat([fixture, Buffer.from(' ')]);
    const answer = await post(url, body, headers(body, 's', 'orders.place', { 'content-type': 'application/json' }));
    assert.match(answer.json.message, /limit: '512kb'/);
  });
  // 3. express.raw() on the route.
  const raw = express();
  raw.post('/hooks', express.raw({ type: '*/*', limit: '5mb' }), expressMiddleware({ secret: 's', onEvent }));
  await serve(raw, async (url) => {
    assert.equal((await post(url, fixture, headers(fixture, 's'))).status, 200);
    assert.equal((await post(url, fixture, headers(fixture, 'x'))).status, 401);
  });
  assert.deepEqual(events, ['orders.place', 'orders.place', 'orders.place', 'orders.place']);
});

test('node:http behind a parser that read the body, and a used fetch Request: 500 body_not_raw naming the fix, at once', async () => {
  const webhooks = new Webhooks({ secret: 's', onEvent: () => assert.fail('no handler runs') });
  const handler = webhooks.nodeHandler();
  // As Next.js's Pages Router does: the stream read whole, the parsed JSON left as req.body.
  const parsing = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      req.body = JSON.parse(Buffer.concat(chunks));
      handler(req, res);
    });
  });
  await new Promise((r) => parsing.listen(0, '127.0.0.1', r));
  try {
    const answer = await post(`http://127.0.0.1:${parsing.address().port}/hooks`, fixture, headers(fixture, 's'));
    assert.deepEqual([answer.status, answer.json.error], [500, 'body_not_raw']);
    assert.match(answer.json.message, /bodyParser: false/);
  } finally {
    parsing.close();
  }
  const request = new Request('http://x/hooks', { method: 'POST', body: fixture, headers: headers(fixture, 's') });
  await request.text();
  const used = await webhooks.fetch(request);
  const json = await used.json();
  assert.deepEqual([used.status, json.error], [500, 'body_not_raw']);
  assert.match(json.message, /request\.clone\(\)/);
  // The signature header is still checked first: a probe without one gets 401, not 500.
  const probe = new Request('http://x/hooks', { method: 'POST', body: fixture });
  await probe.arrayBuffer();
  assert.equal((await webhooks.fetch(probe)).status, 401);
});

test('a copy arriving while the first is still being handled is answered 409, then the retry is a duplicate', async () => {
  let running = 0;
  let calls = 0;
  const webhooks = new Webhooks({
    secret: 's',
    onEvent: async () => {
      calls++;
      running++;
      await new Promise((r) => setTimeout(r, 100));
      running--;
    },
  });
  const [first, second] = await Promise.all([webhooks.process(delivery(fixture, 's')), webhooks.process(delivery(fixture, 's'))]);
  // Never both at once: the copy is refused for now, so Commerce Layer tries it again later.
  assert.deepEqual([first.status, second.status, JSON.parse(second.body).error], [200, 409, 'in_flight']);
  assert.equal(calls, 1);
  const later = await webhooks.process(delivery(fixture, 's'));
  assert.deepEqual([later.status, JSON.parse(later.body).duplicate], [200, true]);
  assert.equal(calls, 1);
});

test('handleRequest with options written inline still recognises duplicates', async () => {
  let calls = 0;
  const body = Buffer.concat([fixture, Buffer.from('\n\n\n')]);
  const request = () => new Request('http://x/hooks', { method: 'POST', body, headers: headers(body, 'inline') });
  await handleRequest(request(), { secret: 'inline', onEvent: () => calls++ });
  const again = await handleRequest(request(), { secret: 'inline', onEvent: () => calls++ });
  assert.equal((await again.json()).duplicate, true);
  assert.equal(calls, 1);
});

test("the default seen-store is the core's: claim, release, record, the oldest forgotten first", () => {
  const seen = createMemoryStore({ max: 2 });
  for (const key of ['a', 'b', 'c']) {
    assert.equal(seen.claim(key), 'fresh');
    seen.done(key);
  }
  assert.equal(seen.size, 2);
  assert.deepEqual(['b', 'c'].map((key) => seen.claim(key)), ['duplicate', 'duplicate']);
  assert.equal(seen.claim('a'), 'fresh', 'a was the oldest');
  assert.equal(seen.claim('a'), 'in_flight');
  seen.release('a');
  assert.equal(seen.claim('a'), 'fresh', 'a failed delivery is released');
});

test('a seen-store that answers something else than a claim gets a 500, not a crash', async () => {
  const webhooks = new Webhooks({ secret: 's', seen: { claim: () => true, done: () => {}, release: () => {} } });
  await assert.rejects(webhooks.process(delivery(fixture, 's')), (e) => e instanceof WebhookError && e.code === 'invalid_argument');
  await serve(webhooks.nodeHandler(), async (url) => {
    assert.equal((await post(url, fixture, headers(fixture, 's'))).status, 500);
  });
});

test("a seen-store may answer a claim with what a Redis SET NX GET found ({ held }): the core reads it (tests/vectors/claims.json)", async () => {
  const vectors = JSON.parse(readFileSync(new URL('tests/vectors/claims.json', root), 'utf8'));
  const meaning = { fresh: [200, false, 1], duplicate: [200, true, 0], in_flight: [409, false, 0] };
  for (const { held, claim } of vectors.cases) {
    const webhooks = new Webhooks({ secret: 's', seen: { claim: async () => ({ held }), done: () => {}, release: () => {} }, onError: null });
    let ran = 0;
    webhooks.on('orders.place', () => { ran += 1; });
    const { status, body } = await webhooks.process(delivery(fixture, 's'));
    assert.deepEqual([status, JSON.parse(body).duplicate === true, ran], meaning[claim], JSON.stringify(held));
  }
  for (const held of [...vectors.invalid, undefined]) {
    const webhooks = new Webhooks({ secret: 's', seen: { claim: () => ({ held }), done: () => {}, release: () => {} } });
    await assert.rejects(webhooks.process(delivery(fixture, 's')), (e) => e instanceof WebhookError && e.code === 'invalid_argument', String(held));
  }
});

test('a claim always ends: an onError that throws, or a handler that rewrites the event, leaves no key stuck', async () => {
  let attempts = 0;
  const webhooks = new Webhooks({
    secret: 's',
    onEvent: (event) => {
      attempts++;
      event.topic = 'rewritten';
      event.idempotencyKey = 'someone-else';
      if (attempts === 1) throw new Error('database down');
    },
    onError: () => {
      throw new Error('the logger is down too');
    },
  });
  const first = await webhooks.process(delivery(fixture, 's'));
  assert.deepEqual([first.status, JSON.parse(first.body).error], [500, 'handler_failed']);
  const retry = await webhooks.process(delivery(fixture, 's'));
  assert.deepEqual([retry.status, JSON.parse(retry.body)], [200, { received: 'orders.place' }], 'not 409: the claim was released');
  const again = await webhooks.process(delivery(fixture, 's'));
  assert.equal(JSON.parse(again.body).duplicate, true, 'recorded under the delivery\'s own key');
  assert.equal(attempts, 2);
});

test('seen: false (like null) turns idempotency off: every copy is handled', async () => {
  let handled = 0;
  const webhooks = new Webhooks({ secret: 's', seen: false, onEvent: () => { handled++; } });
  for (let i = 0; i < 2; i++) assert.equal((await webhooks.process(delivery(fixture, 's'))).status, 200);
  assert.equal(handled, 2);
});

test('the idempotency key: made on first read from the body as received, in JSON, and refused if the bytes were changed', () => {
  const payloads = JSON.parse(readFileSync(new URL('tests/vectors/payloads.json', root), 'utf8'));
  const expected = payloads.receive.find((c) => c.name === 'fixture_orders_place').idempotency_key;
  const event = clhooks.receive(Buffer.from(fixture), headers(fixture, 's'), 's');
  assert.equal(event.idempotencyKey, expected);
  assert.equal(JSON.parse(JSON.stringify(event)).idempotencyKey, expected);
  assert.equal(clhooks.receive(fixture.toString('utf8'), headers(fixture, 's'), 's').idempotencyKey, expected);
  // A caller that reuses its buffer before reading the key gets an error, not a wrong key.
  const copy = new Uint8Array(fixture);
  const early = clhooks.receive(copy.buffer, headers(fixture, 's'), 's');
  structuredClone(copy.buffer, { transfer: [copy.buffer] });
  assert.throws(() => early.idempotencyKey, (e) => e instanceof WebhookError && e.code === 'invalid_argument');
});

test('one-shot verify keeps keyed verifiers per secret without mixing a string with a list', () => {
  const body = '{"data":{"id":"x","type":"orders"}}';
  const signature = sign(body, 'a');
  clhooks.verify(body, signature, ['a', 'b']);
  assert.throws(() => clhooks.verify(body, signature, '["a","b"]'), (e) => e.code === 'signature_mismatch');
  assert.throws(() => clhooks.verify(body, signature, [new String('a')]), (e) => e.code === 'invalid_argument');
  for (let i = 0; i < 20; i++) assert.throws(() => clhooks.verify(body, signature, `other-${i}`), (e) => e.code === 'signature_mismatch');
  clhooks.verify(body, signature, 'a');
  // The last secret used is the oldest kept, then pushed out by a new one: never reused freed.
  for (let i = 0; i < 7; i++) assert.throws(() => clhooks.verify(body, signature, `more-${i}`), (e) => e.code === 'signature_mismatch');
  clhooks.verify(body, signature, 'a');
  clhooks.verify(body, signature, 'a');
  assert.throws(() => clhooks.verify(body, signature, 'newest'), (e) => e.code === 'signature_mismatch');
  clhooks.verify(body, signature, 'a');
  assert.throws(() => clhooks.verify(body, signature, 'a'.repeat(2)), (e) => e.code === 'signature_mismatch');
  clhooks.verify(body, signature, ['a']);
  clhooks.verify(body, signature, 'a');
});

test('deliveryHeaders: application/json by default, another content type on request, signed either way', () => {
  const body = '{"data":{"id":"x","type":"orders"}}';
  const headers = Object.fromEntries(clhooks.deliveryHeaders(body, 's', 'orders.place'));
  assert.equal(headers['Content-Type'], 'application/json');
  assert.equal(headers['X-CommerceLayer-Topic'], 'orders.place');
  clhooks.verify(body, headers['X-CommerceLayer-Signature'], 's');
  const jsonApi = Object.fromEntries(clhooks.deliveryHeaders(body, 's', 'orders.place', 'application/vnd.api+json'));
  assert.equal(jsonApi['Content-Type'], 'application/vnd.api+json');
  assert.throws(() => clhooks.deliveryHeaders(body, 's', 'orders.place', 42), (e) => e.code === 'invalid_argument');
});

test('sources: only allowed callers are received, the others get 403 before anything is verified', async () => {
  let handled = 0;
  const onEvent = () => { handled++; };
  // Loopback allowed: a good delivery is handled; unsigned is 401 as usual.
  await serve(createNodeHandler({ secret: 's', onEvent, seen: null, sources: { allow: ['127.0.0.1'] } }), async (url) => {
    assert.equal((await post(url, fixture, headers(fixture, 's'))).status, 200);
    assert.equal((await post(url, fixture, { 'x-commercelayer-topic': 'orders.place' })).status, 401);
  });
  // Commerce Layer's addresses only: loopback is refused, signed or not, whatever it claims.
  await serve(createNodeHandler({ secret: 's', onEvent, sources: { allow: 'commercelayer' } }), async (url) => {
    const refused = await post(url, fixture, { ...headers(fixture, 's'), 'x-forwarded-for': '54.246.59.198' });
    assert.deepEqual([refused.status, refused.json.error], [403, 'forbidden_source']);
    assert.equal((await post(url, 'not even json', {})).status, 403);
  });
  // Behind a trusted proxy (loopback here), X-Forwarded-For names the caller.
  const behind = { allow: 'commercelayer', proxies: ['127.0.0.1', '::1'], forwarded: 'x-forwarded-for' };
  await serve(createNodeHandler({ secret: 's', onEvent, seen: null, sources: behind }), async (url) => {
    assert.equal((await post(url, fixture, { ...headers(fixture, 's'), 'x-forwarded-for': '54.246.59.198' })).status, 200);
    assert.equal((await post(url, fixture, { ...headers(fixture, 's'), 'x-forwarded-for': '6.6.6.6' })).status, 403);
    assert.equal((await post(url, fixture, headers(fixture, 's'))).status, 403, 'no header: the proxy itself is the caller, not allowed');
  });
  assert.equal(handled, 2);
  // A fetch runtime without a peer, trusting its platform's header (a Worker's CF-Connecting-IP).
  const worker = { secret: 's', onEvent, seen: null, sources: { allow: 'commercelayer', forwarded: 'cf-connecting-ip' } };
  const from = (ip) => new Request('http://x/hooks', { method: 'POST', body: fixture, headers: { ...headers(fixture, 's'), 'cf-connecting-ip': ip } });
  assert.equal((await handleRequest(from('3.220.172.67'), worker)).status, 200);
  assert.equal((await handleRequest(from('3.220.172.68'), worker)).status, 403);
  // A bad list is refused when the receiver is made.
  assert.throws(() => new Webhooks({ secret: 's', sources: { allow: ['10.0.0.0/33'] } }), (e) => e.code === 'invalid_source');
  assert.throws(() => new Webhooks({ secret: 's', sources: { allow: [] } }), (e) => e.code === 'invalid_argument');
});

/** Sends a chunked body for at most `ms`, writing as fast as the socket takes it; resolves with the status and how much was written. */
async function endless(url, ms) {
  const { request } = await import('node:http');
  return new Promise((resolve) => {
    let written = 0;
    let status;
    const req = request(url, { method: 'POST', headers: headers(Buffer.from('x'), 's') });
    const chunk = Buffer.alloc(64 * 1024, 120);
    const stop = setTimeout(() => { req.destroy(); resolve({ status, written }); }, ms);
    const pump = () => {
      while (req.write(chunk)) {
        written += chunk.length;
        if (written > 512 * 1024 * 1024) break;
      }
    };
    req.on('drain', pump);
    req.on('response', (res) => {
      status = res.statusCode;
      res.resume();
      res.on('end', () => { clearTimeout(stop); req.destroy(); resolve({ status, written, closed: res.headers.connection }); });
    });
    req.on('error', () => { clearTimeout(stop); resolve({ status, written }); });
    pump();
  });
}

test('an endless or oversized body is answered 413 at the limit, not read to its end, and the connection closed', async () => {
  const max = 256 * 1024;
  for (const listener of [createNodeHandler({ secret: 's', maxBodyBytes: max }), express().use(expressMiddleware({ secret: 's', maxBodyBytes: max }))]) {
    await serve(listener, async (url) => {
      const got = await endless(url, 5000);
      assert.equal(got.status, 413);
      assert.equal(got.closed, 'close');
      // Stopped near the limit: far less than five seconds of loopback writes.
      assert.ok(got.written < 64 * max, `${got.written} bytes written`);
      // A declared length over the limit is refused before any byte is read.
      const declared = await fetch(url, { method: 'POST', body: new Uint8Array(max + 1), headers: headers(Buffer.from('x'), 's') });
      assert.equal(declared.status, 413);
      // The server still answers the next delivery.
      const body = document('orders', 'after');
      assert.equal((await post(url, body, headers(body, 's'))).status, 200);
    });
  }
  // The fetch handler stops reading a stream at the limit too.
  let pulled = 0;
  const stream = new ReadableStream({ pull(controller) { pulled += 65536; controller.enqueue(new Uint8Array(65536)); } });
  const request = new Request('http://127.0.0.1/hooks', { method: 'POST', body: stream, duplex: 'half', headers: headers(Buffer.from('x'), 's') });
  const res = await handleRequest(request, { secret: 's', maxBodyBytes: max });
  assert.equal(res.status, 413);
  assert.ok(pulled <= max + 4 * 65536, `${pulled} bytes pulled`);
  // A declared length is not taken on trust: a Request made by hand that says less than it
  // carries is held to the limit, and one within the limit is read.
  const lying = new Request('http://127.0.0.1/hooks', { method: 'POST', body: new Uint8Array(max + 1), headers: { ...headers(Buffer.from('x'), 's'), 'content-length': '10' } });
  assert.equal((await handleRequest(lying, { secret: 's', maxBodyBytes: max })).status, 413);
  const body = document('orders', 'declared');
  const declared = new Request('http://127.0.0.1/hooks', { method: 'POST', body, headers: { ...headers(body, 's'), 'content-length': String(body.length) } });
  assert.equal((await handleRequest(declared, { secret: 's', maxBodyBytes: max })).status, 200);
});

test('deliveries waiting side by side are each woken at their own time, in order, whether or not the earliest wake-up is cancelled first', async () => {
  const answered = [];
  const waiting = (name, timeoutMs, handler) => {
    const webhooks = new Webhooks({ secret: 's', handlerTimeoutMs: timeoutMs, onError: null });
    webhooks.on('orders.place', handler);
    return webhooks.process(delivery(document('orders', name), 's')).then(({ status }) => answered.push([name, status]));
  };
  const never = () => new Promise(() => {});
  // b's wake-up is the earliest and is cancelled when its handler ends; a's and c's still come.
  await Promise.all([
    waiting('a', 300, never),
    waiting('b', 150, () => new Promise((ok) => setTimeout(ok, 20))),
    waiting('c', 200, never),
  ]);
  assert.deepEqual(answered, [['b', 200], ['c', 503], ['a', 503]]);
});

test('a wake-up holds the process while an answer waits for it, and not after', () => {
  // A handler that never settles: its 503 comes from a wake-up, which must keep the process
  // alive (the top-level await would end it unsettled otherwise); once answered, what is left
  // (the claim's lease, 45 s) holds nothing, and the process ends.
  const code = `
    const { Webhooks, sign } = await import(${JSON.stringify(new URL('pkg/node.mjs', root).href)});
    const webhooks = new Webhooks({ secret: 's', handlerTimeoutMs: 100, onError: null });
    webhooks.on('orders.place', () => new Promise(() => {}));
    const body = '{"data":{"id":"x","type":"orders","attributes":{}}}';
    const { status } = await webhooks.process({ method: 'POST', body, headers: { 'x-commercelayer-signature': sign(body, 's'), 'x-commercelayer-topic': 'orders.place' } });
    console.log(status, process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length);`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
  // No timer holds the process once answered (an unref'd one is not listed).
  assert.deepEqual([run.signal, run.status, run.stdout.trim()], [null, 0, '503 0'], run.stderr);
});

test('a handler past handlerTimeoutMs: 503, its claim kept while it runs (copies 409), then recorded, so it runs once', async () => {
  let calls = 0;
  let finish;
  const told = [];
  const webhooks = new Webhooks({
    secret: 's',
    handlerTimeoutMs: 100,
    storeTimeoutMs: 20,
    leaseMs: 2000,
    onEvent: () => { calls++; return new Promise((resolve) => { finish = resolve; }); },
    onError: (error) => told.push(error.code),
  });
  const body = document('orders', 'slow');
  const answer = await webhooks.process(delivery(body, 's'));
  assert.equal(answer.status, 503);
  assert.equal(JSON.parse(answer.body).error, 'handler_timeout');
  // Commerce Layer's retry while the handler still runs: in flight, not run a second time.
  assert.equal((await webhooks.process(delivery(body, 's'))).status, 409);
  finish();
  await new Promise((resolve) => setTimeout(resolve, 10));
  // It ended well: recorded, so the next retry is a duplicate.
  assert.equal(JSON.parse((await webhooks.process(delivery(body, 's'))).body).duplicate, true);
  assert.equal(calls, 1);
  assert.deepEqual(told, []);
  assert.equal(webhooks.receiver.handlerTimeoutMs, 100);
  assert.equal(new Webhooks({ secret: 's' }).receiver.handlerTimeoutMs, 30000);
});

test('a handler that never settles: 503, copies 409 until the claim\'s lease ends, then the claim is released and the retry runs', async () => {
  let calls = 0;
  const webhooks = new Webhooks({
    secret: 's',
    handlerTimeoutMs: 50,
    storeTimeoutMs: 20,
    leaseMs: 150,
    onEvent: () => (++calls === 1 ? new Promise(() => {}) : undefined),
  });
  const body = document('orders', 'stuck');
  const first = webhooks.process(delivery(body, 's'));
  assert.equal((await webhooks.process(delivery(body, 's'))).status, 409);
  assert.equal(JSON.parse((await first).body).error, 'handler_timeout');
  assert.equal((await webhooks.process(delivery(body, 's'))).status, 409, 'within the lease');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal((await webhooks.process(delivery(body, 's'))).status, 200, 'past the lease');
  assert.equal(calls, 2);
  assert.equal(JSON.parse((await webhooks.process(delivery(body, 's'))).body).duplicate, true);
  assert.equal(webhooks.receiver.sessionsUnderWay, 0, 'no session is kept for the stuck handler');
});

test('a handler still running at Commerce Layer\'s 5 s: onError told deadline_exceeded once, naming the fix; then recorded', async () => {
  const told = [];
  const webhooks = new Webhooks({
    secret: 's',
    onEvent: () => new Promise((resolve) => setTimeout(resolve, 5300)),
    onError: (error, event) => told.push([error.code, error.status, error.message, event.id]),
  });
  const body = document('orders', 'late');
  const started = performance.now();
  const answer = await webhooks.process(delivery(body, 's'));
  assert.ok(performance.now() - started >= 5000);
  // Answered 200 once done (Commerce Layer has given up by then, and counts a failure).
  assert.equal(answer.status, 200);
  assert.equal(told.length, 1);
  const [[code, status, message, id]] = told;
  assert.deepEqual([code, status, id], ['deadline_exceeded', 503, 'late']);
  assert.match(message, /5 s deadline.*queue/s);
  assert.equal(JSON.parse((await webhooks.process(delivery(body, 's'))).body).duplicate, true);
});

test('options are checked when the receiver is made, each with a WebhookError', () => {
  const bad = [
    { secret: 's', maxBodyBytes: 'abc' }, { secret: 's', maxBodyBytes: 1.5 }, { secret: 's', maxBodyBytes: -1 },
    { secret: 's', handlerTimeoutMs: 'soon' }, { secret: 's', duplicates: 'drop' }, { secret: 's', onEvent: 5 },
    { secret: 's', onError: 'log' }, { secret: 's', seen: 5 }, { secret: 's', seen: { claim() {} } }, null, 'secret',
  ];
  for (const options of bad) {
    assert.throws(() => new Webhooks(options), (e) => e instanceof WebhookError && e.code === 'invalid_argument', JSON.stringify(options));
  }
  assert.throws(() => new Webhooks({ secret: 's' }).on('orders.*', 5), (e) => e instanceof WebhookError && e.code === 'invalid_argument');
  for (const options of [{ max: 'x' }, { max: -1 }, { max: 1.5 }, null]) {
    assert.throws(() => createMemoryStore(options), (e) => e instanceof WebhookError && e.code === 'invalid_argument');
  }
  assert.throws(() => clhooks.denormalize('{}', { maxDepth: 'x' }), (e) => e instanceof WebhookError);
  for (const maxDepth of ['x', -1, 1e20, 0.5, {}]) {
    const doc = JSON.parse(fixture);
    assert.throws(() => clhooks.denormalize(doc, { maxDepth }), (e) => e instanceof WebhookError && e.code === 'invalid_argument');
  }
});

test('a failure of the wasm instance is a WebhookError (core_failed), and a fresh instance serves the next call', async () => {
  const handled = [];
  const webhooks = new Webhooks({ secret: 's', onEvent: (e) => handled.push(e.id), maxBodyBytes: 1000 });
  const verifier = new clhooks.Verifier(['s']);
  const store = createMemoryStore();
  const before = document('orders', 'before');
  assert.equal((await webhooks.process(delivery(before, 's'))).status, 200);
  // Four GiB to copy into the wasm: its allocation fails, and the instance traps.
  let huge;
  try {
    huge = new Uint8Array(2 ** 32 - 16);
  } catch {
    return; // This Node cannot make the array: nothing to trap with.
  }
  assert.throws(() => sign(huge, 's'), (e) => e instanceof WebhookError && e.code === 'core_failed' && e.status === 500);
  huge = undefined;
  // Everything made before works on the fresh instance: the receiver (its routes and limits),
  // a Verifier, a store (empty now: what the failed instance held is not trusted).
  const after = document('orders', 'after');
  assert.equal((await webhooks.process(delivery(after, 's'))).status, 200);
  assert.deepEqual(handled, ['before', 'after']);
  assert.equal(webhooks.maxBodyBytes, 1000);
  const large = document('orders', 'x'.repeat(1000));
  assert.equal((await webhooks.process(delivery(large, 's'))).status, 413);
  assert.doesNotThrow(() => verifier.verify(after, sign(after, 's')));
  assert.equal(store.claim('k'), 'fresh');
  assert.equal(clhooks.receive(after, headers(after, 's'), 's').id, 'after');
  assert.equal(clhooks.simulate({ webhooks: [], events: [] }).timeline.length, 0);
});

test('arguments that cannot be read are WebhookErrors, never a TypeError or a raw throw', async () => {
  const body = document('orders', 'x');
  const signature = sign(body, 's');
  const detached = () => {
    const bytes = new Uint8Array(body);
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    return bytes;
  };
  const isInvalid = (e) => e instanceof WebhookError && e.code === 'invalid_argument';
  assert.throws(() => clhooks.verify(detached(), signature, 's'), (e) => e instanceof WebhookError);
  assert.throws(() => clhooks.receive(detached(), headers(body, 's'), 's'), (e) => e instanceof WebhookError);
  assert.throws(() => sign(detached(), 's'), (e) => e instanceof WebhookError);
  const throwing = new Proxy({}, { get() { throw new Error('boom'); }, ownKeys() { throw new Error('boom'); } });
  assert.throws(() => clhooks.receive(body, throwing, 's'), isInvalid);
  const secrets = ['s'];
  Object.defineProperty(secrets, 0, { get() { throw new Error('boom-elem'); } });
  assert.throws(() => clhooks.verify(body, signature, secrets), (e) => e instanceof WebhookError);
  assert.throws(() => new clhooks.Verifier(secrets), (e) => e instanceof WebhookError);
  const freed = new clhooks.Verifier('s');
  freed.free();
  freed.free();
  assert.throws(() => freed.verify(body, signature), isInvalid);
  assert.throws(() => freed.secretCount, isInvalid);
  await assert.rejects(freed.verifyAsync(Buffer.alloc(4096), signature), isInvalid);
  assert.throws(() => clhooks.receive(body, headers(body, 's'), freed), isInvalid);
  const event = clhooks.receive(body, headers(body, 's'), 's');
  event.document = null;
  assert.throws(() => event.denormalize(), (e) => e instanceof WebhookError);
  assert.throws(() => clhooks.denormalize(throwing), (e) => e instanceof WebhookError);
  await assert.rejects(handleRequest(null, { secret: 's' }), isInvalid);
  // A Webhooks made with a freed Verifier is refused when it is made.
  assert.throws(() => new Webhooks({ secret: freed }), (e) => e instanceof WebhookError);
});

test("keyScope: 'body' makes one signed body one delivery, whatever topic it is sent with", async () => {
  const body = document('orders', 'same');
  for (const [keyScope, want] of [[undefined, 3], ['topic-and-body', 3], ['body', 1]]) {
    let runs = 0;
    const webhooks = new Webhooks({ secret: 's', keyScope, onEvent: () => { runs++; } });
    for (const topic of ['orders.place', 'orders.approve', 'orders.cancel']) {
      assert.equal((await webhooks.process(delivery(body, 's', topic))).status, 200);
    }
    assert.equal(runs, want, String(keyScope));
  }
  assert.throws(() => new Webhooks({ secret: 's', keyScope: 'topic' }), (e) => e instanceof WebhookError && e.code === 'invalid_argument');
});

// A store as a shared one is driven: what it was asked, and what it answers.
function recordingStore(answer = async () => 'fresh') {
  const calls = [];
  return {
    calls,
    claim: (key, terms) => {
      calls.push(['claim', terms]);
      return answer(key, terms);
    },
    done: async (key, terms) => void calls.push(['done', terms]),
    release: async () => void calls.push(['release']),
  };
}

test("a store is asked for the core's terms: the lease past the handler timeout, handled keys kept for the retry window", async () => {
  const seen = recordingStore();
  const webhooks = new Webhooks({ secret: 's', seen, onEvent: () => {} });
  assert.equal((await webhooks.process(delivery(fixture, 's'))).status, 200);
  assert.deepEqual(seen.calls, [['claim', { leaseMs: 45_000, keepMs: 15_525_000, waitMs: 2_000 }], ['done', { leaseMs: 45_000, keepMs: 15_525_000, waitMs: 2_000 }]]);
  const chosen = recordingStore();
  const custom = new Webhooks({ secret: 's', seen: chosen, handlerTimeoutMs: 1_000, keepMs: 60_000, onEvent: () => { throw new Error('x'); } });
  assert.equal((await custom.process(delivery(fixture, 's'))).status, 500);
  assert.deepEqual(chosen.calls, [['claim', { leaseMs: 16_000, keepMs: 60_000, waitMs: 2_000 }], ['release']], 'the lease: 13 s past the handler timeout and the store wait');
  for (const options of [{ leaseMs: 30_000 }, { leaseMs: 31_000 }, { leaseMs: 0 }, { keepMs: 0 }, { leaseMs: 1_001, handlerTimeoutMs: 1_000 }, { leaseMs: 1_000, handlerTimeoutMs: 2_000 }, { inFlight: 'wait' }, { storeTimeoutMs: -1 }]) {
    assert.throws(() => new Webhooks({ secret: 's', seen: recordingStore(), ...options }),
      (e) => e instanceof WebhookError && e.code === 'invalid_argument', JSON.stringify(options));
  }
});

test('a store that is down, throws or is too slow: 503 store_unavailable (Commerce Layer retries), never a 200, and no handler runs', async () => {
  let handled = 0;
  const onEvent = () => { handled++; };
  const stores = {
    rejects: recordingStore(async () => { throw new Error('ECONNREFUSED 127.0.0.1:6379'); }),
    throws: recordingStore(() => { throw new Error('the client is closed'); }),
    slow: recordingStore(() => new Promise((resolve) => setTimeout(() => resolve('fresh'), 400))),
  };
  for (const [name, seen] of Object.entries(stores)) {
    const webhooks = new Webhooks({ secret: 's', seen, onEvent, storeTimeoutMs: 100 });
    const answer = await webhooks.process(delivery(fixture, 's'));
    assert.equal(answer.status, 503, name);
    assert.equal(JSON.parse(answer.body).error, 'store_unavailable', name);
  }
  assert.equal(handled, 0);
  // The slow claim came back fresh after the 503: released at once, so the retry runs.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(stores.slow.calls.map(([call]) => call), ['claim', 'release']);
  await serve(new Webhooks({ secret: 's', seen: stores.rejects, onEvent }).nodeHandler(), async (url) => {
    assert.equal((await post(url, fixture, headers(fixture, 's'))).status, 503);
  });
});

test('a store that cannot record a handled key changes no answer (the work is done); onError is told', async () => {
  const errors = [];
  const seen = { claim: async () => 'fresh', done: async () => { throw new Error('READONLY'); }, release: async () => {} };
  const webhooks = new Webhooks({ secret: 's', seen, onEvent: () => {}, onError: (error) => errors.push(error.code) });
  assert.equal((await webhooks.process(delivery(fixture, 's'))).status, 200);
  assert.deepEqual(errors, ['store_unavailable']);
});

test("a copy being handled elsewhere: 409 by default, 200 with inFlight: 'accept'", async () => {
  const busy = () => recordingStore(async () => 'in_flight');
  const retry = await new Webhooks({ secret: 's', seen: busy() }).process(delivery(fixture, 's'));
  assert.deepEqual([retry.status, JSON.parse(retry.body).error], [409, 'in_flight']);
  const accept = await new Webhooks({ secret: 's', seen: busy(), inFlight: 'accept' }).process(delivery(fixture, 's'));
  assert.deepEqual([accept.status, JSON.parse(accept.body)], [200, { received: 'orders.place', in_flight: true }]);
});

test("a handler's failure goes to console.error unless onError says otherwise, and null silences it", async () => {
  const logged = [];
  const error = console.error;
  console.error = (...args) => logged.push(args);
  try {
    const failing = (options) => new Webhooks({ secret: 's', onEvent: () => { throw new Error('boom'); }, ...options });
    assert.equal((await failing({}).process(delivery(fixture, 's'))).status, 500);
    assert.equal(logged.length, 1);
    assert.match(logged[0][0], /^clhooks: a delivery failed \(orders\.place wBXVhZOmXO\)/);
    assert.equal(logged[0][1].message, 'boom');
    assert.equal((await failing({ onError: null }).process(delivery(fixture, 's'))).status, 500);
    const told = [];
    assert.equal((await failing({ onError: (e) => told.push(e.message) }).process(delivery(fixture, 's'))).status, 500);
    assert.deepEqual([logged.length, told], [1, ['boom']]);
  } finally {
    console.error = error;
  }
});

test('handleRequest rejects options it cannot use with a WebhookError, never a TypeError or a synchronous throw', async () => {
  const request = () => new Request('http://x/hooks', { method: 'POST', body: fixture, headers: headers(fixture, 's') });
  for (const [options, code] of [[null, 'invalid_argument'], [42, 'invalid_argument'], [{}, 'missing_secret'], [{ secret: '' }, 'empty_secret']]) {
    let pending;
    assert.doesNotThrow(() => { pending = handleRequest(request(), options); });
    await assert.rejects(pending, (error) => error instanceof WebhookError && error.code === code, `${JSON.stringify(options)} → ${code}`);
  }
});

test('a body a parser read first is said once on the console, with the fix, unless onError is set', async () => {
  const logged = [];
  const error = console.error;
  console.error = (...args) => logged.push(args.join(' '));
  try {
    const app = express();
    app.use(express.json());
    app.post('/hooks', new Webhooks({ secret: 's', onEvent: () => {} }).express());
    app.post('/quiet', new Webhooks({ secret: 's', onEvent: () => {}, onError: () => {} }).express());
    await serve(app, async (url) => {
      const json = { 'content-type': 'application/json' };
      for (let i = 0; i < 3; i++) assert.equal((await post(url, fixture, headers(fixture, 's', 'orders.place', json))).status, 500);
      assert.equal((await post(url.replace(/hooks$/, 'quiet'), fixture, headers(fixture, 's', 'orders.place', json))).status, 500);
    });
    assert.equal(logged.length, 1);
    assert.match(logged[0], /^clhooks: every delivery to this receiver will fail until its setup is fixed: express\.json\(\)/);
  } finally {
    console.error = error;
  }
});
