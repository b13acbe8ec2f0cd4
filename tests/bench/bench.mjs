// `make bench`: speed and size of the npm package, printed as tables. Not a test: nothing here
// asserts a time. Node's own HMAC (node:crypto, which uses the CPU's SHA instructions) is the
// baseline; a second build of the core without wasm SIMD shows what +simd128 buys.
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

/** Median µs per call over `rounds` rounds, each long enough to be timed. */
function timeIt(fn, rounds = 15) {
  let n = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    if (performance.now() - t > 20) break;
    n *= 2;
  }
  const samples = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    samples.push(((performance.now() - t) * 1000) / n);
  }
  return median(samples);
}

const fmt = (us) => (us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2));
const row = (cells, widths) => cells.map((c, i) => String(c).padStart(widths[i])).join('  ');

// Sizes.
const wasm = readFileSync(join(pkgDir, 'clhooks.wasm'));
const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: pkgDir, encoding: 'utf8' }))[0];
console.log('\nsize');
console.log(`  clhooks.wasm             ${wasm.length} bytes, ${gzipSync(wasm, { level: 9 }).length} gzipped`);
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
const widths = [40, 8, 8, 8, 8];
console.log('\nverify one body, µs per call (median of 15 rounds)');
console.log(row(['', ...sizes.map(([n]) => n)], widths));
const bodies = sizes.map(([, n]) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff));
const signatures = bodies.map((b) => createHmac('sha256', secret).update(b).digest('base64'));
const lines = [
  ['node:crypto createHmac+timingSafeEqual', (b, s) => () => {
    const expected = Buffer.from(s, 'base64');
    const got = createHmac('sha256', secret).update(b).digest();
    if (!timingSafeEqual(got, expected)) throw new Error('mismatch');
  }],
  ['clhooks Verifier.verify (simd128)', (b, s) => {
    const v = new clhooks.Verifier(secret);
    return () => v.verify(b, s);
  }],
  ['clhooks verify() one-shot (simd128)', (b, s) => () => clhooks.verify(b, s, secret)],
];
if (noSimd) {
  lines.push(['clhooks Verifier.verify (no simd)', (b, s) => {
    const v = new noSimd.Verifier(secret);
    return () => v.verify(b, s);
  }]);
}
lines.push(['clhooks Verifier.verify, string body', (b, s) => {
  const v = new clhooks.Verifier(secret);
  const text = Buffer.from(b).toString('latin1');
  const sig = createHmac('sha256', secret).update(Buffer.from(text, 'utf8')).digest('base64');
  return () => v.verify(text, sig);
}]);
for (const [name, make] of lines) {
  console.log(row([name, ...bodies.map((b, i) => fmt(timeIt(make(b, signatures[i]))))], widths));
}

// A whole delivery: verify, topic, JSON:API checks, and the document as a JS object.
const fixture = readFileSync(join(pkgDir, '../tests/vectors/orders-place-payload.json'));
const headers = { 'x-commercelayer-signature': clhooks.sign(fixture, secret), 'x-commercelayer-topic': 'orders.place' };
const verifier = new clhooks.Verifier(secret);
console.log(`\nreceive the real orders.place delivery (${fixture.length} bytes), µs per call`);
console.log(`  verifier.receive(body, headers)        ${fmt(timeIt(() => verifier.receive(fixture, headers)))}`);
console.log(`  JSON.parse of the same body            ${fmt(timeIt(() => JSON.parse(fixture.toString('utf8'))))}`);
const event = verifier.receive(fixture, headers);
console.log(`  event.denormalize()                    ${fmt(timeIt(() => event.denormalize()))}`);

// The sender simulation, the same scenario as the native bench.
const scenario = readFileSync(join(pkgDir, '../tests/bench/throughput.json'), 'utf8');
const report = clhooks.simulate(scenario);
const us = timeIt(() => clhooks.simulate(scenario), 5);
console.log(`\nsender simulation in Node (wasm; tests/bench/throughput.json: ${report.events} events, ${report.attempts} attempts)`);
console.log(`  ${(us / 1000).toFixed(0)} ms per run (with the report as a JS object), ${(report.attempts / (us / 1e6)).toFixed(0)} attempt decisions per second`);
