// The clhooks inspector: every check runs the package's WebAssembly core in this page.
import {
  verify, sign, deliveryHeaders, parseTopic, denormalize, simulate, WebhookError, CATALOGUE,
} from 'clhooks';

const $ = (id) => document.getElementById(id);
const encoder = new TextEncoder();
const fields = { payload: $('payload'), secret: $('secret'), signature: $('signature'), topic: $('topic'), headers: $('headers') };
let view = 'denormalized';
// A loaded file's exact bytes: a textarea turns CRLF into LF, which would change the signature.
let loaded = null;

/** The body to check: the loaded file's bytes while the text is unedited, else the text. */
function currentBody() {
  return loaded && loaded.text === fields.payload.value ? loaded.bytes : fields.payload.value;
}

for (const { topic } of CATALOGUE) $('topics').append(new Option(topic));

/** Runs `fn`; returns null when it passes, the WebhookError otherwise. */
function attempt(fn) {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof WebhookError) return e;
    throw e;
  }
}

const passes = (body, signature, secret) => attempt(() => verify(body, signature, secret)) === null;

function hexToBase64(hex) {
  const bytes = new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16)));
  return btoa(String.fromCharCode(...bytes));
}

/** What probably went wrong, tested against the real verification where it can be. */
function causes(error, body, signature, secret) {
  const out = [];
  const say = (html) => out.push(html);
  switch (error.code) {
    case 'missing_signature':
      say('Paste the value of the <code>X-CommerceLayer-Signature</code> header (or the raw headers below the payload).');
      break;
    case 'empty_secret':
    case 'missing_secret':
      say("Enter the webhook's <code>shared_secret</code>: it is on the webhook in the Dashboard, or in the API's webhook object.");
      break;
    case 'malformed_signature':
      if (error.hint === 'looks_like_hex') {
        const fixed = hexToBase64(signature.trim());
        say(`This is a <strong>hex digest</strong>; Commerce Layer sends <strong>base64</strong>. Code that computes
          <code>createHmac('sha256', secret).update(body).digest('hex')</code> needs <code>digest('base64')</code>.`);
        if (passes(body, fixed, secret)) say(`Converted to base64 (<code>${fixed}</code>) it verifies: the digest was right, only its encoding differs.`);
      } else {
        say(`${error.message}. Copy the header value whole, without quotes.`);
      }
      break;
    case 'signature_mismatch': {
      const text = body;
      const checks = [
        ['a <strong>trailing newline was added</strong> (copying from a terminal or an editor does that)', text.replace(/\r?\n$/, '')],
        ['<strong>line endings changed</strong> (CRLF and LF)', text.includes('\r\n') ? text.replace(/\r\n/g, '\n') : text.replace(/\n/g, '\r\n')],
      ];
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (parsed !== undefined) {
        checks.push(['the body was <strong>re-serialized</strong>: it is the same JSON with other whitespace. A body parser ran before verification; verify the raw bytes',
          JSON.stringify(parsed)]);
        checks.push(['the body was <strong>re-serialized</strong> (pretty-printed): verify the raw bytes, not a formatted copy',
          JSON.stringify(parsed, null, 2)]);
      }
      const found = checks.find(([, variant]) => variant !== text && passes(variant, signature, secret));
      if (found) {
        say(`The signature matches once the body is changed back: ${found[0]}.`);
      } else {
        say("The secret may be <strong>another webhook's</strong>: every webhook has its own <code>shared_secret</code>.");
        say('The body may have been <strong>parsed and re-serialized</strong> before you copied it (a JSON body parser in front of the receiver): the signature covers the exact bytes Commerce Layer sent.');
        say('Or the body was really changed on the way.');
      }
      break;
    }
    default:
      say(error.message);
  }
  return out;
}

function headerValues() {
  const picked = {};
  for (const line of fields.headers.value.split(/\r?\n/)) {
    const match = /^\s*([\w-]+)\s*:\s*(.*?)\s*$/.exec(line);
    if (match) picked[match[1].toLowerCase()] = match[2];
  }
  return picked;
}

