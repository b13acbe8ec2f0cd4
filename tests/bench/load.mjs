// What the `make bench` receiver tables share: a free port, a server process started from a
// file or from code, distinct freshly signed deliveries (the load generator signs each one: the
// same cost for every server), keep-alive load for a while with each answer's time, percentiles,
// and a Redis of the bench's own on loopback.

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SECRET = 'bench-secret';
export const CONCURRENCY = 32;

export const freePort = () => new Promise((ok) => {
  const server = netServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => ok(port));
  });
});

// Each server also answers a line on stdin with its CPU time so far (µs), its RSS, V8's heap:
// reserved and used, the young generation's reserve (V8's new space, which grows with the rate
// of allocation), and ArrayBuffers' memory (bytes).
const PROBE = `
const { getHeapSpaceStatistics } = await import('node:v8');
process.stdin.on('data', () => {
  const { user, system } = process.cpuUsage();
  const { rss, heapTotal, heapUsed, arrayBuffers } = process.memoryUsage();
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
  process.stdout.write(\`\${user + system} \${rss} \${heapTotal} \${heapUsed} \${young} \${arrayBuffers}\\n\`);
});`;

/**
 * A server process: `code` (an ES module's text) run with `env`; it prints its port first.
 * Node's own flags in `flags`.
 */
export function startServer(code, env = {}, flags = []) {
  const child = spawn('node', [...flags, '--input-type=module', '-e', code + PROBE], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  return new Promise((ok, fail) => {
    child.once('exit', (status) => fail(new Error(`a bench server exited (${status}) before it listened`)));
    child.stdout.once('data', (d) => ok({ child, port: Number(String(d).trim()) }));
  });
}

/** A server file's code, to run with `startServer`. */
export const fileCode = (path) => `await import(${JSON.stringify(path)});`;

/** The server's CPU time so far (µs), its RSS, V8's heap (reserved, used, the young generation's reserve) and ArrayBuffers' memory (bytes). */
export function probe(child) {
  return new Promise((ok) => {
    child.stdout.once('data', (d) => {
      const [cpu, rss, heapTotal, heapUsed, young, arrayBuffers] = String(d).trim().split(' ').map(Number);
      ok({ cpu, rss, heapTotal, heapUsed, young, arrayBuffers });
    });
    child.stdin.write('probe\n');
  });
}

/**
 * Distinct deliveries: a `size`-byte JSON:API document with its own id each time, signed here.
 * With `repeat`, ids go round `repeat` of them (the duplicate path after the first round).
 */
export function deliveries(size = 4096, repeat = 0) {
  let sent = 0;
  const head = '{"data":{"id":"o';
  const pad = (id) => 'x'.repeat(Math.max(0, size - 64 - id.length));
  return () => {
    sent += 1;
    const id = String(repeat > 0 ? sent % repeat : sent);
    const body = Buffer.from(`${head}${id}","type":"orders","attributes":{"status":"placed","note":"${pad(id)}"}}}`);
    const headers = {
      'content-type': 'application/vnd.api+json',
      'content-length': body.length,
      'x-commercelayer-signature': createHmac('sha256', SECRET).update(body).digest('base64'),
      'x-commercelayer-topic': 'orders.place',
    };
    return { body, headers };
  };
}

/**
 * Load on `port` for `seconds` from `CONCURRENCY` keep-alive connections of `agent`, each
 * request `next()`'s; each answer's time (ms) pushed to `times` when given. A status outside
 * `ok` (200 by default) is an error.
 */
export async function load(port, agent, next, seconds, times = undefined, ok = [200], count = Infinity) {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  let started = 0;
  let errors = 0;
  const one = () => new Promise((settle) => {
    const { body, headers } = next();
    const started = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/hooks', method: 'POST', agent, headers }, (res) => {
      if (!ok.includes(res.statusCode)) errors++;
      res.resume();
      res.on('end', () => {
        times?.push(performance.now() - started);
        settle();
      });
    });
    req.on('error', () => { errors++; settle(); });
    req.end(body);
  });
  const worker = async () => {
    while (performance.now() < deadline && started < count) {
      started++;
      await one();
      done++;
    }
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { ms: performance.now() - began, errors, done };
}

/** `count` requests on `port` (as `load`, with no time limit). */
export const loadCount = (port, agent, next, count) => load(port, agent, next, Infinity, undefined, [200], count);

export const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

/** A redis-server of the bench's own on a free loopback port (`aof`: append-only, fsync every second). */
export async function startRedis({ aof = false } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'clhooks-bench-'));
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', aof ? 'yes' : 'no',
    '--appendfsync', 'everysec', '--dir', work], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((ok) => child.stdout.on('data', (d) => { if (/Ready to accept/.test(d)) ok(); }));
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => {
      child.kill();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
