// `make bench`: speed and size of the npm package, printed as tables. Not a test: nothing here
// asserts a time. Node's own HMAC (node:crypto, which uses the CPU's SHA instructions) is the
// baseline, measured side by side in this one process with what a user would pick instead:
// Commerce Layer's own @commercelayer/sdk-utils, @octokit/webhooks-methods and svix (each
// verifying its own scheme). A second build of the core without wasm SIMD shows what +simd128
// buys, and the bare wasm core (no host HMAC) what node:crypto above 1 KiB buys.
//
// Usage: node tests/bench/bench.mjs PKG_DIR NOSIMD_NODE_GLUE

import { createHmac, timingSafeEqual } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const [pkgDir, noSimdGlue] = process.argv.slice(2).map((p) => resolve(p));
const require = createRequire(import.meta.url);
const clhooks = require(join(pkgDir, 'node.cjs'));
const noSimd = noSimdGlue ? require(noSimdGlue) : null;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Calls per batch for `fn` to take about 10 ms (at least one). */
async function calibrate(fn) {
  const isAsync = fn.constructor.name === 'AsyncFunction';
  let n = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < n; i++) isAsync ? await fn() : fn();
    const ms = performance.now() - t;
    if (ms > 10) return Math.max(1, Math.round((n * 10) / ms));
    n *= 2;
  }
}

/** µs per call of one batch of `n` calls. */
async function batch(fn, n) {
  const t = performance.now();
  if (fn.constructor.name === 'AsyncFunction') for (let i = 0; i < n; i++) await fn();
  else for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t) * 1000) / n;
}

/**
 * Median µs per call of each function, measured side by side: `rounds` rounds, each timing one
 * batch of every function in turn, so that the machine's drift (a busy neighbour, a slower
 * minute) reaches all of them alike and the ratios hold. Each function first runs for half a
 * second, so that what is measured is the engine's optimized code, as in a receiver that has
 * been up for a while.
 */
async function compare(fns, rounds = 15) {
  const sizes = [];
  for (const fn of fns) sizes.push(await calibrate(fn));
  for (let f = 0; f < fns.length; f++) {
    const start = performance.now();
    while (performance.now() - start < 500) await batch(fns[f], sizes[f]);
  }
  const samples = fns.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let f = 0; f < fns.length; f++) samples[f].push(await batch(fns[f], sizes[f]));
  }
  return samples.map(median);
}

/** Median µs per call of one function. */
const timeIt = async (fn, rounds = 15) => (await compare([fn], rounds))[0];

const fmt = (us) => (us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2));
const row = (cells, widths) => cells.map((c, i) => String(c).padStart(widths[i])).join('  ');

// Sizes.
const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: pkgDir, encoding: 'utf8' }))[0];
console.log('\nsize');
for (const [file, what] of [['clhooks.wasm', 'what a receiver loads'], ['clhooks-sender.wasm', 'loaded by the first simulate']]) {
  const wasm = readFileSync(join(pkgDir, file));
  console.log(`  ${file.padEnd(22)} ${wasm.length} bytes, ${gzipSync(wasm, { level: 9 }).length} gzipped (${what})`);
}
console.log(`  npm tarball              ${packed.size} bytes (${packed.unpackedSize} unpacked, ${packed.entryCount} files)`);

// Cold start: a fresh Node process each time, from the import to the first verified body.
const probe = (kind) => `
  const t0 = performance.now();
  ${kind === 'import' ? `const c = await import(${JSON.stringify(join(pkgDir, 'node.mjs'))});`
    : `const c = require(${JSON.stringify(join(pkgDir, 'node.cjs'))});`}
  const body = '{"data":{"id":"xYZkjABcde","type":"orders"}}';
  c.verify(body, 'dcMMllaEu7O4eft47o8+QFRvvFmxl5z+HJOtsMUzUG4=', '1c0994cc4e996e8c6ee56a2198f66f3c');
  console.log(performance.now() - t0);`;
console.log('\ncold start in Node (fresh process, import or require to the first verify; median of 15)');
for (const kind of ['import', 'require']) {
  const args = kind === 'import' ? ['--input-type=module', '-e', probe(kind)] : ['-e', probe(kind)];
  const ms = Array.from({ length: 15 }, () => Number(execFileSync('node', args, { encoding: 'utf8' })));
  console.log(`  ${kind.padEnd(8)} ${median(ms).toFixed(1)} ms (min ${Math.min(...ms).toFixed(1)})`);
}

