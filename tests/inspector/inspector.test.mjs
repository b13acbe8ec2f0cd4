// The inspector in real Chromium (playwright-core, Debian's chromium): verify the real
// orders.place fixture, a tampered copy, a hex signature; open the denormalized tree down to a
// line item; run the "down" simulation to the open breaker; and run the page's curl line
// against `clhooks listen`. Saves a screenshot of each state in screenshots/ and fails on any
// console error. Run with `node --test tests/inspector/` after `make pkg` and `cargo build`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../support/chromium.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixturePath = `${root}tests/vectors/orders-place-payload.json`;
const fixture = readFileSync(fixturePath);
const shots = `${root}screenshots`;
const SECRET = 'inspector-secret';
const signature = createHmac('sha256', SECRET).update(fixture).digest('base64');
const hex = createHmac('sha256', SECRET).update(fixture).digest('hex');

/** Starts a process and resolves with the first URL it prints. */
function start(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (data) => {
      for (const line of String(data).split('\n').filter(Boolean)) {
        lines.push(line);
        const url = /(http:\/\/127\.0\.0\.1:\d+\S*)/.exec(line);
        if (url && lines.length === 1) resolve({ child, url: url[1], lines });
      }
    });
    child.on('exit', (code) => reject(new Error(`${cmd} exited ${code}`)));
  });
}

let server;
let listener;
let browser;
let page;
const consoleErrors = [];

before(async () => {
  mkdirSync(shots, { recursive: true });
  server = await start('node', [`${root}examples/inspector/serve.mjs`, '0']);
  listener = await start(`${root}target/debug/clhooks`, ['listen', '--port', '0', '--secret', SECRET]);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready=true]');
});

after(async () => {
  await browser?.close();
  server?.child.kill();
  listener?.child.kill();
});

const shot = (name) => page.screenshot({ path: `${shots}/inspector-${name}.png`, fullPage: true });

async function setPayloadFromFile() {
  await page.$eval('#payload', (el) => { el.value = ''; });
  await page.setInputFiles('#file', fixturePath);
  const text = fixture.toString('utf8');
  await page.waitForFunction((t) => document.getElementById('payload').value === t, text);
}

test('the real orders.place delivery verifies', async () => {
  await setPayloadFromFile();
  await page.fill('#secret', SECRET);
  await page.fill('#signature', signature);
  await page.fill('#topic', 'orders.place');
  await page.waitForSelector('#verdict.ok');
  assert.match(await page.textContent('#verdict'), /Verified/);
  assert.equal(await page.textContent('#expected'), signature);
  assert.match(await page.textContent('#summary'), /orders\.place — known/);
  assert.match(await page.textContent('#summary'), /An existing order status is set to `placed`/);
  await shot('1-verified');
});

