// Every code block of README.md, pkg-templates/README.md and docs/*.md, run as a reader would
// run it, against the packed npm package and the built command line:
//
// - a JavaScript block that starts a server (node:http, Express, Fastify, Hono) is started, on
//   a free loopback port (tests/docs/listen.mjs), and sent three deliveries of the captured
//   orders.place payload signed with CL_WEBHOOK_SECRET: a fresh one (200), the same again
//   (200, its handlers not run again) and a tampered one (401); a Worker (`export default {
//   fetch }`) is bundled by Wrangler and served by workerd (Miniflare), a Next.js route or a
//   Lambda handler is called as those platforms call it (tests/docs/drive.mjs), with the same
//   three deliveries; a Deno or Bun server runs in Deno or Bun (tests/docs/serve.mjs moves it
//   to a free port); any other block runs to its end and must exit 0. A block with `require`
//   and no `import` runs as CommonJS.
// - a TypeScript block is type-checked against the package's declarations.
// - a shell block that names the command line (`clhooks`, `npx clhooks`) runs in bash, with
//   `clhooks` the Rust build and `npx clhooks` the package's, in a folder holding the captured
//   payload as payload.json; a block whose last command is `listen` stays up, in the
//   background, for the blocks after it in the same file.
// - a Rust block is a doctest (examples/rust-receiver compiles and runs them: `cargo test
//   --doc`); one that starts a server must be a file of that example, named by a
//   `<!-- same as PATH -->` comment on the line before it, and is run here as above.
//
// A block that cannot run says why on the line before it: `<!-- not run: REASON -->`. Blocks of
// configuration (toml, json, text) and install lines (`npm install`, `cargo add`, `make`) are
// listed, not run. Prints one line per block and fails on any that did not do what it shows.
//
// Usage: node tests/docs/run.mjs   (after `make examples-pkg`, the CLI and the Rust example built)

import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const here = join(root, 'tests/docs');
// Inside the repository, so that the snippets find the dev dependencies (express, fastify, hono,
// redis, ioredis) in its node_modules, as they would find them in a reader's project.
const work = join(root, 'target/doc-snippets');
const node = process.execPath;
const DENO = resolve(root, process.env.DENO ?? 'target/tools/node_modules/.bin/deno');
const BUN = join(root, 'node_modules/.bin/bun');
const SECRET = 'docs-secret';
const fixture = readFileSync(join(root, 'tests/vectors/orders-place-payload.json'));
const TOPIC = 'orders.place';