function checkSignature() {
  const body = currentBody();
  const secret = fields.secret.value;
  const signature = fields.signature.value;
  const verdict = $('verdict');
  const list = $('causes');
  list.replaceChildren();
  $('given').textContent = signature.trim() || '—';
  $('expected').textContent = secret ? sign(body, secret) : '—';
  if (!body && !signature) {
    verdict.className = 'verdict idle';
    verdict.textContent = 'Paste a body, its secret and its signature.';
    return;
  }
  const error = attempt(() => verify(body, signature, secret));
  delete verdict.dataset.code;
  if (!error) {
    verdict.className = 'verdict ok';
    verdict.textContent = '✓ Verified: this body was signed with this secret.';
    return;
  }
  verdict.className = 'verdict bad';
  verdict.innerHTML = `✗ Refused: <code>${error.code}</code>`;
  verdict.dataset.code = error.code;
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  for (const html of causes(error, text, signature, secret)) {
    const li = document.createElement('li');
    li.innerHTML = html;
    list.append(li);
  }
}

function summaryRows(document, topicInfo) {
  const data = document.data ?? {};
  const attributes = data.attributes ?? {};
  const rows = [];
  if (topicInfo) {
    rows.push(['topic', `${topicInfo.topic} — ${topicInfo.known ? 'known' : 'not in the catalogue (a newer topic?)'}`]);
    if (topicInfo.description) rows.push(['trigger', topicInfo.description]);
  }
  rows.push(['resource', `${data.type} ${data.id}`]);
  for (const [key, value] of Object.entries(attributes)) {
    if ((key === 'number' || key === 'status' || key.endsWith('_status')) && value != null) rows.push([key, String(value)]);
  }
  if (data.meta?.mode) rows.push(['mode', data.meta.mode]);
  rows.push(['included', `${(document.included ?? []).length} resources`]);
  return rows;
}

function node(key, value, path, open) {
  const keyHtml = key === null ? '' : `<span class="k">${escapeHtml(String(key))}</span>: `;
  if (value !== null && typeof value === 'object') {
    const details = document.createElement('details');
    details.dataset.path = path;
    details.open = open;
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    const preview = Array.isArray(value)
      ? `[${value.length}]`
      : value.type && value.id ? `{${escapeHtml(String(value.type))} ${escapeHtml(String(value.id))}}` : `{${entries.length}}`;
    const summary = document.createElement('summary');
    summary.innerHTML = `${keyHtml}<span class="m">${preview}</span>`;
    details.append(summary);
    // Children are built when first opened: large payloads stay fast.
    const fill = () => {
      if (details.dataset.filled) return;
      details.dataset.filled = '1';
      for (const [k, v] of entries) details.append(node(k, v, `${path}/${k}`, false));
    };
    if (open) fill();
    // Filled on the click (or Enter) that opens it, before it opens.
    summary.addEventListener('click', fill);
    return details;
  }
  const leaf = document.createElement('div');
  leaf.className = 'leaf';
  const cls = typeof value === 'string' ? 's' : typeof value === 'number' ? 'n' : 'm';
  leaf.innerHTML = `${keyHtml}<span class="${cls}">${escapeHtml(JSON.stringify(value))}</span>`;
  return leaf;
}

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

function decode() {
  const body = fields.payload.value;
  const tbody = $('summary').tBodies[0];
  const tree = $('tree');
  const mismatch = $('mismatch');
  tbody.replaceChildren();
  tree.replaceChildren();
  mismatch.hidden = true;
  if (!body.trim()) return;
  let document;
  try {
    document = JSON.parse(body);
  } catch (e) {
    tree.textContent = `Not JSON: ${e.message}`;
    return;
  }
  let topicInfo = null;
  const topicName = fields.topic.value.trim();
  if (topicName) {
    try {
      topicInfo = parseTopic(topicName);
    } catch (e) {
      mismatch.hidden = false;
      mismatch.textContent = `${topicName} is not a topic: ${e.message}`;
    }
  }
  if (topicInfo && document.data && topicInfo.resource !== document.data.type) {
    mismatch.hidden = false;
    mismatch.textContent = `The topic ${topicInfo.topic} is about ${topicInfo.resource}, but the payload's data.type is ${document.data.type}: receivers refuse this (topic_mismatch).`;
  }
  for (const [k, v] of summaryRows(document, topicInfo)) {
    const row = tbody.insertRow();
    row.append(Object.assign(window.document.createElement('th'), { textContent: k }));
    row.insertCell().textContent = v;
  }
  let shown = document;
  if (view === 'denormalized') {
    try {
      shown = denormalize(currentBody());
    } catch (e) {
      tree.textContent = `${e.code}: ${e.message}`;
      return;
    }
  }
  tree.append(node(null, shown, '', true));
}

