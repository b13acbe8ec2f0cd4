// A Verifier's `receive` takes a short way for a string or a Uint8Array body: the headers' values
// and the host's tags (or a small body) written into the core's memory, the outline after them,
// and two calls to the core. Anything else (an ArrayBuffer, a DataView) takes the long way, one
// call that reads every value across. Both must give the same event or the same error for
// every delivery: the shared vectors, and the edges of the short way (the size of what is
// written, rotation, values that are not ASCII, an outline too long for it). Run with
// `node --test tests/receivers/` after `make pkg`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bodyBytes } from '../packaging/vectors.mjs';

const root = new URL('../../', import.meta.url);
const { Verifier, Webhooks, createMemoryStore, sign, WebhookError } = await import(new URL('pkg/node.mjs', root));
const vectors = JSON.parse(readFileSync(new URL('tests/vectors/payloads.json', root), 'utf8'));
const fixture = readFileSync(new URL('tests/vectors/orders-place-payload.json', root));

/** A vector's body as bytes, as every runtime's vectors read it. */
const bytesOf = (spec) => bodyBytes(spec, { fixture: new Uint8Array(fixture) });

/** Everything a caller can see of what `receive` gave: the event's members, or the error's. */
function outcome(run) {
  let event;
  try {
    event = run();
  } catch (error) {
    assert.ok(error instanceof WebhookError, String(error && error.stack));
    return { error: { code: error.code, message: error.message, status: error.status, details: error.details } };
  }
  let denormalized;
  try {
    denormalized = event.denormalize();
  } catch (error) {
    denormalized = { error: error.code };
  }
  return {
    fields: { ...event },
    idempotencyKey: event.idempotencyKey,
    denormalized,
  };
}

/** The same delivery through the short way (`bytes`, as given) and the long way (an ArrayBuffer and a DataView of the same bytes). */
function sameBothWays(verifier, bytes, headers, name) {
  const short = outcome(() => verifier.receive(bytes, headers));
  const copy = () => bytes.slice().buffer;
  assert.deepEqual(outcome(() => verifier.receive(copy(), headers)), short, `${name}: ArrayBuffer`);
  assert.deepEqual(outcome(() => verifier.receive(new DataView(copy()), headers)), short, `${name}: DataView`);
  return short;
}

test('every shared receive vector gives the same event or error both ways, as bytes and as text', () => {
  for (const c of vectors.receive) {
    const verifier = new Verifier(c.secrets);
    const headers = Object.fromEntries(c.headers.map(([k, v]) => [k.toLowerCase(), v]));
    const bytes = bytesOf(c.body);
    const got = sameBothWays(verifier, bytes, headers, c.name);
    assert.equal(got.error ? got.error.code : 'ok', c.expect, c.name);
    // The same bytes as text take the short way too: the same event or error as the long way.
    const text = Buffer.from(bytes).toString('utf8');
    if (Buffer.from(text, 'utf8').equals(Buffer.from(bytes))) {
      assert.deepEqual(outcome(() => verifier.receive(text, headers)), got, `${c.name}: text`);
    }
  }
});

