// Where a receiver's time goes under load: one server of equal.mjs (clhooks' node:http receiver
// with STORE none, memory or redis, or a twin with FILE=tests/bench/twins/NAME.mjs) run under
// `node --cpu-prof` while the bench's load generator sends it distinct 4 KiB deliveries, then its
// samples summed per request: by where the code comes from (the package's JavaScript, its wasm,
// Node's internals, the garbage collector, the syscalls), and the functions that cost most, by
// their own time and with what they call. Not part of `make bench`: a tool to look before
// changing anything.
//
// Usage: node tests/bench/profile.mjs PKG_DIR   (STORE=redis, FILE=..., SECONDS=6, TOP=25)

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SECRET, deliveries, fileCode, load, startRedis, startServer } from './load.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = resolve(process.argv[2] ?? 'pkg');
const file = resolve(process.env.FILE ?? join(here, 'clhooks-receiver.mjs'));
const seconds = Number(process.env.SECONDS ?? 6);
const top = Number(process.env.TOP ?? 25);
const out = mkdtempSync(join(tmpdir(), 'clhooks-profile-'));

const redis = await startRedis();
// The server ends itself on a line saying so, which writes its profile.
const quit = "\nprocess.stdin.on('data', (d) => { if (String(d).includes('quit')) process.exit(0); });\n";
const { child, port } = await startServer(fileCode(file) + quit,
  { CL_WEBHOOK_SECRET: SECRET, REDIS_URL: redis.url, PKG: pkgDir, STORE: process.env.STORE ?? 'redis' },
  ['--cpu-prof', `--cpu-prof-dir=${out}`]);
const agent = new Agent({ keepAlive: true, maxSockets: 32 });
const next = deliveries(4096);
await load(port, agent, next, 2);
const { done } = await load(port, agent, next, seconds);
child.stdin.write('quit\n');
await new Promise((ok) => child.once('exit', ok));
agent.destroy();
redis.stop();

const profile = JSON.parse(readFileSync(join(out, readdirSync(out).find((name) => name.endsWith('.cpuprofile'))), 'utf8'));
rmSync(out, { recursive: true, force: true });
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const name = ({ callFrame: { functionName, url, lineNumber } }) => `${functionName || '(anonymous)'} ${url.split('/').pop()}${url ? `:${lineNumber + 1}` : ''}`;
const origin = ({ callFrame: { url, functionName } }) => {
  if (!url) return functionName === '(idle)' || functionName === '(garbage collector)' || functionName === '(program)' ? functionName : `native: ${functionName}`;
  if (url.includes('wasm')) return 'the package\'s wasm';
  if (url.startsWith('file://') && url.includes(pkgDir)) return `the package's ${url.split('/').pop()}`;
  if (url.includes('node_modules')) return `node_modules/${url.split('node_modules/')[1].split('/')[0]}`;
  if (url.startsWith('node:')) return 'Node\'s internals';
  return url.split('/').pop();
};
const per = (us) => `${(us / done).toFixed(2)} µs`;
const byOrigin = new Map();
const byFunction = new Map();
for (const node of profile.nodes) {
  const us = self.get(node.id) ?? 0;
  byOrigin.set(origin(node), (byOrigin.get(origin(node)) ?? 0) + us);
  byFunction.set(name(node), (byFunction.get(name(node)) ?? 0) + us);
}
// A function's time with what it calls, counted once where it calls itself.
const total = (id) => (self.get(id) ?? 0) + (nodes.get(id).children ?? []).reduce((sum, child) => sum + total(child), 0);
const parents = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
const inclusive = new Map();
for (const node of profile.nodes) {
  const key = name(node);
  let up = parents.get(node.id);
  let nested = false;
  while (up !== undefined && !nested) {
    nested = name(nodes.get(up)) === key;
    up = parents.get(up);
  }
  if (!nested) inclusive.set(key, (inclusive.get(key) ?? 0) + total(node.id));
}

console.log(`\n${file.split('/').pop()} (STORE=${process.env.STORE ?? 'redis'}): ${done.toLocaleString('en')} requests in ${seconds} s; self time per request, by origin`);
console.log('| origin | per request |\n|---|---|');
for (const [key, us] of [...byOrigin].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`| ${key} | ${per(us)} |`);
console.log('\n| function | self, per request | with what it calls |\n|---|---|---|');
for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`| ${key} | ${per(us)} | ${per(inclusive.get(key) ?? us)} |`);