function setView(next) {
  view = next;
  $('tab-denormalized').setAttribute('aria-selected', String(next === 'denormalized'));
  $('tab-raw').setAttribute('aria-selected', String(next === 'raw'));
  decode();
}

/** The request Commerce Layer would send: the core's delivery headers (a browser sets its own User-Agent). */
function requestParts(body = currentBody()) {
  const pairs = deliveryHeaders(body, fields.secret.value, fields.topic.value, $('content-type').value.trim() || undefined);
  const headers = Object.fromEntries(pairs.filter(([name]) => name !== 'User-Agent'));
  return { body, headers };
}

const shellQuote = (text) => `'${text.replace(/'/g, `'\\''`)}'`;

function curlLine() {
  // The command carries the text of the box, so it is signed over that text (a loaded file's
  // CRLF or byte-order mark would not survive the copy).
  const body = fields.payload.value;
  const { headers } = requestParts(body);
  const url = $('url').value.trim() || 'http://127.0.0.1:3000/webhooks';
  const lines = [`printf '%s' ${shellQuote(body)} |`, `  curl -sS -X POST ${shellQuote(url)}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`  -H ${shellQuote(`${name}: ${value}`)}`);
  lines.push('  --data-binary @-');
  return lines.join(' \\\n').replace('| \\\n', '|\n');
}

async function send() {
  const out = $('replay-result');
  let parts;
  try {
    parts = requestParts();
  } catch (e) {
    out.textContent = `${e.code}: ${e.message}`;
    return;
  }
  const url = $('url').value.trim();
  if (!url) {
    out.textContent = 'Enter the URL of your receiver.';
    return;
  }
  out.textContent = 'Sending…';
  const started = performance.now();
  try {
    // Commerce Layer does not follow redirects: neither does this.
    const response = await fetch(url, { method: 'POST', headers: parts.headers, body: parts.body, redirect: 'manual' });
    if (response.type === 'opaqueredirect') {
      out.innerHTML = '<strong>A redirect</strong>: Commerce Layer does not follow it, and counts the delivery as failed.';
      return;
    }
    const text = await response.text();
    const ms = Math.round(performance.now() - started);
    out.innerHTML = `<strong>${response.status} ${escapeHtml(response.statusText)}</strong> in ${ms} ms`
      + `${response.ok ? '' : ' — Commerce Layer would count this as a failure and retry'}<pre>${escapeHtml(text.slice(0, 4000))}</pre>`;
  } catch (e) {
    out.innerHTML = `<strong>The browser blocked the request or its answer</strong> (${escapeHtml(e.message)}). A page can only
      read the answer of another origin when the receiver allows it (CORS): it must answer the preflight
      <code>OPTIONS</code> for the <code>X-CommerceLayer-*</code> headers. Commerce Layer does not need that;
      use <em>Copy as curl</em> to send the same request from a terminal instead.`;
  }
}

async function copyCurl() {
  let line;
  try {
    line = curlLine();
  } catch (e) {
    if (!(e instanceof WebhookError)) throw e;
    $('replay-result').textContent = `${e.code}: ${e.message}`;
    return;
  }
  const pre = $('curl');
  pre.hidden = false;
  pre.textContent = line;
  try {
    await navigator.clipboard.writeText(line);
    $('replay-result').textContent = 'Copied to the clipboard.';
  } catch {
    $('replay-result').textContent = 'Select the command below to copy it.';
  }
}

