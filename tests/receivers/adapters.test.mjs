// The framework adapters — the Fastify plugin (real `fastify`) and the Lambda handler (API
// Gateway REST v1, HTTP API v2 and Function URL events, written here from AWS's documented
// shapes) — answer every exchange of tests/vectors/receiver.json as the core does, plus what
// is theirs: Fastify's JSON parsing left on for the rest of the app, header case and
// multi-value headers, base64 bodies, step 0 from the caller's address.
// Run with `node --test tests/receivers/` after `make pkg`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = new URL('../../', import.meta.url);
const { sign, Webhooks } = await import(new URL('pkg/node.mjs', root));
const { default: clhooksFastify } = await import(new URL('pkg/fastify.mjs', root));
const { createLambdaHandler } = await import(new URL('pkg/lambda.mjs', root));
const { bodyBytes } = await import(new URL('tests/packaging/vectors.mjs', root));
const require = createRequire(import.meta.url);
const Fastify = require(fileURLToPath(new URL('node_modules/fastify', root)));
const vectors = JSON.parse(readFileSync(new URL('tests/vectors/receiver.json', root), 'utf8'));
const files = { fixture: new Uint8Array(readFileSync(new URL('tests/vectors/orders-place-payload.json', root))) };

/** A receiver's options as the vectors set it up, recording what its handlers saw. */
function setup() {
  const seen = { routes: [], key: null, fail: false };
  const options = { secret: vectors.secrets, maxBodyBytes: vectors.max_body_bytes };
  const webhooks = new Webhooks(options);
  vectors.routes.forEach((pattern, index) => webhooks.on(pattern, (event) => {
    seen.routes.push(index);
    seen.key = event.idempotencyKey;
    if (seen.fail) throw new Error('failing on purpose');
  }));
  return { webhooks, seen };
}

/** Each exchange (then the sequence) through `send(case) → { status, body }`, compared with the vector. */
async function runVectors(name, send, seen) {
  for (const c of [...vectors.requests, ...vectors.sequence]) {
    seen.routes = [];
    seen.key = null;
    seen.fail = c.handler === 'fail';
    const { status, body } = await send(c);
    let json = {};
    try {
      json = JSON.parse(body);
    } catch {
      json = { error: `not JSON: ${String(body).slice(0, 60)}` };
    }
    const got = { status, error: json.error ?? null, duplicate: json.duplicate === true };
    if (c.expect.routes) Object.assign(got, { routes: seen.routes, idempotency_key: seen.key });
    assert.deepEqual(got, c.expect, `${name}: ${c.name}`);
  }
}

