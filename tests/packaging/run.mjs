// Tests the npm package the way users get it: `npm pack` of pkg/, installed from the tarball
// into the fixture projects beside this file, then the shared vectors run in Node (ESM and
// CommonJS), Deno, Bun, workerd (a Worker built by Wrangler, run by Miniflare) and headless
// Chromium, whose results must all be identical; plus signed POSTs to the Worker and a
// type-check of code written against the .d.ts. The Node checks run on the Node running this
// script and again on each Node binary listed in NODES, from the same install.
//
// Usage: [NODES="path/to/node ..."] node tests/packaging/run.mjs   (after `make pkg`, with the dev
// dependencies installed)

import { execFileSync, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serveFiles } from '../support/chromium.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const bin = (name) => join(root, 'node_modules/.bin', name);
const vectorsDir = join(root, 'tests/vectors');
const checks = [];
const check = (name, ok, detail = '') => {
  checks.push({ name, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `  ${detail}` : ''}`);
};

function run(cmd, args, options = {}) {
  const out = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 300_000, ...options });
  if (out.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${out.status}\n${out.stdout}\n${out.stderr}`);
  }
  return out.stdout;
}

// Each Node to test: its binary, version, and a PATH on which `#!/usr/bin/env node` finds it.
const nodes = [process.execPath, ...(process.env.NODES ?? '').split(/\s+/).filter(Boolean).map((p) => resolve(root, p))]
  .map((node) => ({
    node,
    version: run(node, ['--version']).trim().slice(1),
    env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}` },
  }));

function parseResult(stdout) {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no RESULT line in:\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length));
}

// 1. Pack and install.
const packDir = mkdtempSync(join(tmpdir(), 'clhooks-pack-'));
const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: join(root, 'pkg') }));
const tarball = join(packDir, packed[0].filename);
console.log(`packed ${packed[0].filename}: ${packed[0].size} bytes, ${packed[0].entryCount} files`);
const projects = ['node-esm', 'node-cjs', 'worker', 'browser', 'types'];
for (const project of projects) {
  rmSync(join(here, project, 'node_modules'), { recursive: true, force: true });
  run('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--offline', tarball], {
    cwd: join(here, project),
  });
}

// 2. The vectors in every runtime.
const reports = [];
const attempt = (runtime, fn) => {
  try {
    reports.push(fn());
  } catch (e) {
    check(`${runtime} ran`, false, e.message.slice(0, 2000));
  }
};
for (const { node, version } of nodes) {
  for (const [project, script] of [['node-esm', 'test.mjs'], ['node-cjs', 'test.cjs']]) {
    const runtime = `${project} ${version}`;
    attempt(runtime, () => ({ ...parseResult(run(node, [script], { cwd: join(here, project) })), runtime }));
  }
}
attempt('deno', () => parseResult(run(resolve(root, process.env.DENO ?? 'target/tools/node_modules/.bin/deno'), ['run', '--allow-read', '--allow-env', 'test.mjs'], {
  cwd: join(here, 'node-esm'), env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
})));
attempt('bun', () => parseResult(run(bin('bun'), ['test.mjs'], { cwd: join(here, 'node-esm') })));

const { loadFiles } = await import('./vectors.mjs');
const files = await loadFiles((path) => readFileSync(join(root, path)));
files.fixture = Buffer.from(files.fixture).toString('base64');

async function inWorkerd() {
  const outdir = mkdtempSync(join(tmpdir(), 'clhooks-worker-'));
  run(bin('wrangler'), ['deploy', '--dry-run', '--outdir', outdir], {
    cwd: join(here, 'worker'),
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
  });
  const { Miniflare } = await import(join(root, 'node_modules/miniflare/dist/src/index.js'));
  const wasm = readdirSync(outdir).filter((f) => f.endsWith('.wasm'));
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(outdir, 'worker.js'),
    modulesRoot: outdir,
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2026-04-01',
    bindings: { CL_WEBHOOK_SECRET: 'worker-secret' },
  });
  try {
    check("wrangler bundles the workerd export with its four .wasm modules (the receiver's, the sender's, the allow-list's, the worker's)", wasm.length === 4, wasm.join(', '));
    const report = await (await mf.dispatchFetch('http://localhost/vectors', { method: 'POST', body: JSON.stringify(files) })).json();
    const fixture = readFileSync(join(vectorsDir, 'orders-place-payload.json'));
    const { sign } = await import(join(here, 'node-esm/node_modules/clhooks/node.mjs'));
    const post = async (body, headers) => {
      const res = await mf.dispatchFetch('http://localhost/hooks', { method: 'POST', body, headers });
      const json = await res.json();
      return `${res.status} ${json.error ?? json.received}`;
    };
    const signature = sign(fixture, 'worker-secret');
    const topic = { 'X-CommerceLayer-Topic': 'orders.place' };
    const tampered = Buffer.from(fixture);
    tampered[100] ^= 1;
    const cases = [
      ['signed orders.place', fixture, { ...topic, 'X-CommerceLayer-Signature': signature }, '200 orders.place'],
      ['tampered body', tampered, { ...topic, 'X-CommerceLayer-Signature': signature }, '401 signature_mismatch'],
      ['no signature', fixture, topic, '401 missing_signature'],
      ['wrong secret', fixture, { ...topic, 'X-CommerceLayer-Signature': sign(fixture, 'other') }, '401 signature_mismatch'],
      ['topic about another resource', fixture, { 'X-CommerceLayer-Topic': 'shipments.ship', 'X-CommerceLayer-Signature': signature }, '400 topic_mismatch'],
    ];
    for (const [name, body, headers, expected] of cases) {
      const got = await post(body, headers);
      check(`workerd answers ${name} with ${expected.slice(0, 3)}`, got === expected, got === expected ? '' : got);
    }
    return report;
  } finally {
    await mf.dispose();
    rmSync(outdir, { recursive: true, force: true });
  }
}

async function inChromium() {
  const server = await serveFiles(root);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/tests/packaging/browser/index.html`);
    await page.waitForFunction(() => window.clhooksReport, null, { timeout: 120_000 });
    check('the page has no console errors', errors.length === 0, errors.join(' | '));
    return await page.evaluate(() => window.clhooksReport);
  } finally {
    await browser.close();
    server.close();
  }
}