const behaviours = {
  healthy: { endpoint: { latency_ms: 90, latency_jitter_ms: 60 }, events: 3, reset: false },
  flaky: { endpoint: { failure_rate: 0.4, latency_ms: 120 }, events: 3, reset: false },
  down: { endpoint: { outages: [{ from_ms: 0, to_ms: 21_600_000 }] }, events: 6, reset: true },
  slow: { endpoint: { latency_ms: 6000 }, events: 1, reset: false },
};

const SVG = 'http://www.w3.org/2000/svg';
/** An SVG element with attributes, and its text. */
function svg(name, attributes = {}, text = undefined) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}
/** `+h:mm` from the run's start. */
const sinceStart = (ms) => `+${Math.floor(ms / 3_600_000)}:${String(Math.floor(ms / 60_000) % 60).padStart(2, '0')}`;

/**
 * The simulation's report as a chart: each attempt at its time, at the webhook's failure count
 * after it (`circuit_failure_count`), the streak between them, the notice and the circuit's
 * opening where the report says they happened, the span the circuit stayed open, its reset.
 * It draws the same report the timeline lists; it decides nothing. Long quiet spans (over 10
 * minutes) are drawn 10 minutes wide, marked with a break, so that retries seconds apart stay
 * apart on a run of hours.
 */
