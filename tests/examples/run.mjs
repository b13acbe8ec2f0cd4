// Runs each receiver example in its real runtime — node:http and Express in Node, the Worker in
// workerd (built by Wrangler, served by Miniflare), the axum server natively — and delivers
// real signed events to it with the clhooks CLI (send, replay) and plain fetch: good, duplicated,
// signed with the previous secret, tampered, wrong topic, and bad input. Prints a table of
// example × case → status and fails on any unexpected answer.
//
// Usage: node tests/examples/run.mjs   (after `make examples-pkg` and `cargo build --bin clhooks`)

import { spawn, spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = resolve(root, process.env.CLHOOKS ?? 'target/debug/clhooks');
const fixturePath = join(root, 'tests/vectors/orders-place-payload.json');
const fixture = readFileSync(fixturePath);
const work = mkdtempSync(join(tmpdir(), 'clhooks-examples-'));
const SECRETS = 'new-secret,old-secret';

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
          resolveStart({ url: match[1], lines, stop: () => child.kill() });
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

// Distinct deliveries: each body is a new event for the idempotency key.
const twice = variant('twice.json', Buffer.concat([fixture, Buffer.from('\n\n')]));
const rotated = variant('rotated.json', Buffer.concat([fixture, Buffer.from('\n')]));
const plainText = variant('plain-text.json', Buffer.concat([fixture, Buffer.from('  ')]));
const appJson = variant('app-json.json', Buffer.concat([fixture, Buffer.from('\t')]));
const { sign } = await import(join(root, 'pkg/node.mjs'));

const cases = [
  ['good', 200, (url) => cliStatus(['send', '--url', url, '--secret', 'new-secret', '--topic', 'orders.place', '--max-retries', '0', fixturePath])],
  // The same signed bytes twice, as a Commerce Layer retry after a lost answer: the second is
  // answered 200 and flagged, and not handled again.
  ['duplicate', 200, (url) => {
    const first = cliStatus(['replay', twice, '--url', url, '--secret', 'new-secret', '--topic', 'orders.place']);
    const again = cliStatus(['replay', twice, '--url', url, '--secret', 'new-secret', '--topic', 'orders.place']);
    const ok = first.status === 200 && !first.duplicate && again.duplicate;
    return { ...again, status: ok ? again.status : `${first.status}/${again.status}, duplicate flag ${again.duplicate}` };
  }],
  ['old secret (rotation)', 200, (url) => cliStatus(['replay', rotated, '--url', url, '--secret', 'old-secret', '--topic', 'orders.place'])],
  ['tampered', 401, (url) => cliStatus(['replay', fixturePath, '--url', url, '--secret', 'attacker', '--topic', 'orders.place'])],
  ['wrong topic', 400, (url) => cliStatus(['replay', fixturePath, '--url', url, '--secret', 'new-secret', '--topic', 'shipments.ship'])],
  ['empty body', 401, (url) => post(url, '', {})],
  ['missing headers', 401, (url) => post(url, fixture, { 'content-type': 'application/vnd.api+json' })],
  ['invalid JSON', 400, (url) => post(url, '{"data": nope', signed('{"data": nope', 'orders.place'))],
  ['text/plain content type', 200, (url) => post(url, readFileSync(plainText), { ...signed(readFileSync(plainText), 'orders.place'), 'content-type': 'text/plain' })],
  ['application/json content type', 200, (url) => post(url, readFileSync(appJson), { ...signed(readFileSync(appJson), 'orders.place'), 'content-type': 'application/json' })],
  ['huge body (6 MiB)', 413, (url) => postHuge(url, 6 << 20)],
  ['GET', 405, async (url) => ({ status: (await fetch(url)).status })],
];

function signed(body, topic) {
  return { 'X-CommerceLayer-Signature': sign(body, 'new-secret'), 'X-CommerceLayer-Topic': topic, 'content-type': 'application/vnd.api+json' };
}

async function post(url, body, headers) {
  try {
    const res = await fetch(url, { method: 'POST', body, headers });
    await res.arrayBuffer();
    return { status: res.status };
  } catch (e) {
    return { status: `error ${e.cause?.code ?? e.message}` };
  }
}

/**
 * A body over the limit, sent the way careful clients do (`Expect: 100-continue`): a server may
 * answer 413 from the headers alone and close before reading the body, and then a client that
 * is still writing sees the connection reset instead of the answer.
 */
function postHuge(url, size) {
  return new Promise((resolve) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: { ...signed('x', 'orders.place'), 'content-length': size, expect: '100-continue' },
    });
    let sent = false;
    const send = () => {
      if (!sent) req.end(Buffer.alloc(size, 0x20));
      sent = true;
    };
    req.on('continue', send);
    // A server that says neither 100 nor anything else within a second gets the body anyway.
    const timer = setTimeout(send, 1000);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      resolve({ status: res.statusCode });
      req.destroy();
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      resolve({ status: `error ${e.code}` });
    });
  });
}

async function workerServer() {
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
    bindings: { CL_WEBHOOK_SECRET: SECRETS },
    host: '127.0.0.1',
    port: 0,
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return { url, lines: null, stop: () => mf.dispose().then(() => rmSync(outdir, { recursive: true, force: true })) };
}

const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', CL_WEBHOOK_SECRET: SECRETS };
const examples = [
  ['node-receiver', () => start('node', ['server.mjs'], { cwd: join(root, 'examples/node-receiver'), env })],
  ['express-receiver', () => start('node', ['server.mjs'], { cwd: join(root, 'examples/express-receiver'), env })],
  ['cloudflare-worker', workerServer],
  ['rust-receiver', () => start(join(root, 'target/rust-receiver/release/clhooks-rust-receiver'), [], { env })],
];

const table = [];
let failures = 0;
for (const [name, startServer] of examples) {
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
      row[label] = status;
      if (status !== expected) {
        failures += 1;
        console.log(`FAIL ${name}: ${label}: expected ${expected}, got ${status}${output ? `\n${output}` : ''}`);
      }
    }
    if (server.lines) {
      // Valid events accepted exactly once: the duplicate is not handled again.
      await new Promise((r) => setTimeout(r, 200));
      const handled = server.lines.filter((l) => l.startsWith('event orders.place wBXVhZOmXO')).length;
      row['handled once'] = handled === 5 ? 'yes' : `${handled} times`;
      if (handled !== 5) {
        failures += 1;
        console.log(`FAIL ${name}: 5 distinct valid deliveries should be handled once each, saw ${handled}\n${server.lines.join('\n')}`);
      }
    } else {
      row['handled once'] = 'n/a';
    }
  } finally {
    await server.stop();
  }
  table.push(row);
}

const columns = ['example', ...cases.map(([label]) => label), 'handled once'];
console.log(`\n${columns.join(' | ')}`);
for (const row of table) console.log(columns.map((c) => row[c] ?? '-').join(' | '));
rmSync(work, { recursive: true, force: true });
const total = examples.length * (cases.length + 1);
console.log(`\nexamples: ${total - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