test('pasted raw headers fill the signature and the topic; a topic about another resource is flagged', async () => {
  await page.fill('#signature', '');
  await page.fill('#topic', '');
  await page.click('#input details summary');
  await page.fill('#headers', `POST /hooks HTTP/1.1\nContent-Type: application/vnd.api+json\nX-CommerceLayer-Signature: ${signature}\nx-commercelayer-topic: shipments.ship\n`);
  await page.waitForSelector('#verdict.ok');
  assert.equal(await page.inputValue('#topic'), 'shipments.ship');
  assert.match(await page.textContent('#mismatch'), /about shipments, but the payload's data\.type is orders/);
  await page.fill('#topic', 'orders.place');
  assert.equal(await page.isHidden('#mismatch'), true);
});

test('one byte changed is refused with signature_mismatch', async () => {
  await page.$eval('#payload', (el) => {
    el.value = el.value.replace('"number": 28030653', '"number": 28030654');
    el.dispatchEvent(new Event('input'));
  });
  await page.waitForSelector('#verdict.bad');
  assert.equal(await page.getAttribute('#verdict', 'data-code'), 'signature_mismatch');
  assert.match(await page.textContent('#causes'), /another webhook's/);
  await shot('2-tampered');
});

test('a trailing newline is diagnosed', async () => {
  await setPayloadFromFile();
  await page.$eval('#payload', (el) => {
    el.value += '\n';
    el.dispatchEvent(new Event('input'));
  });
  await page.waitForSelector('#verdict.bad');
  assert.match(await page.textContent('#causes'), /trailing newline was added/);
});

test('a hex signature gets the hex hint', async () => {
  await setPayloadFromFile();
  await page.fill('#signature', hex);
  await page.waitForSelector('#verdict.bad');
  assert.equal(await page.getAttribute('#verdict', 'data-code'), 'malformed_signature');
  const causes = await page.textContent('#causes');
  assert.match(causes, /hex digest/);
  assert.match(causes, /it verifies/);
  await shot('3-hex');
  await page.fill('#signature', signature);
  await page.waitForSelector('#verdict.ok');
});

test('the denormalized tree opens down to a line item', async () => {
  await page.click('details[data-path="/line_items"] > summary');
  await page.click('details[data-path="/line_items/2"] > summary');
  const item = await page.textContent('details[data-path="/line_items/2"]');
  assert.match(item, /EMUG12OZFFFFFF000000XXXX/);
  assert.match(item, /Enamel Mug with Black Logo/);
  await page.click('details[data-path="/customer"] > summary');
  assert.match(await page.textContent('details[data-path="/customer"]'), /bolaji@commercelayer\.io/);
  await shot('4-tree');
  await page.click('#tab-raw');
  assert.ok(await page.$('details[data-path="/included"]'), 'the raw view shows included');
  await page.click('#tab-denormalized');
});

test('the "down" simulation reaches the open breaker, the notice, and the reset', async () => {
  await page.check('input[value=down]');
  await page.click('#run');
  await page.waitForSelector('#timeline li[data-kind=circuit_opened]');
  assert.match(await page.textContent('#timeline li[data-kind=circuit_opened]'), /after 30 consecutive failures/);
  assert.match(await page.textContent('#timeline li[data-kind=notice]'), /5 consecutive failures/);
  assert.ok(await page.$('#timeline li[data-kind=circuit_reset]'));
  assert.equal(await page.getAttribute('#sim-summary td[data-circuit]', 'data-circuit'), 'closed');
  // The chart draws the same report: every attempt, the streak rising to the notice at 5 and
  // the circuit opening at 30, the span it stayed open, the reset, and the success after it.
  const chart = await page.$eval('#sim-chart svg', (svg) => {
    const attempts = [...svg.querySelectorAll('[data-kind=attempt]')];
    const mark = (name) => [...svg.querySelectorAll(`[data-mark=${name}]`)];
    const x = (el) => Number(el.getAttribute('x1') ?? el.getAttribute('x') ?? el.getAttribute('cx'));
    return {
      attempts: attempts.length,
      failed: attempts.filter((a) => a.dataset.success === 'false').length,
      streaks: attempts.map((a) => Number(a.dataset.streak)),
      lastOk: attempts.at(-1).dataset.success,
      notice: mark('notice').map((m) => Number(m.dataset.count)),
      opened: mark('circuit_opened').map((m) => Number(m.dataset.count)),
      reset: mark('circuit_reset').length,
      spans: mark('open-span').length,
      // The reset comes after the opening, and the last attempt after the reset.
      order: x(mark('circuit_opened')[0]) < x(mark('circuit_reset')[0]) && x(mark('circuit_reset')[0]) < x(attempts.at(-1)),
      label: svg.getAttribute('aria-label'),
      path: svg.querySelector('[data-series=streak]').getAttribute('d').length,
    };
  });
  const summary = await page.$$eval('#sim-summary td', (cells) => cells.map((c) => c.textContent));
  assert.equal(chart.attempts, Number(summary[0]), 'one dot per attempt the summary counts');
  assert.equal(chart.failed, Number(summary[1]));
  assert.deepEqual(chart.streaks.slice(0, 30), Array.from({ length: 30 }, (_, i) => i + 1), 'the streak rises one by one');
  assert.equal(chart.lastOk, 'true');
  assert.deepEqual([chart.notice, chart.opened, chart.reset, chart.spans, chart.order], [[5], [30], 1, 1, true]);
  assert.match(chart.label, /owner notified at 5, circuit opened at 30/);
  assert.ok(chart.path > 100);
  await page.locator('#sim-chart').screenshot({ path: `${shots}/inspector-5-chart-down.png` });
  await page.$eval('#timeline li[data-kind=circuit_opened]', (el) => el.scrollIntoView());
  await shot('5-simulation-down');
});

test("the page's curl line, run against clhooks listen, verifies", async () => {
  await page.fill('#url', `${listener.url}/hooks`);
  await page.click('#curl-button');
  const curl = await page.textContent('#curl');
  assert.match(curl, /--data-binary @-/);
  // What Commerce Layer's own receivers read, unless chosen otherwise.
  assert.match(curl, /-H 'Content-Type: application\/json'/);
  await page.fill('#content-type', 'application/vnd.api+json');
  await page.click('#curl-button');
  assert.match(await page.textContent('#curl'), /-H 'Content-Type: application\/vnd\.api\+json'/);
  await page.fill('#content-type', 'application/json');
  const answer = execFileSync('sh', ['-c', curl], { encoding: 'utf8' });
  assert.equal(answer, '{"received":"orders.place"}');
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(listener.lines.some((l) => l.includes('orders.place  orders/wBXVhZOmXO  verified  200')), listener.lines.join('\n'));
  await shot('6-replay-curl');
});

test('the self-contained page shipped in the package works opened from disk (file://)', async () => {
  const standalone = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  standalone.on('console', (m) => m.type() === 'error' && consoleErrors.push(`file://: ${m.text()}`));
  standalone.on('pageerror', (e) => consoleErrors.push(`file://: ${e.message}`));
  await standalone.goto(`file://${root}pkg/inspector/clhooks-inspector.html`);
  await standalone.waitForSelector('body[data-ready=true]');
  await standalone.setInputFiles('#file', fixturePath);
  await standalone.fill('#secret', SECRET);
  await standalone.fill('#signature', signature);
  await standalone.waitForSelector('#verdict.ok');
  await standalone.screenshot({ path: `${shots}/inspector-8-file-url.png` });
  await standalone.close();
});

test('dark mode, and no console errors anywhere', async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('7-dark');
  assert.deepEqual(consoleErrors, []);
});