test('the edges of the short way: bodies around the host\'s threshold and the scratch, rotation, odd header values', () => {
  const secret = 'written-secret';
  const verifier = new Verifier(secret);
  const rotated = new Verifier(['old-secret', secret]);
  const topic = 'orders.place';
  const document = (n) => `{"data":{"id":"o1","type":"orders","attributes":{"note":"${'n'.repeat(n)}"}}}`;
  // Bodies written into the scratch (under the host's 1 KiB threshold in Node) and ones whose
  // host tags are written instead, from a few bytes to 44 KB.
  for (const n of [0, 900, 950, 952, 953, 1000, 3500, 4100, 44000]) {
    const bytes = new Uint8Array(Buffer.from(document(n)));
    const signature = sign(bytes, secret);
    for (const v of [verifier, rotated]) {
      const got = sameBothWays(v, bytes, { 'x-commercelayer-signature': signature, 'x-commercelayer-topic': topic }, `body of ${bytes.length}`);
      assert.equal(got.error, undefined, `body of ${bytes.length}`);
      assert.equal(got.fields.type, 'orders');
      const wrong = sameBothWays(v, bytes, { 'x-commercelayer-signature': sign(bytes, 'another'), 'x-commercelayer-topic': topic }, `wrong, ${bytes.length}`);
      assert.equal(wrong.error.code, 'signature_mismatch');
    }
  }
  // Text of 1,000 UTF-16 units, 3,000 bytes of UTF-8 (under the threshold: written whole), and
  // text too long to be written (the long way).
  for (const note of ['€'.repeat(990), '€'.repeat(1300)]) {
    const text = `{"data":{"id":"o1","type":"orders","attributes":{"note":"${note}"}}}`;
    const headers = { 'x-commercelayer-signature': sign(text, secret), 'x-commercelayer-topic': topic };
    const asText = outcome(() => verifier.receive(text, headers));
    assert.equal(asText.error, undefined);
    assert.deepEqual(outcome(() => verifier.receive(new Uint8Array(Buffer.from(text)).buffer, headers)), asText);
  }
  const bytes = new Uint8Array(Buffer.from(document(10)));
  const signature = sign(bytes, secret);
  const cases = {
    'a topic with spaces around it': [signature, '  orders.place '],
    'a topic that is not ASCII': [signature, 'ordérs.place'],
    'a signature that is not ASCII': [`é${signature.slice(1)}`, topic],
    'a signature of 5000 characters': ['A'.repeat(5000), topic],
    'a topic of 5000 characters': [signature, `orders.${'p'.repeat(4990)}`],
    'an unknown topic of the same resource': [signature, 'orders.something_new'],
    'a topic of another resource': [signature, 'skus.create'],
    'an empty topic': [signature, ''],
  };
  for (const [name, [sig, top]] of Object.entries(cases)) {
    sameBothWays(verifier, bytes, { 'x-commercelayer-signature': sig, 'x-commercelayer-topic': top }, name);
  }
  // Values that are not strings (Node gives strings, a caller may not): the first string of an
  // array, nothing for an object.
  sameBothWays(verifier, bytes, { 'x-commercelayer-signature': signature, 'x-commercelayer-topic': [7, topic] }, 'an array topic');
  sameBothWays(verifier, bytes, { 'x-commercelayer-signature': signature, 'x-commercelayer-topic': { topic } }, 'an object topic');
  sameBothWays(verifier, bytes, { 'x-commercelayer-signature': signature }, 'no topic');
});

test('an outline longer than the short way holds is read the long way, with the same event', () => {
  const secret = 'written-secret';
  const verifier = new Verifier(secret);
  const included = Array.from({ length: 3000 }, (_, i) => ({ id: `s${i}`, type: 'skus', attributes: { code: `C${i}` } }));
  const document = {
    data: { id: 'o1', type: 'orders', attributes: {}, relationships: { skus: { data: included.map(({ id, type }) => ({ id, type })) } } },
    included,
  };
  const bytes = new Uint8Array(Buffer.from(JSON.stringify(document)));
  const headers = { 'x-commercelayer-signature': sign(bytes, secret), 'x-commercelayer-topic': 'orders.place' };
  const got = sameBothWays(verifier, bytes, headers, 'a long outline');
  assert.equal(got.fields.included.length, 3000);
  assert.equal(got.denormalized.skus.length, 3000);
});

test('the real orders.place is the same event both ways, one call after another', () => {
  const verifier = new Verifier('1c0994cc4e996e8c6ee56a2198f66f3c');
  const headers = { 'x-commercelayer-signature': 'P2mv7/CJKc6UH7AjpjB+ChDEqp9EhhM5S0YWJVjTM2k=', 'x-commercelayer-topic': 'orders.place' };
  const first = sameBothWays(verifier, new Uint8Array(fixture), headers, 'fixture');
  // Interleaved with refusals, which take the long way: nothing of one is left for the next.
  for (let i = 0; i < 3; i++) {
    assert.equal(outcome(() => verifier.receive(new Uint8Array(fixture), { ...headers, 'x-commercelayer-topic': 'skus.create' })).error.code, 'topic_mismatch');
    assert.deepEqual(outcome(() => verifier.receive(new Uint8Array(fixture), headers)), first);
    assert.deepEqual(outcome(() => verifier.receive(fixture.toString('utf8'), headers)), first);
  }
});