// Verification speed.
const secret = 'bench-secret-1c0994cc4e996e8c6ee5';
const sizes = [['512 B', 512], ['4 KiB', 4096], ['64 KiB', 65536], ['1 MiB', 1 << 20]];
const widths = [44, 15, 15, 15, 15];
// JSON bodies (svix parses them) of exactly each size, ASCII so that text and bytes agree.
const texts = sizes.map(([, n]) => {
  const filler = Array.from({ length: n - 12 }, (_, i) => String.fromCharCode(97 + ((i * 31 + 7) % 26))).join('');
  return `{"padding":"${filler}"}`.slice(0, n - 2).padEnd(n - 2, 'a').replace(/.{2}$/, '"}') + '\n\n';
});
const bodies = texts.map((t) => new Uint8Array(Buffer.from(t)));
const signatures = bodies.map((b) => createHmac('sha256', secret).update(b).digest('base64'));
const textSignatures = texts.map((t) => createHmac('sha256', secret).update(t).digest('base64'));
const { checkSignature, denormalizePayload } = await import('@commercelayer/sdk-utils');
const octokit = await import('@octokit/webhooks-methods');
const { Webhook: SvixWebhook } = await import('svix');
const rawCore = require(join(pkgDir, 'core/web.cjs')).createCore(readFileSync(join(pkgDir, 'clhooks.wasm')));
const svixSecret = `whsec_${Buffer.from(secret).toString('base64')}`;
const svix = new SvixWebhook(svixSecret);
const lines = [
  ['node:crypto createHmac + timingSafeEqual', (i) => () => {
    const expected = Buffer.from(signatures[i], 'base64');
    const got = createHmac('sha256', secret).update(bodies[i]).digest();
    if (!timingSafeEqual(got, expected)) throw new Error('mismatch');
  }],
  ['clhooks Verifier.verify', (i) => {
    const v = new clhooks.Verifier(secret);
    return () => v.verify(bodies[i], signatures[i]);
  }],
  ['clhooks verify() one-shot', (i) => () => clhooks.verify(bodies[i], signatures[i], secret)],
  ['clhooks Verifier.verify, string body', (i) => {
    const v = new clhooks.Verifier(secret);
    return () => v.verify(texts[i], textSignatures[i]);
  }],
  ['  the wasm core alone (no host HMAC)', (i) => {
    const v = new rawCore.Verifier(secret);
    return () => v.verify(bodies[i], signatures[i]);
  }],
];
if (noSimd) {
  lines.push(['  the wasm core alone, without SIMD', (i) => {
    const v = new noSimd.Verifier(secret);
    return () => v.verify(bodies[i], signatures[i]);
  }]);
}
lines.push(
  ['@commercelayer/sdk-utils checkSignature', (i) => () => {
    if (!checkSignature(texts[i], textSignatures[i], secret).ok) throw new Error('sdk-utils refused');
  }],
  ['@octokit/webhooks-methods verify (async)', (i) => {
    const signature = `sha256=${createHmac('sha256', secret).update(texts[i]).digest('hex')}`;
    return async () => {
      if (!(await octokit.verify(secret, texts[i], signature))) throw new Error('octokit refused');
    };
  }],
  ['svix Webhook.verify (its own scheme)', (i) => {
    const headers = { 'svix-id': 'msg_1', 'svix-timestamp': String(Math.floor(Date.now() / 1000)) };
    headers['svix-signature'] = svix.sign('msg_1', new Date(Number(headers['svix-timestamp']) * 1000), texts[i]);
    return () => svix.verify(texts[i], headers);
  }],
);
console.log('\nverify one body: µs per call and × node:crypto, side by side in one process (median of 15 rounds)');
console.log(row(['', ...sizes.map(([n]) => n)], widths));
// Each size apart, every line side by side.
const bySize = [];
for (let i = 0; i < bodies.length; i++) bySize.push(await compare(lines.map(([, make]) => make(i))));
lines.forEach(([name], l) => {
  const cells = bySize.map((times, i) => `${fmt(times[l])} (${(times[l] / bySize[i][0]).toFixed(2)}×)`);
  console.log(row([name, ...cells], widths));
});

// A whole delivery: verify, topic, JSON:API checks, and the document as a JS object.
const fixture = readFileSync(join(pkgDir, '../tests/vectors/orders-place-payload.json'));
const fixtureText = fixture.toString('utf8');
const fixtureSignature = clhooks.sign(fixture, secret);
const headers = { 'x-commercelayer-signature': fixtureSignature, 'x-commercelayer-topic': 'orders.place' };
const verifier = new clhooks.Verifier(secret);
const receiveRows = [
  ['node:crypto verify + JSON.parse (the floor)', () => () => {
    const got = createHmac('sha256', secret).update(fixture).digest();
    if (!timingSafeEqual(got, Buffer.from(fixtureSignature, 'base64'))) throw new Error('mismatch');
    return JSON.parse(fixture.toString('utf8'));
  }],
  ['sdk-utils checkSignature + denormalizePayload', () => () => {
    if (!checkSignature(fixtureText, fixtureSignature, secret).ok) throw new Error('sdk-utils refused');
    return denormalizePayload(fixtureText);
  }],
  ['clhooks verifier.receive(body, headers)', () => () => verifier.receive(fixture, headers)],
  ['clhooks receive(...).denormalize()', () => () => verifier.receive(fixture, headers).denormalize()],
  // sdk-utils takes text: the same input for clhooks (no UTF-8 check of bytes to do).
  ['clhooks receive(text, ...).denormalize()', () => () => verifier.receive(fixtureText, headers).denormalize()],
];
// Each line first runs 2,000 times through a closure of its own, outside the table: measured
// without this, whichever clhooks line came first measured 1.5× what the same call measures
// in any later line (the engine's optimizing tier compiles the receive path while that first
// line alone is hot, and keeps that code); a long-running receiver is in the later state.
for (const [, make] of receiveRows) {
  const warm = make();
  for (let i = 0; i < 2000; i++) warm();
}
const receiveTimes = await compare(receiveRows.map(([, make]) => make()));
const [floor, helper] = receiveTimes;
console.log(`\nreceive the real orders.place delivery (${fixture.length} bytes): µs per call and × the floor`);
receiveRows.forEach(([name], i) => {
  const us = receiveTimes[i];
  console.log(`  ${name.padEnd(48)} ${fmt(us).padStart(6)}  (${(us / floor).toFixed(2)}× the floor, ${(us / helper).toFixed(2)}× sdk-utils)`);
});