function drawChart(report) {
  const figure = $('sim-chart');
  figure.replaceChildren();
  const finished = report.timeline.filter((e) => e.kind === 'attempt_finished');
  figure.hidden = finished.length === 0;
  if (figure.hidden) return;
  const QUIET = 600_000;
  const times = [...new Set(report.timeline.map((e) => e.at))].sort((a, b) => a - b);
  const offsets = new Map();
  const breaks = [];
  let x = 0;
  times.forEach((t, i) => {
    const gap = i === 0 ? 0 : t - times[i - 1];
    if (gap > QUIET) breaks.push(x + QUIET / 2);
    x += Math.min(gap, QUIET);
    offsets.set(t, x);
  });
  const span = Math.max(x, 1);
  const marks = report.timeline.filter((e) => e.kind === 'notice' || e.kind === 'circuit_opened');
  const top = Math.max(...finished.map((e) => e.failure_count), ...marks.map((e) => e.failure_count), 5) + 2;
  const [W, H, L, R, T, B] = [760, 280, 46, 150, 14, 38];
  const X = (t) => L + (offsets.get(t) / span) * (W - L - R);
  const Y = (count) => T + (1 - count / top) * (H - T - B);
  const chart = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart',
    'aria-label': `Failure streak over time: ${finished.length} attempts${marks.map((m) => `, ${m.kind === 'notice' ? 'owner notified' : 'circuit opened'} at ${m.failure_count}`).join('')}`,
  });
  // The axes, the count's scale, and the breaks in time.
  chart.append(svg('line', { class: 'axis', x1: L, y1: Y(0), x2: W - R, y2: Y(0) }), svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: Y(0) }));
  for (const count of new Set([0, ...marks.map((m) => m.failure_count)])) {
    chart.append(svg('text', { class: 'tick', x: L - 6, y: Y(count) + 4, 'text-anchor': 'end' }, String(count)));
  }
  chart.append(svg('text', { class: 'label', x: 12, y: T + (H - T - B) / 2, transform: `rotate(-90 12 ${T + (H - T - B) / 2})`, 'text-anchor': 'middle' }, 'consecutive failures'));
  const start = report.start_ms;
  chart.append(svg('text', { class: 'tick', x: L, y: H - 16, 'text-anchor': 'start' }, sinceStart(times[0] - start)));
  chart.append(svg('text', { class: 'tick', x: W - R, y: H - 16, 'text-anchor': 'end' }, sinceStart(times.at(-1) - start)));
  chart.append(svg('text', { class: 'label', x: L + (W - L - R) / 2, y: H - 4, 'text-anchor': 'middle' }, 'time (quiet spans over 10 min shortened: ≈)'));
  for (const at of breaks) {
    const bx = L + (at / span) * (W - L - R);
    chart.append(svg('text', { class: 'break', 'data-mark': 'break', x: bx, y: Y(0) + 5, 'text-anchor': 'middle' }, '≈'));
  }
  // The spans the circuit stayed open: from its opening to its reset, or to the run's end.
  const opened = report.timeline.filter((e) => e.kind === 'circuit_opened');
  for (const open of opened) {
    const reset = report.timeline.find((e) => e.kind === 'circuit_reset' && e.webhook === open.webhook && e.at >= open.at);
    const end = reset ? reset.at : times.at(-1);
    chart.append(svg('rect', { class: 'open-span', 'data-mark': 'open-span', x: X(open.at), y: T, width: Math.max(1, X(end) - X(open.at)), height: Y(0) - T }));
  }
  // The thresholds where the report crossed them, and the moment it did.
  for (const mark of marks) {
    const words = mark.kind === 'notice' ? `owner e-mailed at ${mark.failure_count}` : `circuit opens at ${mark.failure_count}`;
    chart.append(
      svg('line', { class: `threshold ${mark.kind}`, x1: L, y1: Y(mark.failure_count), x2: W - R, y2: Y(mark.failure_count) }),
      svg('text', { class: `threshold-label ${mark.kind}`, x: W - R + 6, y: Y(mark.failure_count) + 4 }, words),
      svg('line', { class: `moment ${mark.kind}`, 'data-mark': mark.kind, 'data-count': mark.failure_count, x1: X(mark.at), y1: T, x2: X(mark.at), y2: Y(0) }),
    );
  }
  for (const reset of report.timeline.filter((e) => e.kind === 'circuit_reset')) {
    chart.append(
      svg('line', { class: 'moment circuit_reset', 'data-mark': 'circuit_reset', x1: X(reset.at), y1: T, x2: X(reset.at), y2: Y(0) }),
      svg('text', { class: 'threshold-label circuit_reset', x: X(reset.at) + 4, y: T + 12 }, 'reset'),
    );
  }
  // The streak, step by step: it holds between attempts, and a reset brings it to 0.
  let path = `M ${X(times[0])} ${Y(0)}`;
  let count = 0;
  for (const e of report.timeline) {
    const next = e.kind === 'attempt_finished' ? e.failure_count : e.kind === 'circuit_reset' ? 0 : count;
    if (next !== count) path += ` H ${X(e.at)} V ${Y(next)}`;
    count = next;
  }
  path += ` H ${X(times.at(-1))}`;
  chart.append(svg('path', { class: 'streak', 'data-series': 'streak', d: path }));
  report.timeline.forEach((e, i) => {
    if (e.kind !== 'attempt_finished') return;
    const dot = svg('circle', {
      class: e.success ? 'attempt ok' : 'attempt fail', 'data-kind': 'attempt', 'data-success': e.success, 'data-streak': e.failure_count,
      cx: X(e.at), cy: Y(e.failure_count), r: 3.5,
    });
    dot.append(svg('title', {}, report.text.lines[i] ?? `${e.result}`));
    chart.append(dot);
  });
  figure.append(chart, Object.assign(document.createElement('figcaption'), {
    textContent: 'Each dot is an attempt at its failure count; red failed, green succeeded. The line is the streak Commerce Layer counts.',
  }));
}