const files = ['README.md', 'pkg-templates/README.md',
  ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

/** The fenced blocks of a Markdown file, each with its language, line and the comment before it. */
function blocks(file) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const found = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)([^`]*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang, info] = open;
    const start = i;
    const body = [];
    for (i += 1; i < lines.length && !lines[i].startsWith(`${indent}${fence}`); i += 1) body.push(lines[i].slice(indent.length));
    let before = start - 1;
    while (before >= 0 && lines[before].trim() === '') before -= 1;
    const comment = before >= 0 ? /^\s*<!--\s*(.*?)\s*-->\s*$/.exec(lines[before]) : null;
    found.push({ file, line: start + 1, lang: lang.toLowerCase(), info: info.trim(), code: `${body.join('\n')}\n`, note: comment?.[1] ?? '' });
  }
  return found;
}

const sign = (body, secret = SECRET) => createHmac('sha256', secret).update(body).digest('base64');
// Tampered, and still JSON (a parser in front of clhooks would refuse broken JSON on its own).
const tampered = Buffer.from(fixture.toString().replace('28030653', '28030654'));
if (tampered.equals(fixture)) throw new Error('the fixture no longer holds the order number this runner changes');
const DELIVERIES = [
  { name: 'signed', body: fixture, expect: 200 },
  { name: 'duplicate', body: fixture, expect: 200 },
  { name: 'tampered', body: tampered, signature: sign(fixture), expect: 401 },
].map((d) => ({ ...d, headers: { 'Content-Type': 'application/json', 'X-CommerceLayer-Topic': TOPIC, 'X-CommerceLayer-Signature': d.signature ?? sign(d.body) } }));

/** Checks the answers to DELIVERIES; the handler's log (when it prints the topic) shows one run. */
function judge(answers, output = '') {
  const got = answers.map((a) => a.status);
  const want = DELIVERIES.map((d) => d.expect);
  if (got.join() !== want.join()) return `answered ${got.join(', ')} to ${DELIVERIES.map((d) => d.name).join(', ')}; expected ${want.join(', ')} (${answers.map((a) => String(a.body).slice(0, 160)).join(' | ')})`;
  const runs = output.split('\n').filter((l) => l.includes(TOPIC) && !l.startsWith('snippet listening')).length;
  if (runs > 1) return `the handler ran ${runs} times for one delivery and its duplicate:\n${output}`;
  return null;
}

async function post(url, delivery) {
  const response = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
}

/** Starts a command and resolves when a line of its output matches `ready`; collects the output. */
function start(cmd, args, options, ready, what) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
  const state = { child, output: '' };
  state.stop = () => new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', done);
    try { process.kill(-child.pid, 'SIGTERM'); } catch { done(); }
    setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 3000).unref();
  });
  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => { state.stop(); rejectStart(new Error(`${what} did not start within 60 s:\n${state.output}`)); }, 60_000);
    const onData = (data) => {
      state.output += data;
      const match = ready.exec(state.output);
      if (match && !state.match) {
        state.match = match;
        clearTimeout(timer);
        resolveStart(state);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!state.match) rejectStart(new Error(`${what} exited (${code ?? signal}) before listening:\n${state.output}`));
    });
  });
}

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    }).on('error', fail);
  });
}

function isFree(port) {
  return new Promise((done) => {
    const server = createServer().once('error', () => done(false)).listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

// The folder the snippets run in: the packed package installed as npm installs it, the payload.
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, 'node_modules/clhooks'), { recursive: true });
const tarball = readdirSync(join(root, 'target/pack')).find((f) => /^clhooks-.*\.tgz$/.test(f));
if (!tarball) throw new Error('no packed package in target/pack: run `make examples-pkg` first');
const untar = spawnSync('tar', ['-xzf', join(root, 'target/pack', tarball), '-C', join(work, 'node_modules/clhooks'), '--strip-components=1']);
if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
writeFileSync(join(work, 'payload.json'), fixture);
// Deno resolves `clhooks` from node_modules where a package.json says it is a Node project.
writeFileSync(join(work, 'package.json'), '{ "private": true }\n');
// `clhooks` is the Rust build; `npx clhooks` the package's command line, as npx runs it.
mkdirSync(join(work, 'bin'));
symlinkSync(resolve(root, process.env.CLHOOKS ?? 'target/debug/clhooks'), join(work, 'bin/clhooks'));
writeFileSync(join(work, 'bin/npx'), `#!/bin/sh\n[ "$1" = clhooks ] || { echo "snippets run npx clhooks only, not npx $1" >&2; exit 2; }\nshift\nexec "${node}" "${join(work, 'node_modules/clhooks/cli.mjs')}" "$@"\n`);
chmodSync(join(work, 'bin/npx'), 0o755);

// A Redis server of the runner's own, on loopback, emptied before each snippet.
const redisPort = await freePort();
const redis = await start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  { cwd: work }, /Ready to accept connections/, 'redis-server');
const flushRedis = () => spawnSync('redis-cli', ['-p', String(redisPort), 'FLUSHALL'], { encoding: 'utf8' });

const env = {
  ...process.env, CL_WEBHOOK_SECRET: SECRET, REDIS_URL: `redis://127.0.0.1:${redisPort}`,
  PATH: `${join(work, 'bin')}:${dirname(node)}:${process.env.PATH}`, NO_COLOR: '1', NODE_ENV: 'production',
};

const snippetFile = (block, ext) => {
  const name = `${block.file.replace(/[^\w]+/g, '-')}-${block.line}${ext}`;
  writeFileSync(join(work, name), block.code);
  return join(work, name);
};

// Comments left out: a trailing `# … npx clhooks` names the command line without running it.
const uncommented = (code) => code.replace(/(^|\s)#.*$/gm, '');
// `clhooks` or `npx clhooks` where a command starts: a line, a pipe, `&&`, `$(`.
const isCli = (code) => /(^|[;&|(])\s*(npx\s+)?clhooks\s/m.test(uncommented(code));
const isInstall = (code) => code.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'))
  .every((l) => /^\s*(npm (install|i|init)|cargo (add|install)|make|git clone|cd|rustup)\b/.test(l));

/** How a JavaScript block runs: a Worker, a Next.js route, a Lambda handler, a server (in Deno, Bun or Node), or a script. */
function jsKind(code) {
  if (/^\s*export\s+default\b/m.test(code)) return 'worker';
  if (/export\s+(async\s+)?function\s+POST\b/.test(code)) return 'next';
  if (/export\s+const\s+handler\b/.test(code)) return 'lambda';
  if (/\bDeno\.serve\(/.test(code)) return 'deno server';
  if (/\bBun\.serve\(/.test(code)) return 'bun server';
  if (/\.listen\(|\bserve\(\{/.test(code)) return 'node server';
  return 'script';
}

async function runJs(block) {
  const cjs = /\brequire\(/.test(block.code) && !/^\s*import\s/m.test(block.code);
  const file = snippetFile(block, cjs ? '.cjs' : '.mjs');
  flushRedis();
  const deliveries = DELIVERIES.map((d) => ({ body: d.body.toString('base64'), headers: d.headers }));
  const kind = jsKind(block.code);
  if (kind === 'worker') return runWorker(block, file);
  if (kind === 'next' || kind === 'lambda') {
    const driven = kind;
    const out = spawnSync(node, [join(here, 'drive.mjs'), driven, file], { cwd: work, env, input: JSON.stringify(deliveries), encoding: 'utf8', timeout: 60_000 });
    if (out.status !== 0) return `exited ${out.status ?? out.signal}: ${out.stderr}`;
    const lines = out.stdout.trim().split('\n');
    return judge(JSON.parse(lines.pop()), lines.join('\n'));
  }
  // Deno and Bun run their own servers; anything else that listens runs in Node.
  const runtime = { 'deno server': [DENO, ['run', '-A', '--preload', join(here, 'serve.mjs'), file]],
    'bun server': [BUN, ['--preload', join(here, 'serve.mjs'), file]],
    'node server': [node, ['--import', join(here, 'listen.mjs'), file]] }[kind];
  if (runtime) {
    const server = await start(runtime[0], runtime[1], { cwd: work, env }, /snippet listening on (\d+)/, 'the snippet');
    try {
      const url = `http://127.0.0.1:${server.match[1]}/webhooks`;
      const answers = [];
      for (const delivery of DELIVERIES) answers.push(await post(url, delivery));
      return judge(answers, server.output);
    } finally {
      await server.stop();
    }
  }
  const out = spawnSync(node, [file], { cwd: work, env, encoding: 'utf8', timeout: 60_000 });
  return out.status === 0 ? null : `exited ${out.status ?? out.signal}:\n${out.stdout}${out.stderr}`;
}

async function runWorker(block, file) {
  const outdir = join(work, `worker-${block.line}`);
  const build = spawnSync(join(root, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', outdir, '--name', 'snippet',
    '--compatibility-date', '2026-04-01', file], { cwd: work, env: { ...env, WRANGLER_SEND_METRICS: 'false', CI: 'true' }, encoding: 'utf8', timeout: 120_000 });
  if (build.status !== 0) return `wrangler could not bundle it:\n${build.stdout}${build.stderr}`;
  const { Miniflare } = await import(join(root, 'node_modules/miniflare/dist/src/index.js'));
  const script = readdirSync(outdir).find((f) => f.endsWith('.js'));
  const mf = new Miniflare({
    modules: true, scriptPath: join(outdir, script), modulesRoot: outdir,
    modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-01',
    bindings: { CL_WEBHOOK_SECRET: SECRET },
    ...(/SeenStoreObject/.test(block.code) ? { durableObjects: { SEEN: 'SeenStoreObject' } } : {}),
    // A handoff Worker gets its queue, and consumes it, as its wrangler.toml in the docs says.
    ...(/createCloudflareQueue/.test(block.code)
      ? { queueProducers: { QUEUE: 'clhooks' }, queueConsumers: { clhooks: { maxBatchSize: 10, maxBatchTimeout: 0, maxRetries: 2 } } } : {}),
  });
  const logs = [];
  try {
    await mf.ready;
    const answers = [];
    for (const delivery of DELIVERIES) {
      const response = await mf.dispatchFetch('http://localhost/webhooks', { method: 'POST', headers: delivery.headers, body: delivery.body });
      answers.push({ status: response.status, body: await response.text() });
    }
    return judge(answers, logs.join('\n'));
  } finally {
    await mf.dispose();
  }
}

function runTs(block) {
  const file = snippetFile(block, '.mts');
  const out = spawnSync(node, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', file], { cwd: work, env, encoding: 'utf8', timeout: 120_000 });
  return out.status === 0 ? null : `does not type-check:\n${out.stdout}${out.stderr}`;
}

const servers = [];
async function runShell(block) {
  const lines = block.code.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  const last = lines.at(-1) ?? '';
  if (/\bclhooks\s+listen\b/.test(last) && !/&\s*$/.test(last)) {
    // A receiver for the blocks after it: up until the end of the file. Its port is the one a
    // reader would use (outside the range the system hands out), so it must be free.
    const port = /--port\s+(\d+)/.exec(last)?.[1];
    if (port && !(await isFree(Number(port)))) return `port ${port}, which this block listens on, is taken on 127.0.0.1: stop what listens there`;
    const server = await start('bash', ['-euo', 'pipefail', '-c', block.code], { cwd: work, env }, /listening on (http:\/\/\S+)/, 'the listen');
    servers.push(server);
    return null;
  }
  const out = spawnSync('bash', ['-euo', 'pipefail', '-c', block.code], { cwd: work, env, encoding: 'utf8', timeout: 120_000 });
  return out.status === 0 ? null : `exited ${out.status ?? out.signal}:\n${out.stdout}${out.stderr}`;
}

async function runRustServer(block) {
  const same = /^same as (\S+)$/.exec(block.note);
  if (!same) return 'a Rust block that starts a server must be a file of examples/rust-receiver, named by <!-- same as PATH --> before it';
  const path = join(root, same[1]);
  if (!existsSync(path)) return `${same[1]} does not exist`;
  if (readFileSync(path, 'utf8') !== block.code) return `differs from ${same[1]}: copy one onto the other`;
  const name = same[1].replace(/^.*\/examples\/([\w-]+)\.rs$/, '$1');
  const binary = join(root, 'target/rust-receiver/release/examples', name);
  const server = await start(binary, [], { cwd: work, env: { ...env, PORT: '0' } }, /listening on (\S+)/, same[1]);
  try {
    const port = server.match[1].split(':').pop();
    const answers = [];
    for (const delivery of DELIVERIES) answers.push(await post(`http://127.0.0.1:${port}/webhooks`, delivery));
    return judge(answers, server.output);
  } finally {
    await server.stop();
  }
}

// The files holding Rust blocks are the ones the doctest harness includes.
const harness = readFileSync(join(root, 'examples/rust-receiver/docs.rs'), 'utf8');
const included = new Set([...harness.matchAll(/include_str!\("\.\.\/\.\.\/([^"]+)"\)/g)].map((m) => m[1]));

const results = [];
let failed = 0;
try {
  for (const file of files) {
    for (const block of blocks(file)) {
      const where = `${block.file}:${block.line}`;
      let kind;
      let error = null;
      const notRun = /^not run:\s*(.+)$/.exec(block.note);
      try {
        if (notRun) kind = `not run: ${notRun[1]}`;
        else if (/^not run/.test(block.note)) { kind = 'not run'; error = '<!-- not run --> must say why: <!-- not run: REASON -->'; }
        else if (['js', 'javascript', 'mjs', 'cjs'].includes(block.lang)) { kind = `javascript: ${jsKind(block.code)}`; error = await runJs(block); }
        else if (['ts', 'typescript'].includes(block.lang)) { kind = 'typescript'; error = runTs(block); }
        else if (['sh', 'bash', 'shell', 'console'].includes(block.lang)) {
          if (isCli(block.code)) { kind = 'shell'; error = await runShell(block); }
          else if (isInstall(block.code)) kind = 'install lines';
          else { kind = 'shell'; error = 'a shell block that names neither the command line nor an install: mark it <!-- not run: REASON -->'; }
        } else if (block.lang === 'rust' && !included.has(block.file)) {
          kind = 'rust';
          error = `${block.file} holds Rust blocks: include it in examples/rust-receiver/docs.rs, so that they compile`;
        } else if (block.lang === 'rust') {
          const server = /\.serve\(|TcpListener::bind/.test(block.code);
          if (server) { kind = 'rust server'; error = await runRustServer(block); }
          else kind = 'rust doctest';
          if (!server && /^\s*#\s/m.test(block.code)) error = "rustdoc's hidden lines (`# `) are not valid Rust when copied: write the whole program";
        } else if (['toml', 'json', 'text', 'txt', ''].includes(block.lang)) kind = `${block.lang || 'plain'} (not code)`;
        else { kind = block.lang; error = `a ${block.lang} block the runner does not know: mark it <!-- not run: REASON -->`; }
      } catch (e) {
        error = e.stack ?? String(e);
      }
      results.push([where, kind, error]);
      if (error) failed += 1;
      console.log(`${error ? 'FAIL' : 'ok  '} ${where.padEnd(34)} ${kind}${error ? `\n     ${error.replace(/\n/g, '\n     ')}` : ''}`);
    }
    while (servers.length) await servers.pop().stop();
  }
} finally {
  while (servers.length) await servers.pop().stop();
  await redis.stop();
}
const ran = results.filter(([, kind]) => /^(javascript|typescript|shell|rust server)/.test(kind)).length;
console.log(`\n${results.length} blocks in ${files.length} files: ${ran} run here, ${results.filter(([, k]) => k === 'rust doctest').length} Rust doctests (cargo test --doc), ${results.length - ran - results.filter(([, k]) => k === 'rust doctest').length} listed; ${failed} failed`);
if (failed) process.exit(1);
