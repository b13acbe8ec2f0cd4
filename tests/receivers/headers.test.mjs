// The two delivery headers found in every shape of headers a runtime hands over, through the
// built package: `receive` (a Verifier's) and `Webhooks.process` must read them alike, names in
// any ASCII case, the first usable value of each. Run with `node --test tests/receivers/` after
// `make pkg`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const root = new URL('../../', import.meta.url);
const { Webhooks, receive, sign, WebhookError } = await import(new URL('pkg/node.mjs', root));

const secret = 'headers-secret';
const body = Buffer.from('{"data":{"id":"o1","type":"orders","attributes":{}}}');
const signature = sign(body, secret);

/** What `receive` gives for these headers: 'ok' or the error's code. */
const received = (headers) => {
  try {
    const event = receive(body, headers, secret);
    assert.equal(event.topic, 'orders.place');
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof WebhookError, String(error));
    return error.code;
  }
};

/** What `Webhooks.process` answers for these headers: 'ok' or the answer's code. */
const processed = async (headers) => {
  const webhooks = new Webhooks({ secret, seen: null, onEvent: () => {} });
  try {
    const answer = await webhooks.process({ method: 'POST', body, headers });
    return answer.status === 200 ? 'ok' : JSON.parse(answer.body).error;
  } catch (error) {
    assert.ok(error instanceof WebhookError, String(error));
    return error.code;
  }
};

/** A fetch Headers with each pair appended. */
function headersWith(pairs) {
  const headers = new Headers();
  for (const [name, value] of pairs) headers.append(name, value);
  return headers;
}

/** An iterable of pairs that throws after giving `pairs` (each iteration afresh). */
const breaking = (pairs) => ({
  *[Symbol.iterator]() {
    yield* pairs;
    throw new Error('the stream of headers broke');
  },
});

const cases = [
  ['Node-style object, lowercase names', { 'x-commercelayer-signature': signature, 'x-commercelayer-topic': 'orders.place' }, 'ok'],
  ['object, names in odd case', { 'X-COMMERCELAYER-Signature': signature, 'x-CommerceLayer-topic': 'orders.place' }, 'ok'],
  ['object, array values (the first string counts)', { 'x-commercelayer-signature': [7, signature, 'x'], 'x-commercelayer-topic': ['orders.place'] }, 'ok'],
  ['object, an unusable value is passed over for a later name', { 'X-CommerceLayer-Signature': null, 'x-commercelayer-signature': signature, 'x-commercelayer-topic': 'orders.place' }, 'ok'],
  ['object, the first usable value counts', { 'X-CommerceLayer-Signature': 'AAAA', 'x-commercelayer-signature': signature, 'x-commercelayer-topic': 'orders.place' }, 'malformed_signature'],
  ['object, a whole-number topic is its digits', { 'x-commercelayer-signature': signature, 'x-commercelayer-topic': 42 }, 'invalid_topic'],
  ['object, a fractional topic is no value', { 'x-commercelayer-signature': signature, 'x-commercelayer-topic': 4.2 }, 'missing_topic'],
  ['object, a getter that throws is no value', { 'x-commercelayer-signature': signature, get 'x-commercelayer-topic'() { throw new Error('no'); } }, 'missing_topic'],
  // U+017F (long s) is an 'S' to Unicode's case mapping, not to ASCII's.
  ['object, a name with a long s is not the header', { 'x-commercelayer-\u017fignature': signature, 'x-commercelayer-topic': 'orders.place' }, 'missing_signature'],
  ['pairs, the first of a name counts', [['x-commercelayer-signature', signature], ['X-CommerceLayer-Signature', 'AAAA'], ['x-commercelayer-topic', 'orders.place']], 'ok'],
  ['pairs, entries that are not pairs are passed over', [null, 'x-commercelayer-signature', [1, signature], ['x-commercelayer-signature', signature], ['x-commercelayer-topic', 'orders.place']], 'ok'],
  ['a Map', new Map([['X-CommerceLayer-Signature', signature], ['X-CommerceLayer-Topic', 'orders.place']]), 'ok'],
  ['a fetch Headers', new Headers({ 'X-CommerceLayer-Signature': signature, 'X-CommerceLayer-Topic': 'orders.place' }), 'ok'],
  ['a fetch Headers among a platform\'s', new Headers({ 'cf-ray': 'x', 'X-CommerceLayer-Topic': 'orders.place', 'x-forwarded-for': '1.2.3.4', 'X-CommerceLayer-Signature': signature }), 'ok'],
  ['a fetch Headers with the signature given twice (one value, joined)', headersWith([['x-commercelayer-signature', signature], ['x-commercelayer-signature', signature], ['x-commercelayer-topic', 'orders.place']]), 'malformed_signature'],
  ['a fetch Headers without a topic', new Headers({ 'X-CommerceLayer-Signature': signature }), 'missing_topic'],
  ['an iterable that breaks keeps what it gave', breaking([['x-commercelayer-signature', signature], ['x-commercelayer-topic', 'orders.place']]), 'ok'],
  ['an iterable that breaks before the topic', breaking([['x-commercelayer-signature', signature]]), 'missing_topic'],
  ['no headers', undefined, 'missing_signature'],
  ['an empty object', {}, 'missing_signature'],
  ['a string is not headers', 'x-commercelayer-signature: abc', 'invalid_argument'],
  ['a number is not headers', 7, 'invalid_argument'],
];

for (const [name, headers, expected] of cases) {
  test(`headers: ${name}`, async () => {
    assert.equal(received(headers), expected, 'receive');
    assert.equal(await processed(headers), expected, 'Webhooks.process');
  });
}

test('headers whose iterator cannot be made are refused as unreadable', () => {
  const headers = { [Symbol.iterator]() { throw new Error('no iterator'); } };
  assert.throws(() => receive(body, headers, secret), (error) => error.code === 'invalid_argument' && /could not be read/.test(error.message));
});

test("the allow-list's forwarded header is read as the delivery headers are", () => {
  const webhooks = new Webhooks({ secret, seen: null, sources: { allow: ['203.0.113.7'], forwarded: 'CF-Connecting-IP' } });
  const status = (headers) => webhooks.refused(undefined, headers)?.status ?? 'admitted';
  const shapes = (value) => [
    { 'cf-connecting-ip': value },
    { 'CF-CONNECTING-IP': [value] },
    [['Cf-Connecting-Ip', value]],
    new Map([['cf-connecting-ip', value]]),
    new Headers({ 'CF-Connecting-IP': value }),
  ];
  for (const headers of shapes('203.0.113.7')) assert.equal(status(headers), 'admitted');
  for (const headers of shapes('198.51.100.1')) assert.equal(status(headers), 403);
  // No such header: the caller is not known to be on the list.
  assert.equal(status({ 'x-forwarded-for': '203.0.113.7' }), 403);
  assert.throws(() => webhooks.refused(undefined, 7), (error) => error.code === 'invalid_argument');
});
