// `make bench`, Workers and browsers: verify one body with clhooks' wasm HMAC, with the runtime's
// own WebCrypto (a cached key), and with clhooks' verifyAsync (WebCrypto computes the tags, the
// core decides), in workerd (Miniflare) and in headless Chromium. µs per call and × WebCrypto.
//
// Usage: node tests/bench/webcrypto.mjs   (after `make pkg`)

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serveFiles } from '../support/chromium.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { SIZES, callsFor } = await import('./webcrypto-suite.mjs');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (us) => (us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2));
const ROUNDS = 9;

/**
 * µs per call of each contender at each size, from `sample(impl, size, n)` → ms for n calls.
 * Side by side: each round samples the empty loop and every contender in turn at one size (each
 * round starting one contender later), so that the machine's drift reaches all of them alike and
 * the ratios to WebCrypto hold.
 */
async function measure(names, sample) {
  const table = Object.fromEntries(names.map((name) => [name, []]));
  for (const size of SIZES) {
    const n = callsFor(size);
    for (const name of names) await sample(name, size, n); // warm-up
    const empty = [];
    const full = Object.fromEntries(names.map((name) => [name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      empty.push(await sample('', size, n));
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + r) % names.length];
        full[name].push(await sample(name, size, n));
      }
    }
    for (const name of names) table[name].push(Math.max(0, ((median(full[name]) - median(empty)) * 1000) / n));
  }
  return table;
}

function print(runtime, table) {
  const names = Object.keys(table);
  const baseline = table['WebCrypto subtle.verify, cached key'];
  console.log(`\nverify in ${runtime}: µs per call and × WebCrypto with a cached key (median of ${ROUNDS})`);
  console.log(`${''.padStart(48)}${SIZES.map((s) => `${s >= 1024 ? `${s / 1024} KiB` : `${s} B`}`.padStart(16)).join('')}`);
  for (const name of names) {
    const cells = table[name].map((us, i) => `${fmt(us)} (${(us / baseline[i]).toFixed(2)}×)`.padStart(16));
    console.log(`${name.padStart(48)}${cells.join('')}`);
  }
}

// workerd: time does not move inside a request, so each sample is a request timed from here.
{
  const { Miniflare } = await import(join(root, 'node_modules/miniflare/dist/src/index.js'));
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(root, 'tests/bench/webcrypto-worker.mjs'),
    modulesRoot: root,
    modulesRules: [{ type: 'ESModule', include: ['**/*.js', '**/*.mjs'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-01',
  });
  try {
    const call = async (impl, size, n) => {
      const t = performance.now();
      const res = await mf.dispatchFetch(`http://localhost/run?impl=${encodeURIComponent(impl)}&size=${size}&n=${n}`);
      const text = await res.text();
      if (res.status !== 200) throw new Error(text);
      return performance.now() - t;
    };
    const names = (await (await mf.dispatchFetch(`http://localhost/run?impl=&size=512&n=0`)).text()).split('\n');
    print('workerd (Miniflare)', await measure(names, call));
  } finally {
    await mf.dispose();
  }
}

// Chromium: the page times itself.
{
  const page = `<!doctype html><link rel="icon" href="data:,"><script type="module">
    import * as clhooks from '/pkg/browser.mjs';
    import { contenders, repeat } from '/tests/bench/webcrypto-suite.mjs';
    const made = new Map();
    window.sample = async (impl, size, n) => {
      if (!made.has(size)) made.set(size, await contenders(clhooks, size));
      const fn = made.get(size)[impl] ?? (() => {});
      const t = performance.now();
      await repeat(fn, n);
      return performance.now() - t;
    };
    window.names = Object.keys(await contenders(clhooks, 512));
  </script>`;
  const server = await serveFiles(root, { '/': page });
  const browser = await launchChromium();
  try {
    const tab = await browser.newPage();
    await tab.goto(`${server.url}/`);
    await tab.waitForFunction(() => window.names, null, { timeout: 60_000 });
    const names = await tab.evaluate(() => window.names);
    const table = await measure(names, (impl, size, n) => tab.evaluate(([i, s, c]) => window.sample(i, s, c), [impl, size, n]));
    print('Chromium', table);
  } finally {
    await browser.close();
    server.close();
  }
}
