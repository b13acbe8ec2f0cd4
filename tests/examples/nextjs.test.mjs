// The Next.js example's route handler (examples/nextjs-receiver/app/api/webhooks/route.js),
// imported as a plain module the way Next loads it and called with `Request`s: every shared
// exchange of tests/vectors/receiver.json gets the core's status and error code, for each
// method Next would route to it.
// Run with `node --test tests/examples/nextjs.test.mjs` after `make examples-pkg`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const { bodyBytes } = await import(new URL('tests/packaging/vectors.mjs', root));
const vectors = JSON.parse(readFileSync(new URL('tests/vectors/receiver.json', root), 'utf8'));
const files = { fixture: new Uint8Array(readFileSync(new URL('tests/vectors/orders-place-payload.json', root))) };

process.env.CL_WEBHOOK_SECRET = vectors.secrets.join(',');
const route = await import(new URL('examples/nextjs-receiver/app/api/webhooks/route.js', root));

test('the route handler answers every shared exchange as the core does', async () => {
  assert.equal(route.runtime, 'nodejs');
  assert.equal(route.dynamic, 'force-dynamic');
  const lines = [];
  const log = console.log;
  console.log = (line) => lines.push(String(line));
  try {
    for (const c of [...vectors.requests, ...vectors.sequence]) {
      if (c.handler === 'fail') continue; // the example's handler logs; it has no failing route
      const method = c.method ?? 'POST';
      const handler = route[method];
      assert.equal(typeof handler, 'function', `${method} is exported`);
      const body = bodyBytes(c.body, files);
      const request = new Request('http://localhost/api/webhooks', {
        method, headers: c.headers, body: method === 'GET' || method === 'HEAD' ? undefined : body,
      });
      const response = await handler(request);
      const json = await response.json();
      assert.equal(response.headers.get('content-type'), 'application/json', c.name);
      assert.deepEqual({ status: response.status, error: json.error ?? null, duplicate: json.duplicate === true },
        { status: c.expect.status, error: c.expect.error, duplicate: c.expect.duplicate }, c.name);
    }
  } finally {
    console.log = log;
  }
  assert.ok(lines.some((line) => line.startsWith('event orders.place wBXVhZOmXO')), lines.join('\n'));
});
