// Runs each receiver — the node:http and Express examples in Node, the Worker example in workerd
// (built by Wrangler, served by Miniflare), the axum example natively, and `clhooks listen` (Rust and npx) —
// and sends each the shared exchanges of tests/vectors/receiver.json over HTTP (the same file
// the core and the package answer in-process: every receiver must give the same status and
// error code), plus real deliveries from the clhooks CLI (send, replay). Prints a table of
// receiver × case → answer and fails on any unexpected one.
//
// Usage: node tests/examples/run.mjs   (after `make examples-pkg` and `cargo build --bin clhooks`)

import { spawn, spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = resolve(root, process.env.CLHOOKS ?? 'target/debug/clhooks');
const fixturePath = join(root, 'tests/vectors/orders-place-payload.json');
const fixture = readFileSync(fixturePath);
const work = mkdtempSync(join(tmpdir(), 'clhooks-examples-'));
const SECRETS = 'new-secret,old-secret';
// The Node examples run on the Node running this script (`make test-examples`: the newest LTS).
const node = process.execPath;

function run(cmd, args, options = {}) {
  const out = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 600_000, ...options });
  if (out.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${out.status}\n${out.stdout}\n${out.stderr}`);
  return out.stdout;
}

/** Starts a server process and waits for its "listening on URL" line; collects its output. */
function start(cmd, args, options) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const lines = [];
  let buffered = '';
  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => rejectStart(new Error(`${cmd} did not start:\n${lines.join('\n')}`)), 60_000);
    const onData = (data) => {
      buffered += data;
      const parts = buffered.split('\n');
      buffered = parts.pop();
      for (const line of parts) {
        lines.push(line);
        const match = /^listening on (http:\/\/\S+)/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolveStart({ url: match[1], lines, pid: child.pid, stop: () => child.kill() });
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => rejectStart(new Error(`${cmd} exited ${code}:\n${lines.join('\n')}`)));
  });
}

/** The status a CLI run observed: `send` prints "attempt  1  ok   200 OK", `replay` "200 OK in 3 ms". */
function cliStatus(args) {
  const out = spawnSync(cli, args, { encoding: 'utf8', timeout: 60_000 });
  const send = /attempt +\d+ +(?:ok|FAIL) +(\d{3})/.exec(out.stdout);
  const replay = /^(\d{3}) /.exec(out.stdout);
  const status = Number((send ?? replay)?.[1] ?? 0);
  return { status, duplicate: out.stdout.includes('"duplicate":true'), output: out.stdout + out.stderr };
}

function variant(name, bytes) {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

// Distinct deliveries: each body is a new event for the idempotency key (the shared vectors use
// the fixture followed by newlines; these use spaces).
const twice = variant('twice.json', Buffer.concat([fixture, Buffer.from('  ')]));
const sent = variant('sent.json', Buffer.concat([fixture, Buffer.from('   ')]));
const rotated = variant('rotated.json', Buffer.concat([fixture, Buffer.from('    ')]));
const { sign } = await import(join(root, 'pkg/node.mjs'));
const { bodyBytes } = await import(join(root, 'tests/packaging/vectors.mjs'));
const vectors = JSON.parse(readFileSync(join(root, 'tests/vectors/receiver.json'), 'utf8'));
const files = { fixture: new Uint8Array(fixture) };

/** A shared exchange over HTTP: `{status, error, duplicate}` as the receiver answered. */
async function shared(url, c) {
  const body = bodyBytes(c.body, files);
  const headers = Object.fromEntries(c.headers);
  if (body.length > vectors.max_body_bytes) return postHuge(url, body, headers);
  try {
    const res = await fetch(url, { method: c.method, body: c.method === 'GET' ? undefined : body, headers });
    return answered(res.status, await res.text());
  } catch (e) {
    return { status: `error ${e.cause?.code ?? e.message}` };
  }
}

function answered(status, text) {
  let json = {};
  try {
    json = JSON.parse(text);
  } catch {
    json = { error: `not JSON: ${text.slice(0, 80)}` };
  }
  return { status, error: json.error ?? null, duplicate: json.duplicate === true };
}

const expected = ({ status, error, duplicate }) => JSON.stringify({ status, error, duplicate });

const cases = [
  ...vectors.requests.map((c) => [c.name, expected(c.expect), async (url) => {
    const got = await shared(url, c);
    return { ...got, status: expected(got) };
  }]),
  ['clhooks send', 200, (url) => cliStatus(['send', '--url', url, '--secret', 'new-secret', '--topic', 'orders.place', '--max-retries', '0', sent])],
  // The same signed bytes twice, as a Commerce Layer retry after a lost answer: the second is
  // answered 200 and flagged, and not handled again.
  ['clhooks replay twice', 200, (url) => {
    const first = cliStatus(['replay', twice, '--url', url, '--secret', 'new-secret', '--topic', 'orders.place']);
    const again = cliStatus(['replay', twice, '--url', url, '--secret', 'old-secret', '--topic', 'orders.place']);
    const ok = first.status === 200 && !first.duplicate && again.duplicate;
    return { ...again, status: ok ? again.status : `${first.status}/${again.status}, duplicate flag ${again.duplicate}` };
  }],
  ['clhooks replay, previous secret', 200, (url) => cliStatus(['replay', rotated, '--url', url, '--secret', 'old-secret', '--topic', 'orders.place'])],
];

/**
 * A body over the limit, sent the way careful clients do (`Expect: 100-continue`): a server may
 * answer 413 from the headers alone and close before reading the body, and then a client that
 * is still writing sees the connection reset instead of the answer.
 */
function postHuge(url, body, headers) {
  return new Promise((resolve) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': body.length, expect: '100-continue' },
    });
    let sent = false;
    const send = () => {
      if (!sent) req.end(body);
      sent = true;
    };
    req.on('continue', send);
    // A server that says neither 100 nor anything else within a second gets the body anyway.
    const timer = setTimeout(send, 1000);
    req.on('response', (res) => {
      clearTimeout(timer);
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        resolve(answered(res.statusCode, Buffer.concat(chunks).toString()));
        req.destroy();
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      resolve({ status: `error ${e.code}` });
    });
  });
}

async function workerServer(extra = {}) {
  const dir = join(root, 'examples/cloudflare-worker');
  const outdir = mkdtempSync(join(tmpdir(), 'clhooks-worker-example-'));
  run(join(root, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', outdir], {
    cwd: dir, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
  });
  const { Miniflare } = await import(join(root, 'node_modules/miniflare/dist/src/index.js'));
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(outdir, 'index.js'),
    modulesRoot: outdir,
    modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-01',
    bindings: { CL_WEBHOOK_SECRET: SECRETS, ...extra },
    // As wrangler.toml binds it: the claims in clhooks' Durable Object.
    durableObjects: { SEEN: 'SeenStoreObject' },
    host: '127.0.0.1',
    port: 0,
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return { url, lines: null, stop: () => mf.dispose().then(() => rmSync(outdir, { recursive: true, force: true })) };
}

const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', CL_WEBHOOK_SECRET: SECRETS };
// Each receiver, and the log line it prints when it handles the fixture's order.
// Then the log line of any handled event, its id captured (for the flood of abuse.mjs).
const eventLine = /^event orders\.place (\S+) /;
const examples = [
  ['node-receiver', () => start(node, ['server.mjs'], { cwd: join(root, 'examples/node-receiver'), env }), /^event orders\.place wBXVhZOmXO/, eventLine],
  ['express-receiver', () => start(node, ['server.mjs'], { cwd: join(root, 'examples/express-receiver'), env }), /^event orders\.place wBXVhZOmXO/, eventLine],
  ['hono-receiver', () => start(node, ['server.mjs'], { cwd: join(root, 'examples/hono-receiver'), env }), /^event orders\.place wBXVhZOmXO/, eventLine],
  ['cloudflare-worker', workerServer, null, null],
  ['rust-receiver', () => start(join(root, 'target/rust-receiver/release/clhooks-rust-receiver'), [], { env }), /^event orders\.place wBXVhZOmXO/, eventLine],
  ['clhooks listen', () => start(cli, ['listen', '--port', '0', '--secret', 'new-secret', '--secret', 'old-secret']),
    /orders\.place  orders\/wBXVhZOmXO  verified  200/, /orders\.place  orders\/(\S+)  verified  200/],
  // The npm package's command line, from the packed tarball (as `npx clhooks` runs it).
  ['npx clhooks listen', () => start(node, [join(root, 'examples/node-receiver/node_modules/clhooks/cli.mjs'), 'listen', '--port', '0',
    '--secret', 'new-secret', '--secret', 'old-secret']),
  /orders\.place  orders\/wBXVhZOmXO  verified  200/, /orders\.place  orders\/(\S+)  verified  200/],
];
const { abuse } = await import('./abuse.mjs');
const { tally } = await import('../support/eager.mjs');
// Distinct deliveries of the fixture's order that must each be handled exactly once: the
// shared vectors' accepted fixture variants, and the three CLI cases.
const handledOnce = vectors.requests.filter((c) => c.expect.status === 200 && !c.expect.duplicate
  && c.headers.some(([k, v]) => k.toLowerCase() === 'x-commercelayer-topic' && v === 'orders.place')).length + 3;

const table = [];
let failures = 0;
for (const [name, startServer, handledLine, eventLog] of examples) {
  let server;
  try {
    server = await startServer();
  } catch (e) {
    console.log(`FAIL ${name} did not start: ${e.message}`);
    failures += 1;
    continue;
  }
  const row = { example: name };
  try {
    for (const [label, expected, fn] of cases) {
      const { status, output } = await fn(`${server.url}/webhooks`);
      row[label] = typeof status === 'string' && status.startsWith('{') ? JSON.parse(status).status : status;
      if (status !== expected) {
        failures += 1;
        console.log(`FAIL ${name}: ${label}: expected ${expected}, got ${status}${output ? `\n${output}` : ''}`);
      }
    }
    if (handledLine) {
      // Valid events accepted exactly once: the duplicates are not handled again.
      await new Promise((r) => setTimeout(r, 200));
      const handled = server.lines.filter((l) => handledLine.test(l)).length;
      row['handled once'] = handled === handledOnce ? 'yes' : `${handled} times`;
      if (handled !== handledOnce) {
        failures += 1;
        console.log(`FAIL ${name}: ${handledOnce} distinct valid deliveries should be handled once each, saw ${handled}\n${server.lines.join('\n')}`);
      }
    } else {
      row['handled once'] = 'n/a';
    }
    // A client that sends its whole request before reading (Python's http.client) reads the
    // 413 of a body over the limit: 20 of 20 (workerd owns the Worker's sockets).
    if (name !== 'cloudflare-worker') {
      const eager = await tally({ port: Number(new URL(server.url).port) });
      row['eager 413s'] = `${eager['413'] ?? 0}/20`;
      if (eager['413'] !== 20) {
        failures += 1;
        console.log(`FAIL ${name}: clients that send 6 MiB before reading: ${JSON.stringify(eager)}, expected 20 × 413`);
      }
    }
    const flood = await abuse(`${server.url}/webhooks`, {
      name, pid: server.pid, lines: server.lines, handledBy: eventLog, sign, secret: 'new-secret', postHuge,
    });
    if (flood.failures.length) {
      failures += 1;
      console.log(`FAIL ${name} under abuse: ${flood.failures.join('; ')}\n  ${flood.summary}`);
    } else {
      console.log(`ok   ${flood.summary}`);
    }
  } finally {
    await server.stop();
  }
  table.push(row);
}

// The axum example's work fails (its events log cannot be opened): the delivery is answered 500
// and not recorded, so Commerce Layer's retry does the work, and only a later copy is a duplicate.
{
  const logDir = join(work, 'not-yet');
  const server = await start(join(root, 'target/rust-receiver/release/clhooks-rust-receiver'), [], {
    env: { ...env, EVENTS_LOG: join(logDir, 'events.log') },
  });
  try {
    const body = Buffer.concat([fixture, Buffer.from('\t\t')]);
    const headers = { 'X-CommerceLayer-Signature': sign(body, 'new-secret'), 'X-CommerceLayer-Topic': 'orders.place' };
    const deliver = async () => {
      const res = await fetch(`${server.url}/webhooks`, { method: 'POST', body, headers });
      return answered(res.status, await res.text());
    };
    const failed = await deliver();
    mkdirSync(logDir);
    const retried = await deliver();
    const again = await deliver();
    const logged = readFileSync(join(logDir, 'events.log'), 'utf8').trim().split('\n').length;
    const got = `${failed.status} ${failed.error}, ${retried.status} duplicate=${retried.duplicate}, ${again.status} duplicate=${again.duplicate}, logged ${logged}`;
    const want = '500 handler_failed, 200 duplicate=false, 200 duplicate=true, logged 1';
    if (got !== want) {
      failures += 1;
      console.log(`FAIL rust-receiver: failed work then retries: expected ${want}, got ${got}\n${server.lines.join('\n')}`);
    } else {
      console.log(`ok   rust-receiver: work that fails is retried, not lost (${got})`);
    }
  } finally {
    server.stop();
  }
}

// Every example with ALLOW_SOURCES set to an address that is not loopback's: a signed delivery
// from here is refused with 403 forbidden_source, before anything is verified.
{
  const elsewhere = '203.0.113.7';
  const closed = { ...env, ALLOW_SOURCES: elsewhere };
  const restricted = [
    ['node-receiver', () => start(node, ['server.mjs'], { cwd: join(root, 'examples/node-receiver'), env: closed })],
    ['express-receiver', () => start(node, ['server.mjs'], { cwd: join(root, 'examples/express-receiver'), env: closed })],
    ['hono-receiver', () => start(node, ['server.mjs'], { cwd: join(root, 'examples/hono-receiver'), env: closed })],
    ['cloudflare-worker', () => workerServer({ ALLOW_SOURCES: elsewhere })],
    ['rust-receiver', () => start(join(root, 'target/rust-receiver/release/clhooks-rust-receiver'), [], { env: closed })],
  ];
  for (const [name, startServer] of restricted) {
    const server = await startServer();
    try {
      const headers = { 'X-CommerceLayer-Signature': sign(fixture, 'new-secret'), 'X-CommerceLayer-Topic': 'orders.place' };
      const res = await fetch(`${server.url}/webhooks`, { method: 'POST', body: fixture, headers });
      const got = answered(res.status, await res.text());
      if (got.status !== 403 || got.error !== 'forbidden_source') {
        failures += 1;
        console.log(`FAIL ${name} with ALLOW_SOURCES=${elsewhere}: expected 403 forbidden_source, got ${got.status} ${got.error}`);
      } else {
        console.log(`ok   ${name} with ALLOW_SOURCES=${elsewhere}: 403 forbidden_source`);
      }
    } finally {
      await server.stop();
    }
  }
}

// A receiver written the way Commerce Layer's own examples are: express.json() with a verify hook
// that keeps the raw body, then createHmac(...).digest('base64') compared with the header. It
// only sees the raw body of application/json requests, so that is what clhooks sends by default.
{
  const { default: express } = await import('express');
  const { createHmac } = await import('node:crypto');
  const app = express();
  app.use(express.json({ limit: '1mb', verify: (req, _res, buf) => { req.rawBody = buf; } }));
  app.post('/callback', (req, res) => {
    if (!req.rawBody) return res.status(500).send('no body');
    const digest = createHmac('sha256', 'cl-secret').update(req.rawBody).digest('base64');
    if (digest !== req.headers['x-commercelayer-signature']) return res.status(401).send('invalid signature');
    return res.status(200).json({ received: req.body.data.type });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  const url = `http://127.0.0.1:${server.address().port}/callback`;
  const checks = [
    ['clhooks replay', 200, ['replay', fixturePath, '--url', url, '--secret', 'cl-secret', '--topic', 'orders.place']],
    ['clhooks replay, another secret', 401, ['replay', fixturePath, '--url', url, '--secret', 'not-it', '--topic', 'orders.place']],
    ['clhooks send', 200, ['send', '--url', url, '--secret', 'cl-secret', '--topic', 'orders.place', '--max-retries', '0', fixturePath]],
    ['clhooks replay --content-type application/vnd.api+json', 500,
      ['replay', fixturePath, '--url', url, '--secret', 'cl-secret', '--topic', 'orders.place', '--content-type', 'application/vnd.api+json']],
  ];
  for (const [label, want, args] of checks) {
    // The CLI runs apart (it blocks on its request): spawnSync would stall this server.
    const out = await new Promise((ok) => {
      const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d) => { text += d; });
      child.stderr.on('data', (d) => { text += d; });
      child.on('exit', () => ok(text));
    });
    const got = Number((/attempt +\d+ +(?:ok|FAIL) +(\d{3})/.exec(out) ?? /^(\d{3}) /m.exec(out))?.[1] ?? 0);
    if (got !== want) {
      failures += 1;
      console.log(`FAIL Commerce Layer's example receiver: ${label}: expected ${want}, got ${got}\n${out}`);
    } else {
      console.log(`ok   Commerce Layer's example receiver: ${label} -> ${got}`);
    }
  }
  // A tampered body under a valid signature of the original: that receiver's own 401.
  const tampered = Buffer.from(fixture.toString('utf8').replace('"placed"', '"draft"'));
  const res = await fetch(url, { method: 'POST', body: tampered, headers: {
    'Content-Type': 'application/json', 'X-CommerceLayer-Signature': sign(fixture, 'cl-secret'), 'X-CommerceLayer-Topic': 'orders.place',
  } });
  if (res.status !== 401) {
    failures += 1;
    console.log(`FAIL Commerce Layer's example receiver: a tampered body: expected 401, got ${res.status}`);
  } else {
    console.log(`ok   Commerce Layer's example receiver: a tampered body -> ${res.status}`);
  }
  server.close();
}

const columns = ['example', ...cases.map(([label]) => label), 'handled once', 'eager 413s'];
console.log(`\n${columns.join(' | ')}`);
for (const row of table) console.log(columns.map((c) => row[c] ?? '-').join(' | '));
rmSync(work, { recursive: true, force: true });
const total = examples.length * (cases.length + 2) + 1 + 5 + 4;
console.log(`\nexamples: ${total - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
