// The shared golden outputs of the two command lines: each case of cases.json is run as a user
// would run it (arguments, standard input, environment, files, a receiver on loopback or
// deliveries to `listen`), and what it printed and how it exited are compared with the goldens
// in tests/vectors/cli.json. The same goldens are checked against the Rust `clhooks` and the
// npm package's `npx clhooks`.
//
// `node tests/cli/golden.mjs --write` records the goldens from the Rust binary (review the
// diff: the goldens are the contract, not a copy of whatever the binary prints).

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CASES = JSON.parse(readFileSync(join(root, 'tests/cli/cases.json'), 'utf8'));
export const GOLDENS_FILE = join(root, 'tests/vectors/cli.json');
export const FIXTURE = join(root, 'tests/vectors/orders-place-payload.json');
const SCENARIOS = join(root, 'examples/scenarios');

export const CLIS = {
  rust: [process.env.CLHOOKS_RUST_CLI ?? join(root, 'target/debug/clhooks')],
  node: [process.execPath, join(root, 'pkg/cli.mjs')],
};

const sign = (body, secret) => createHmac('sha256', secret).update(body).digest('base64');

/**
 * The Redis of the `dead-letters` cases: Debian's redis-server on a free loopback port, started
 * on first use and stopped when the process exits. Each run gets a stream of its own (cases run
 * side by side), with the dead letters `redis: 'dead'` asks for.
 */
let redis;
let streams = 0;
async function redisStream(kind) {
  redis ??= (async () => {
    const port = await new Promise((ok) => {
      const probe = createNetServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address();
        probe.close(() => ok(free));
      });
    });
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
    process.on('exit', () => child.kill('SIGKILL'));
    await new Promise((ok, fail) => {
      child.stdout.on('data', (d) => { if (/Ready to accept/.test(d)) ok(); });
      child.on('exit', () => fail(new Error('redis-server did not start (make tool-redis installs it)')));
    });
    const { createClient } = await import(join(root, 'node_modules/redis/dist/index.js'));
    const client = await createClient({ url: `redis://127.0.0.1:${port}` }).connect();
    return { url: `redis://127.0.0.1:${port}`, client, child };
  })();
  const { url, client } = await redis;
  streams += 1;
  const stream = `cli-${process.pid}-${streams}`;
  if (kind === 'dead') {
    const fixture = readFileSync(FIXTURE);
    await client.xAdd(`${stream}:dead`, '1765000000000-0', {
      v: '1', key: 'a2b9c0d1e2f3', topic: 'orders.place', sig: sign(fixture, 'abc'), rcv: '1765000000000', attempt: '3',
      body: fixture, reason: 'handler_failed', error: 'the payment service answered 502', failed: '1765000125000',
    });
    await client.xAdd(`${stream}:dead`, '1765000000001-0', {
      v: '1', key: 'f4e5d6c7b8a9', topic: 'orders.place', sig: 'bm90IHNpZ25lZA==', rcv: '1765000001000', attempt: '0',
      body: '{"data":{"id":"o2","type":"orders","attributes":{}}}', reason: 'unverified', error: 'the signature does not match the body', failed: '1765000002000',
    });
  }
  return { url, stream };
}

/** Stops the `dead-letters` cases' Redis, if one was started. */
export async function stopRedis() {
  if (!redis) return;
  const { client, child } = await redis;
  redis = undefined;
  await client.quit().catch(() => {});
  child.kill('SIGKILL');
}

/** A receiver on loopback answering `statuses` in turn (the last one from then on). */
async function receiver(statuses) {
  const seen = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      // A status, or [status, reason phrase] for a server that words it its own way,
      // [status, reason, {body}] (text) or [status, reason, {bodyBase64}] for one that answers
      // its own body, and [status, reason, 'endless'] for one whose answer never ends: 4,095
      // bytes of "x", an "é" across the 4 KiB a command line reads, then more until the client goes.
      const [status, reason, answer] = [statuses[Math.min(seen.length, statuses.length - 1)]].flat();
      seen.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(status, reason, { 'content-type': 'application/json' });
      if (answer?.body !== undefined || answer?.bodyBase64 !== undefined) {
        res.end(answer.body ?? Buffer.from(answer.bodyBase64, 'base64'));
        return;
      }
      if (answer !== 'endless') {
        res.end(status < 300 ? '{"received":true}' : '{"error":"nope"}');
        return;
      }
      res.write(`${'x'.repeat(4095)}é`);
      const more = setInterval(() => res.write('y'.repeat(65536)), 5);
      res.on('close', () => clearInterval(more));
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => new Promise((ok) => server.close(ok)) };
}