function runSimulation() {
  const choice = document.querySelector('input[name=behaviour]:checked').value;
  const { endpoint, events, reset } = behaviours[choice];
  let topic = fields.topic.value.trim() || 'orders.place';
  let payload;
  try {
    payload = JSON.parse(fields.payload.value);
    if (payload?.data?.type !== parseTopic(topic).resource) payload = undefined;
  } catch {
    payload = undefined;
    topic = 'orders.place';
  }
  const scenario = {
    seed: 7,
    webhooks: [{ id: 'your-webhook', topic, callback_url: 'https://your-endpoint.example/hooks', shared_secret: 'simulated' }],
    endpoints: { 'https://your-endpoint.example/hooks': endpoint },
    events: [{ at_ms: 0, topic, count: events, every_ms: 60_000, ...(payload ? { payload } : {}) }],
    actions: reset ? [{ at_ms: 22_000_000, webhook: 'your-webhook', _reset_circuit: true }] : [],
  };
  if (reset) scenario.events.push({ at_ms: 22_600_000, topic, ...(payload ? { payload } : {}) });
  const list = $('timeline');
  list.replaceChildren();
  let report;
  try {
    report = simulate(scenario, { text: true });
  } catch (e) {
    $('sim-summary').innerHTML = `<p class="warning">The simulation refused this payload: <code>${escapeHtml(e.code ?? 'error')}</code> ${escapeHtml(e.message)}</p>`;
    return;
  }
  // The lines are the core's, the same text `clhooks simulate` prints.
  const classes = {
    attempt_finished: (e) => (e.success ? 'ok' : 'fail'), delivered: () => 'ok', dropped: () => 'fail',
    notice: () => 'notice', circuit_opened: () => 'open', circuit_reset: () => 'reset',
  };
  report.timeline.forEach((e, i) => {
    const text = report.text.lines[i];
    if (text === null) return;
    const li = document.createElement('li');
    li.className = classes[e.kind]?.(e) ?? '';
    li.textContent = text;
    li.dataset.kind = e.kind;
    list.append(li);
  });
  drawChart(report);
  const s = report.summary[0];
  const dropped = Object.entries(s.dropped).map(([r, n]) => `${n} ${r.replace(/_/g, ' ')}`).join(', ') || 'none';
  $('sim-summary').innerHTML = `<table><tr><th>attempts</th><th>failed</th><th>delivered</th><th>dropped</th><th>notices</th><th>circuit</th></tr>
    <tr><td>${s.attempts}</td><td>${s.failures}</td><td>${s.delivered}</td><td>${escapeHtml(dropped)}</td><td>${s.notices}</td>
    <td data-circuit="${s.circuit_state}">${s.circuit_state}${s.circuit_opened ? ` (opened ${s.circuit_opened}×, reset ${s.circuit_resets}×)` : ''}</td></tr></table>`;
}

function update() {
  const picked = headerValues();
  if (picked['x-commercelayer-signature'] && document.activeElement === fields.headers) fields.signature.value = picked['x-commercelayer-signature'];
  if (picked['x-commercelayer-topic'] && document.activeElement === fields.headers) fields.topic.value = picked['x-commercelayer-topic'];
  checkSignature();
  decode();
}

async function loadFile(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  fields.payload.value = new TextDecoder().decode(bytes);
  loaded = { bytes, text: fields.payload.value };
  update();
}

for (const field of Object.values(fields)) field.addEventListener('input', update);
$('file').addEventListener('change', async (e) => {
  if (e.target.files[0]) await loadFile(e.target.files[0]);
  e.target.value = ''; // so that loading the same file again reloads it
});
fields.payload.addEventListener('dragover', (e) => { e.preventDefault(); fields.payload.classList.add('dragging'); });
fields.payload.addEventListener('dragleave', () => fields.payload.classList.remove('dragging'));
fields.payload.addEventListener('drop', (e) => {
  e.preventDefault();
  fields.payload.classList.remove('dragging');
  if (e.dataTransfer.files[0]) loadFile(e.dataTransfer.files[0]);
});
$('show-secret').addEventListener('click', (e) => {
  const shown = fields.secret.type === 'text';
  fields.secret.type = shown ? 'password' : 'text';
  e.target.setAttribute('aria-pressed', String(!shown));
  e.target.textContent = shown ? 'Show' : 'Hide';
});
$('tab-denormalized').addEventListener('click', () => setView('denormalized'));
$('tab-raw').addEventListener('click', () => setView('raw'));
$('send').addEventListener('click', send);
$('curl-button').addEventListener('click', copyCurl);
$('run').addEventListener('click', runSimulation);
document.body.dataset.ready = 'true';
update();