// Where denormalize() of that delivery goes: the JS layer writes the parsed document's outline,
// the core checks it and plans the expansion, the JS layer copies the objects as planned.
{
  const { createDocuments } = await import(join(pkgDir, '../pkg-templates/outline.js'));
  const { outline, expand, weight } = createDocuments();
  const document = JSON.parse(fixtureText);
  const written = outline(document).slice();
  const weigh = (p) => weight(p === 0 ? document.data : document.included[p - 1]);
  rawCore.__setHooks(() => written, () => {});
  const plan = rawCore.denormalizePlan(document, undefined, weigh);
  const parts = [
    ['denormalize() of the parsed document, whole', () => clhooks.denormalize(document)],
    ['  the outline, written by the JS layer', () => outline(document)],
    ['  the core\'s check and plan of it (wasm)', () => rawCore.denormalizePlan(document, undefined, weigh)],
    ['  the objects copied as planned', () => expand(plan, document)],
  ];
  const times = await compare(parts.map(([, fn]) => fn));
  console.log('\ndenormalize() of the real orders.place delivery, by part: µs per call');
  parts.forEach(([name], i) => console.log(`  ${name.padEnd(48)} ${fmt(times[i]).padStart(6)}`));
}

// What a receiver does per request, without the HTTP around it (tests/bench/receiver.mjs has
// that): a 4 KiB delivery through Webhooks.process against the same work written by hand, and
// the steps between (Verifier.verify, then Verifier.receive) to show where the difference is.
{
  const note = 'x'.repeat(4096 - 87);
  const body = Buffer.from(`{"data":{"id":"wBXVhZOmXO","type":"orders","attributes":{"status":"placed","note":"${note}"}}}`);
  const signature = clhooks.sign(body, secret);
  const requestHeaders = { 'content-type': 'application/json', 'x-commercelayer-signature': signature, 'x-commercelayer-topic': 'orders.place' };
  const webhooks = new clhooks.Webhooks({ secret, seen: null, onEvent: () => {} });
  const answer = (type) => JSON.stringify({ received: type });
  const steps = [
    ['by hand: node:crypto verify + JSON.parse + answer', () => {
      const mac = createHmac('sha256', secret).update(body).digest();
      if (!timingSafeEqual(mac, Buffer.from(signature, 'base64'))) throw new Error('mismatch');
      return answer(JSON.parse(body.toString('utf8')).data.type);
    }],
    ['  clhooks Verifier.verify + JSON.parse + answer', () => {
      verifier.verify(body, signature);
      return answer(JSON.parse(body.toString('utf8')).data.type);
    }],
    ['  clhooks Verifier.receive + answer', () => answer(verifier.receive(body, requestHeaders).type)],
    ['clhooks Webhooks.process (no seen-store)', async () => webhooks.process({ method: 'POST', body, headers: requestHeaders })],
  ];
  const times = await compare(steps.map(([, fn]) => fn));
  console.log('\none 4 KiB delivery in one process, no HTTP: µs per call and × by hand');
  steps.forEach(([name], i) => console.log(`  ${name.padEnd(48)} ${fmt(times[i]).padStart(6)}  (${(times[i] / times[0]).toFixed(2)}×)`));
}

// The sender simulation, the same scenario as the native bench.
const scenario = readFileSync(join(pkgDir, '../tests/bench/throughput.json'), 'utf8');
const report = clhooks.simulate(scenario);
const us = await timeIt(() => clhooks.simulate(scenario), 5);
console.log(`\nsender simulation in Node (wasm; tests/bench/throughput.json: ${report.events} events, ${report.attempts} attempts)`);
console.log(`  ${(us / 1000).toFixed(0)} ms per run (with the report as a JS object), ${(report.attempts / (us / 1e6)).toFixed(0)} attempt decisions per second`);