// A receiver (`Webhooks`) takes the short way for a Uint8Array body read whole, the long way
// for the same bytes as an ArrayBuffer: the same answer, the same event handed to the
// handlers, and the same calls to the store, in the same order.
const receiverCases = JSON.parse(readFileSync(new URL('tests/vectors/receiver.json', root), 'utf8'));

/** A seen-store that writes down every call, synchronous or asynchronous. */
function recordingStore(log, async) {
  const claims = new Map();
  const answer = (value) => (async ? Promise.resolve(value) : value);
  return {
    claim(key, terms) {
      log.push(['claim', key, terms]);
      const state = claims.get(key);
      if (state === 'done') return answer('duplicate');
      if (state === 'held') return answer('in_flight');
      claims.set(key, 'held');
      return answer('fresh');
    },
    done(key, terms) {
      log.push(['done', key, terms]);
      claims.set(key, 'done');
      return answer(undefined);
    },
    release(key) {
      log.push(['release', key]);
      claims.delete(key);
      return answer(undefined);
    },
  };
}

/** Every request of receiver.json, then each a second time, through one receiver: what came out. */
async function throughReceiver(seen, asBody) {
  const log = [];
  const store = seen === 'sync' || seen === 'async' ? recordingStore(log, seen === 'async') : seen;
  const options = { secret: receiverCases.secrets, maxBodyBytes: receiverCases.max_body_bytes };
  const webhooks = new Webhooks(store === 'memory' ? options : { ...options, seen: store });
  let failNext = false;
  receiverCases.routes.forEach((pattern, index) => webhooks.on(pattern, (event) => {
    log.push(['handler', index, { ...event }, event.idempotencyKey, event.duplicate]);
    if (failNext) throw new Error('failing on purpose');
  }));
  const cases = [...receiverCases.requests, ...receiverCases.sequence];
  for (const c of [...cases, ...cases]) {
    failNext = c.handler === 'fail';
    const bytes = bodyBytes(c.body, { fixture: new Uint8Array(fixture) });
    const answer = await webhooks.process({ method: c.method ?? 'POST', headers: c.headers, body: asBody(bytes) });
    log.push(['answer', c.name, answer.status, answer.body]);
  }
  return log;
}

test('a receiver gives the same answers, events and store calls both ways, with every kind of store', async () => {
  for (const seen of [null, 'memory', 'sync', 'async']) {
    const short = await throughReceiver(seen, (bytes) => bytes);
    const long = await throughReceiver(seen, (bytes) => bytes.slice().buffer);
    assert.deepEqual(long, short, `seen: ${seen}`);
    assert.ok(short.some(([what, , status]) => what === 'answer' && status === 200), `seen: ${seen}: some deliveries were taken`);
  }
});

test('a memory store whose claim is wrapped, or behind a Proxy, is called as any store', async () => {
  const fixtureHeaders = receiverCases.requests[0].headers;
  const body = new Uint8Array(fixture);
  const wrapped = createMemoryStore();
  const claims = [];
  const claim = wrapped.claim.bind(wrapped);
  wrapped.claim = (key, terms) => {
    claims.push(key);
    return claim(key, terms);
  };
  const proxied = new Proxy(createMemoryStore(), {
    get: (target, name) => (typeof target[name] === 'function' ? target[name].bind(target) : target[name]),
  });
  for (const seen of [wrapped, proxied]) {
    const webhooks = new Webhooks({ secret: receiverCases.secrets, seen, onEvent: () => {} });
    const first = await webhooks.process({ method: 'POST', headers: fixtureHeaders, body });
    const again = await webhooks.process({ method: 'POST', headers: fixtureHeaders, body });
    assert.equal(first.status, 200);
    assert.deepEqual([again.status, JSON.parse(again.body).duplicate], [200, true]);
  }
  assert.equal(claims.length, 2, 'the wrapped claim saw both deliveries');
});
