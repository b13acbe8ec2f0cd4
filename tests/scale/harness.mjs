// What the scale-out tests share: processes started and reaped, a Redis of their own on
// loopback (append-only, so a restart keeps its data), free ports, and POSTs that never throw.

import { after } from 'node:test';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A scratch folder for this test file (Redis' data), removed at its end. */
export const work = mkdtempSync(join(tmpdir(), 'clhooks-scale-'));
const children = new Set();
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
after(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  agent.destroy();
});

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** A port free on loopback now. */
export const freePort = () => new Promise((ok) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => ok(port));
  });
});

/** Starts a process (killed at the end of the file) and waits for a line matching `ready`. */
export function start(cmd, args, env, ready) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let output = '';
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${cmd} did not start:\n${output}`)), 20_000);
    const seen = (data) => {
      output += data;
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        ok({ child, match, output: () => output });
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', (code) => fail(new Error(`${cmd} exited ${code}:\n${output}`)));
  });
}

/** redis-server on `port`, its data in `dir` (append-only, every write synced). */
export async function startRedis(port, dir = work) {
  const { child } = await start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes',
    '--appendfsync', 'always', '--dir', dir, '--protected-mode', 'no', '--enable-debug-command', 'yes'], {}, /Ready to accept connections/);
  return child;
}

/** Kills a process and waits for it to be gone. */
export function killed(child, signal = 'SIGKILL') {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => {
    child.once('exit', () => ok());
    child.kill(signal);
  });
}

/** One POST to a full URL: its status and JSON answer (status 0 when the connection failed). */
export function postTo(url, body, headers) {
  return new Promise((ok) => {
    const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': body.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let json = null;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString());
        } catch {
          // not JSON
        }
        ok({ status: res.statusCode, json });
      });
    });
    req.setTimeout(10_000, () => req.destroy());
    req.on('error', () => ok({ status: 0, json: null }));
    req.end(body);
  });
}

/** Runs `jobs` with at most `limit` at once. */
export async function pool(jobs, limit) {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < jobs.length) await jobs[next++]();
  }));
}

/**
 * The Worker in folder `dir` (its wrangler.toml and worker.mjs) bundled by Wrangler, as a user's
 * would be, against the packed package unpacked into its node_modules: the bundle's folder.
 */
export function buildWorker(dir) {
  const packed = mkdtempSync(join(tmpdir(), 'clhooks-scale-pack-'));
  const outdir = mkdtempSync(join(tmpdir(), 'clhooks-scale-worker-'));
  execFileSync('npm', ['pack', '--silent', '--pack-destination', packed], { cwd: join(root, 'pkg') });
  const installed = join(dir, 'node_modules/clhooks');
  rmSync(installed, { recursive: true, force: true });
  mkdirSync(installed, { recursive: true });
  const tarball = readdirSync(packed).find((f) => f.endsWith('.tgz'));
  execFileSync('tar', ['-xzf', join(packed, tarball), '-C', installed, '--strip-components=1']);
  execFileSync(join(root, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', outdir], {
    cwd: dir, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' }, stdio: 'pipe',
  });
  rmSync(packed, { recursive: true, force: true });
  return outdir;
}