for (const [runtime, fn] of [['workerd', inWorkerd], ['chromium', inChromium]]) {
  try {
    reports.push(await fn());
  } catch (e) {
    check(`${runtime} ran`, false, e.stack.slice(0, 2000));
  }
}

// 3. Every runtime passes every vector, with identical results.
console.log('\nruntime            vectors passed  failed');
for (const r of reports) {
  console.log(`${r.runtime.padEnd(18)} ${String(r.passed).padStart(14)}  ${r.failed}`);
  for (const f of r.failures.slice(0, 10)) console.log(`    ${f.name}: expected ${f.expected}, got ${f.got}`);
  check(`${r.runtime} passes every vector`, r.failed === 0 && r.passed > 0);
}
check(`six runtimes reported, Node ESM and CJS on Node ${nodes.map((n) => n.version).join(', ')}`,
  reports.length === 4 + 2 * nodes.length, reports.map((r) => r.runtime).join(', '));
// What each runtime got for each check; `Buffer` exists only where Node's APIs do, so that one
// body form is left out of the comparison.
const comparable = (r) => JSON.stringify(r.results.filter(({ name }) => name !== 'body as Buffer').map(({ name, got }) => [name, got]));
check('all runtimes give identical results', reports.length > 0 && reports.every((r) => comparable(r) === comparable(reports[0])));