function run(command, args, { stdin, env }) {
  return new Promise((ok, fail) => {
    const child = spawn(command[0], [...command.slice(1), ...args], {
      env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.on('error', fail);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ exit: code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(stdin ?? '');
  });
}

/** One request on a connection of its own: its answer's status and body. */
function exchange(url, method, headers, body) {
  return new Promise((ok, fail) => {
    const framed = body && !headers['transfer-encoding'] ? { ...headers, 'content-length': body.length } : headers;
    const req = request(url, { method, headers: framed, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      // The times a health report holds are the run's own.
      res.on('end', () => ok({ status: res.statusCode, body: Buffer.concat(chunks).toString().replace(/"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/g, '"{time}"') }));
    });
    req.on('error', fail);
    req.end(body ?? undefined);
  });
}

/** `listen` on a free port, sent each request in turn; its answers and its log. */
async function listen(command, kase, secretEnv) {
  const args = ['listen', '--port', '0', '--max-requests', String(kase.requests.length), ...kase.listen];
  const child = spawn(command[0], [...command.slice(1), ...args], { env: { PATH: process.env.PATH, ...secretEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = [];
  const err = [];
  child.stderr.on('data', (c) => err.push(c));
  // 'close' comes once the output is read to its end: the process may have exited (exitCode
  // set) with its last lines still in the pipe.
  const closed = new Promise((ok) => child.on('close', (code) => ok(code)));
  const address = await new Promise((ok, fail) => {
    child.stdout.on('data', (c) => {
      out.push(c);
      const match = /listening on (http:\/\/\S+)/.exec(Buffer.concat(out).toString());
      if (match) ok(match[1]);
    });
    child.on('close', () => fail(new Error(`listen ended: ${Buffer.concat(err)}`)));
  });
  const answers = [];
  for (const request of kase.requests) {
    const body = request.body?.fixture ? readFileSync(FIXTURE) : Buffer.from(request.body?.utf8 ?? '');
    const headers = { 'content-type': 'application/json', ...(request.chunked ? { 'transfer-encoding': 'chunked' } : {}) };
    if (request.sign) headers['x-commercelayer-signature'] = sign(body, request.sign);
    if (request.topic) headers['x-commercelayer-topic'] = request.topic;
    const method = request.method ?? 'POST';
    answers.push(await exchange(`${address}${request.path}`, method, headers, method === 'GET' ? null : body));
  }
  const exit = await closed;
  const port = new URL(address).port;
  const stdout = Buffer.concat(out).toString().replaceAll(`:${port}`, ':{port}').replace(/^\d\d:\d\d:\d\d\.\d{3}/gm, 'HH:MM:SS.mmm');
  return { exit, stdout, stderr: Buffer.concat(err).toString(), answers };
}

/** What one CLI printed for one case, with the run's own paths, ports and times masked. */
export async function outcome(command, kase) {
  const dir = mkdtempSync(join(tmpdir(), 'clhooks-cli-'));
  const server = kase.server ? await receiver(kase.server) : null;
  const queue = kase.redis ? await redisStream(kase.redis) : null;
  try {
    for (const [name, text] of Object.entries(kase.files ?? {})) writeFileSync(join(dir, name), text.replaceAll('{dir}', dir));
    for (const [name, b64] of Object.entries(kase.filesBase64 ?? {})) writeFileSync(join(dir, name), Buffer.from(b64, 'base64'));
    const fixture = readFileSync(FIXTURE);
    const fill = (arg) => arg
      .replaceAll('{fixture}', FIXTURE).replaceAll('{dir}', dir).replaceAll('{scenarios}', SCENARIOS)
      .replaceAll('{url}', server?.url ?? '')
      .replaceAll('{redis}', queue?.url ?? '').replaceAll('{stream}', queue?.stream ?? '')
      .replace(/\{signature:([^}]*)\}/, (_, secret) => sign(fixture, secret))
      .replace(/\{hex:([^}]*)\}/, (_, secret) => createHmac('sha256', secret).update(fixture).digest('hex'));
    const result = kase.listen
      ? await listen(command, kase, kase.env ?? {})
      : await run(command, (kase.args ?? []).map(fill), {
        stdin: kase.stdin?.utf8 ?? (kase.stdin?.fixture ? fixture : undefined),
        env: Object.fromEntries(Object.entries(kase.env ?? {}).map(([name, value]) => [name, fill(value)])),
      });
    const mask = (text) => {
      let masked = text.replaceAll(FIXTURE, '{fixture}').replaceAll(dir, '{dir}').replaceAll(SCENARIOS, '{scenarios}');
      if (server) masked = masked.replaceAll(server.url, '{url}');
      if (queue) masked = masked.replaceAll(queue.url, '{redis}').replaceAll(queue.stream, '{stream}');
      return masked
        .replace(/\+\d\d:\d\d:\d\d\.\d{3}/g, '+HH:MM:SS.mmm')
        .replace(/ in \d+ ms/g, ' in N ms')
        .replace(/ after \d+ ms/g, ' after N ms');
    };
    const golden = { exit: result.exit, stdout: mask(result.stdout) };
    golden.stderr = mask(result.stderr);
    if (result.answers) golden.answers = result.answers;
    if (server) golden.received = server.seen.map((r) => ({ path: r.path, topic: r.headers['x-commercelayer-topic'] ?? null, ...(r.headers['x-commercelayer-signature'] === sign(r.body, 'abc') ? { signed: true } : {}) }));
    return golden;
  } finally {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--write') {
  const goldens = {};
  for (const kase of CASES) goldens[kase.name] = await outcome(CLIS.rust, kase);
  writeFileSync(GOLDENS_FILE, `${JSON.stringify(goldens, null, 2)}\n`);
  await stopRedis();
  console.log(`wrote ${Object.keys(goldens).length} goldens to tests/vectors/cli.json`);
}