test('Fastify: the plugin answers every shared exchange as the core does, with JSON parsing on for the rest of the app', async () => {
  const { webhooks, seen } = setup();
  const app = Fastify();
  app.post('/orders', async (request) => ({ parsed: request.body.data.id }));
  app.register(clhooksFastify, { webhooks, path: '/webhooks' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${app.server.address().port}`;
  try {
    await runVectors('fastify', async (c) => {
      const body = bodyBytes(c.body, files);
      const method = c.method ?? 'POST';
      const res = await fetch(`${url}/webhooks`, { method, headers: c.headers, body: method === 'GET' || method === 'HEAD' ? undefined : body });
      return { status: res.status, body: await res.text() };
    }, seen);
    // The rest of the app still gets Fastify's parsed JSON.
    const other = await fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"data":{"id":"o1"}}' });
    assert.deepEqual(await other.json(), { parsed: 'o1' });
  } finally {
    await app.close();
  }
});

test('Fastify: a store that breaks its contract gets the core\'s 500; an allowed caller over the limit gets 413, not 403', async () => {
  const app = Fastify();
  app.register(clhooksFastify, { secret: 's', path: '/broken', seen: { claim: async () => null, done() {}, release() {} } });
  app.register(clhooksFastify, { secret: 's', path: '/small', maxBodyBytes: 100, sources: { allow: ['127.0.0.1'] } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${app.server.address().port}`;
  try {
    const body = Buffer.from('{"data":{"id":"f2","type":"orders","attributes":{}}}');
    const signed = { 'x-commercelayer-signature': sign(body, 's'), 'x-commercelayer-topic': 'orders.place' };
    const broken = await fetch(`${url}/broken`, { method: 'POST', headers: signed, body });
    assert.deepEqual([broken.status, (await broken.json()).error], [500, 'receiver_failed']);
    const large = Buffer.alloc(1000, 0x20);
    const over = await fetch(`${url}/small`, { method: 'POST', headers: { ...signed, 'content-type': 'application/json' }, body: large });
    assert.deepEqual([over.status, (await over.json()).error], [413, 'payload_too_large']);
  } finally {
    await app.close();
  }
});

test('Fastify: register(plugin, { secret, onEvent, path }), a body with no content type, and sources before the body', async () => {
  const events = [];
  const app = Fastify();
  app.register(clhooksFastify, { secret: 's', onEvent: (event) => events.push(event.id), path: '/hooks' });
  app.register(clhooksFastify, { secret: 's', path: '/only-elsewhere', sources: { allow: ['203.0.113.7'] } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${app.server.address().port}`;
  try {
    const body = Buffer.from('{"data":{"id":"f1","type":"orders","attributes":{}}}');
    const signed = { 'x-commercelayer-signature': sign(body, 's'), 'x-commercelayer-topic': 'orders.place' };
    // A Uint8Array body: fetch sends no Content-Type at all.
    const answer = await fetch(`${url}/hooks`, { method: 'POST', headers: signed, body });
    assert.deepEqual([answer.status, await answer.json()], [200, { received: 'orders.place' }]);
    assert.deepEqual(events, ['f1']);
    const refused = await fetch(`${url}/only-elsewhere`, { method: 'POST', headers: { ...signed, 'content-type': 'application/json' }, body });
    assert.deepEqual([refused.status, (await refused.json()).error], [403, 'forbidden_source']);
  } finally {
    await app.close();
  }
  const bad = Fastify();
  bad.register(clhooksFastify, { secret: 's', path: 'no-slash' });
  await assert.rejects(bad.ready(), (e) => e.code === 'invalid_argument');
  const notWebhooks = Fastify();
  notWebhooks.register(clhooksFastify, { webhooks: { secret: 's' } });
  await assert.rejects(notWebhooks.ready(), (e) => e.code === 'invalid_argument');
});

/** A delivery as API Gateway hands it to Lambda, in each of the three shapes. */
const shapes = {
  'REST API (payload v1)': (method, headers, body, base64) => ({
    resource: '/webhooks',
    path: '/webhooks',
    httpMethod: method,
    // v1 keeps the last value in `headers` and every value in `multiValueHeaders`.
    headers: Object.fromEntries(headers),
    multiValueHeaders: headers.reduce((all, [name, value]) => ({ ...all, [name]: [...(all[name] ?? []), value] }), {}),
    queryStringParameters: null,
    requestContext: { httpMethod: method, identity: { sourceIp: '198.51.100.1' }, stage: 'prod' },
    body,
    isBase64Encoded: base64,
  }),
  'HTTP API (payload v2)': (method, headers, body, base64) => ({
    version: '2.0',
    routeKey: 'POST /webhooks',
    rawPath: '/webhooks',
    rawQueryString: '',
    // v2 lowercases names and joins repeated ones with commas.
    headers: headers.reduce((all, [name, value]) => {
      const key = name.toLowerCase();
      return { ...all, [key]: all[key] === undefined ? value : `${all[key]},${value}` };
    }, {}),
    requestContext: { http: { method, path: '/webhooks', protocol: 'HTTP/1.1', sourceIp: '198.51.100.1', userAgent: 'Commerce Layer' } },
    body,
    isBase64Encoded: base64,
  }),
};
shapes['Function URL'] = (method, headers, body, base64) => ({ ...shapes['HTTP API (payload v2)'](method, headers, body, base64), routeKey: '$default' });

for (const [shape, make] of Object.entries(shapes)) {
  for (const base64 of [true, false]) {
    test(`Lambda, ${shape}, body ${base64 ? 'base64-encoded' : 'as a string'}: every shared exchange answered as the core does`, async () => {
      const { webhooks, seen } = setup();
      const handler = createLambdaHandler(webhooks);
      await runVectors(`${shape}`, async (c) => {
        const bytes = bodyBytes(c.body, files);
        // A string body is the decoded text, as API Gateway gives a UTF-8 body; a body that is
        // not UTF-8 arrives base64-encoded.
        const utf8 = (() => { try { return new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch { return null; } })();
        const encoded = base64 || utf8 === null;
        const event = make(c.method ?? 'POST', c.headers, encoded ? Buffer.from(bytes).toString('base64') : utf8, encoded);
        const result = await handler(event, {});
        assert.deepEqual(Object.keys(result).sort(), ['body', 'headers', 'isBase64Encoded', 'statusCode']);
        assert.equal(result.headers['content-type'], 'application/json');
        return { status: result.statusCode, body: result.body };
      }, seen);
    });
  }
}

test('Lambda: { secret, onEvent }, multi-value headers, and sources from the caller API Gateway reports', async () => {
  const events = [];
  const handler = createLambdaHandler({ secret: ['new', 'old'], onEvent: (event) => events.push(event.id) });
  const body = '{"data":{"id":"l1","type":"orders","attributes":{}}}';
  const event = shapes['REST API (payload v1)']('POST', [['X-CommerceLayer-Signature', sign(body, 'old')], ['X-CommerceLayer-Topic', 'orders.place']], body, false);
  assert.deepEqual(await handler(event), { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"received":"orders.place"}', isBase64Encoded: false });
  assert.deepEqual(events, ['l1']);
  // v1: every value is in multiValueHeaders, the last only in headers. The valid signature
  // here is only in multiValueHeaders: read from there, the delivery passes.
  const multi = { ...event, headers: { ...event.headers, 'X-CommerceLayer-Signature': sign(body, 'another') } };
  assert.equal((await handler(multi)).statusCode, 200, 'the multi-value headers are read');
  // An empty multiValueHeaders beside the headers (as some tools send): the headers are read.
  assert.equal((await handler({ ...event, multiValueHeaders: {} })).statusCode, 200);
  // A store that breaks its contract: the core's 500, not a Lambda error (a 502 from API Gateway).
  const broken = createLambdaHandler({ secret: ['new', 'old'], seen: { claim: async () => null, done() {}, release() {} } });
  const failed = await broken(event);
  assert.deepEqual([failed.statusCode, JSON.parse(failed.body).error], [500, 'receiver_failed']);
  const guarded = createLambdaHandler({ secret: 's', sources: { allow: ['203.0.113.0/24'] } });
  const refused = await guarded(shapes['HTTP API (payload v2)']('POST', [['x-commercelayer-topic', 'orders.place']], body, false));
  assert.deepEqual([refused.statusCode, JSON.parse(refused.body).error], [403, 'forbidden_source']);
  await assert.rejects(handler(null), (e) => e.code === 'invalid_argument');
});