// The installed package in each Node: which module a receiver loads, the subpaths, the
// inspector and the command line (their bins run by that Node through `#!/usr/bin/env node`).
const { spawn } = await import('node:child_process');
for (const { node, version, env } of nodes) {
  const on = ` on Node ${version}`;
  // The sender's module is loaded by the first simulate() (or sign()), not by a receiver.
  try {
    const probe = `
      const clhooks = require('clhooks');
      const loaded = () => Object.keys(require.cache).some((k) => k.endsWith('sender-web.cjs'));
      const body = '{"data":{"id":"o1","type":"orders","attributes":{}}}';
      const signature = require('node:crypto').createHmac('sha256', 's').update(body).digest('base64');
      clhooks.receive(body, { 'x-commercelayer-signature': signature, 'x-commercelayer-topic': 'orders.place' }, 's');
      new clhooks.Webhooks({ secret: 's' });
      const before = loaded();
      clhooks.simulate({ webhooks: [] });
      console.log(JSON.stringify({ before, after: loaded() }));`;
    const got = run(node, ['-e', probe], { cwd: join(here, 'node-cjs') }).trim();
    check(`a receiver never loads the sender's module; simulate() loads it${on}`, got === '{"before":false,"after":true}', got);
  } catch (e) {
    check(`a receiver never loads the sender's module${on}`, false, e.message);
  }

  // The subpaths of the tarball, as a user reaches them: require() and import in Node.
  try {
    const cjs = run(node, ['-e', `console.log(JSON.stringify([typeof require('clhooks/fastify'), typeof require('clhooks/fastify').default,
      typeof require('clhooks/lambda').createLambdaHandler, typeof require('clhooks/redis').createRedisStore]))`], { cwd: join(here, 'node-cjs') }).trim();
    check(`clhooks/fastify, clhooks/lambda and clhooks/redis load with require()${on}`, cjs === '["function","function","function","function"]', cjs);
    const esm = run(node, ['--input-type=module', '-e', `const [f, l, r, t] = await Promise.all(['clhooks/fastify', 'clhooks/lambda', 'clhooks/redis', 'clhooks/sdk'].map((m) => import(m)));
      console.log(JSON.stringify([typeof f.default, typeof l.createLambdaHandler, typeof r.createRedisStore, Object.keys(t).length]))`], { cwd: join(here, 'node-esm') }).trim();
    check(`clhooks/fastify, clhooks/lambda, clhooks/redis and the types-only clhooks/sdk load with import${on}`, esm === '["function","function","function",0]', esm);
  } catch (e) {
    check(`the subpaths load${on}`, false, e.message);
  }

  // 4. The inspector that ships in the package: `npx clhooks-inspector` serves it on loopback.
  try {
    const child = spawn(join(here, 'node-esm/node_modules/.bin/clhooks-inspector'), ['0'], { stdio: ['ignore', 'pipe', 'inherit'], env });
    const url = await new Promise((ok, fail) => {
      child.stdout.once('data', (d) => ok(/(http:\S+)/.exec(String(d))?.[1]));
      child.once('exit', (code) => fail(new Error(`exited ${code}`)));
    });
    const page = await fetch(url);
    const text = await page.text();
    const wasm = await fetch(new URL('../clhooks.wasm', url));
    child.kill();
    check(`npx clhooks-inspector serves the inspector and the package beside it${on}`,
      page.status === 200 && text.includes('clhooks <span>inspector</span>') && text.includes('"../browser.mjs"')
        && wasm.status === 200 && wasm.headers.get('content-type') === 'application/wasm', url);
  } catch (e) {
    check(`npx clhooks-inspector serves the inspector${on}`, false, e.message);
  }

  // 5. `npx clhooks`, the command line on the wasm core, from the installed package's bin.
  {
    const cli = join(here, 'node-esm/node_modules/.bin/clhooks');
    const signed = spawnSync(cli, ['sign', '--secret', 'abc', '-'], { input: '{"data":{}}', encoding: 'utf8', env });
    const topic = spawnSync(cli, ['topic', 'orders.place'], { encoding: 'utf8', env });
    const bad = spawnSync(cli, ['topic', 'orders'], { encoding: 'utf8', env });
    check(`npx clhooks signs, parses topics and exits 1 with the core's error${on}`,
      signed.status === 0 && signed.stdout === `${createHmac('sha256', 'abc').update('{"data":{}}').digest('base64')}\n`
        && topic.status === 0 && topic.stdout.startsWith('topic     orders.place\n')
        && bad.status === 1 && bad.stderr.startsWith('error[invalid_topic]: '),
      `${signed.stderr}${topic.stderr}`);
  }
}

// 6. The types: code written against the .d.ts, with `import` (esm.mts) and `require` (cjs.cts,
// sdk.cts), every typed subpath. node16 resolution refuses a require() of ES module types, so
// it catches a subpath whose CommonJS side lacks its .d.cts; nodenext and bundler are what most
// projects use.
for (const [config, flags, what] of [
  ['tsconfig.json', [], 'ESM and CJS, node16'],
  ['tsconfig.json', ['--module', 'nodenext', '--moduleResolution', 'nodenext'], 'ESM and CJS, nodenext'],
  ['tsconfig.sdk.json', [], 'CJS with clhooks/sdk, node16'],
  ['tsconfig.bundler.json', [], 'ESM, bundler'],
]) {
  const tsc = spawnSync(bin('tsc'), ['-p', join(here, 'types', config), ...flags], { encoding: 'utf8' });
  check(`code written against the .d.ts type-checks (tsc --noEmit: ${what})`, tsc.status === 0, tsc.stdout + tsc.stderr);
}
// The package's own JS layer against the generated types (index.d.ts from the Rust types,
// core/web.d.ts from wasm-bindgen): tsc --checkJs.
const checkJs = spawnSync(bin('tsc'), ['-p', join(here, 'checkjs')], { encoding: 'utf8' });
check("the package's JS type-checks against the generated declarations (tsc --checkJs)", checkJs.status === 0, checkJs.stdout + checkJs.stderr);

rmSync(packDir, { recursive: true, force: true });
const failed = checks.filter((c) => !c.ok).length;
console.log(`\npackaging: ${checks.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
