// Runs the shared vectors of tests/vectors/ through an installed clhooks package. Every runtime
// (Node ESM and CJS, workerd, Chromium, Deno, Bun) calls runVectors with the package it
// imported and the vector files it read; the results must be identical everywhere.

const encoder = new TextEncoder();

function base64ToBytes(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The bytes a vector's body spec describes (see tests/vectors/generate.py). */
export function bodyBytes(spec, files) {
  let bytes;
  if (spec.utf8 !== undefined) bytes = encoder.encode(spec.utf8);
  else if (spec.base64 !== undefined) bytes = base64ToBytes(spec.base64);
  else if (spec.file !== undefined) bytes = files.fixture.slice();
  else if (spec.repeat !== undefined) {
    const pattern = encoder.encode(spec.repeat);
    bytes = new Uint8Array(spec.length);
    for (let i = 0; i < spec.length; i++) bytes[i] = pattern[i % pattern.length];
  } else throw new Error(`unknown body spec ${JSON.stringify(spec)}`);
  if (spec.append !== undefined) {
    const tail = encoder.encode(spec.append);
    const whole = new Uint8Array(bytes.length + tail.length);
    whole.set(bytes);
    whole.set(tail, bytes.length);
    bytes = whole;
  }
  if (spec.flip !== undefined) bytes[spec.flip] ^= 0x01;
  return bytes;
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
}

function pointer(value, path) {
  if (path === '') return value;
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((v, key) => (v == null ? undefined : v[key]), value);
}

/** "ok", the WebhookError code, or "not a WebhookError: ..." for anything else thrown. */
function outcome(clhooks, fn) {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof clhooks.WebhookError && typeof e.code === 'string') return e.code;
    return `not a WebhookError: ${e && e.name}: ${e && e.message}`;
  }
}

/** As `outcome`, for a function that returns a promise. */
async function outcomeAsync(clhooks, fn) {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    if (e instanceof clhooks.WebhookError && typeof e.code === 'string') return e.code;
    return `not a WebhookError: ${e && e.name}: ${e && e.message}`;
  }
}

/** Thousands of wrong calls, each of which must throw a WebhookError and leave the wasm instance usable. */
function abuse(clhooks, files) {
  const bad = [
    undefined, null, 0, 1.5, NaN, true, {}, [], [1, 2], { data: { id: 'x', type: 'orders' } },
    () => 1, Symbol('s'), 10n, new Date(0), /x/, new Map(), 'x'.repeat(100000), '\ud800',
  ];
  let calls = 0;
  let wrong = 0;
  const expectError = (fn) => {
    calls++;
    const got = outcome(clhooks, fn);
    if (got === 'ok' || got.startsWith('not a WebhookError')) wrong++;
  };
  const good = files.fixture;
  const secret = 'abuse-secret';
  const signature = clhooks.sign(good, secret);
  const badSecrets = [undefined, null, 0, NaN, true, {}, [], [1, 2], [''], '', ['ok', 3], () => 1, Symbol('s'), 10n, new Map()];
  for (let round = 0; round < 100; round++) {
    for (const value of bad) {
      expectError(() => clhooks.verify(value, signature, secret));
      expectError(() => clhooks.receive(value, { 'x-commercelayer-signature': signature }, secret));
      expectError(() => clhooks.receive(good, value, secret));
      expectError(() => clhooks.parseTopic(value));
      expectError(() => clhooks.matchTopic(value, 'orders.place'));
    }
    for (const value of badSecrets) {
      expectError(() => clhooks.verify(good, signature, value));
      expectError(() => new clhooks.Verifier(value));
    }
  }
  const verifier = new clhooks.Verifier(secret);
  let accepted = outcome(clhooks, () => verifier.verify(good, signature)) === 'ok';
  const event = clhooks.receive(good, [['X-CommerceLayer-Signature', signature], ['X-CommerceLayer-Topic', 'orders.place']], secret);
  accepted = accepted && event.id === 'wBXVhZOmXO' && event.denormalize().line_items.length === 6;
  return { calls, wrong, accepted };
}

/** Every body type a runtime can hand over gives the same signature. */
function bodyTypes(clhooks) {
  const text = '{"data":{"id":"xYZkjABcde","type":"orders"}}';
  const expected = 'dcMMllaEu7O4eft47o8+QFRvvFmxl5z+HJOtsMUzUG4=';
  const secret = '1c0994cc4e996e8c6ee56a2198f66f3c';
  const bytes = encoder.encode(text);
  const padded = new Uint8Array(bytes.length + 8);
  padded.set(bytes, 4);
  const forms = {
    string: text,
    Uint8Array: bytes,
    ArrayBuffer: bytes.buffer.slice(0),
    'Uint8Array view with offset': padded.subarray(4, 4 + bytes.length),
    DataView: new DataView(padded.buffer, 4, bytes.length),
  };
  if (typeof Buffer !== 'undefined') forms.Buffer = Buffer.from(text);
  return Object.entries(forms).map(([name, body]) => ({
    name: `body as ${name}`,
    expected: 'ok',
    got: outcome(clhooks, () => {
      if (clhooks.sign(body, secret) !== expected) throw new Error('different signature');
      clhooks.verify(body, expected, secret);
    }),
  }));
}

/**
 * Small bodies reach the core through its own memory: the same answers for text and bytes,
 * non-ASCII ones, a signature of non-ASCII or too many characters, and after that memory grew.
 */
function smallBodies(clhooks) {
  const secret = 'small-bodies-secret';
  const verifier = new clhooks.Verifier(secret);
  const texts = ['', 'é€😀\ud800', '{"a":1}'.repeat(100), 'x'.repeat(1023)];
  const results = [];
  const check = (when) => {
    texts.forEach((text, i) => {
      for (const [form, body] of [['text', text], ['bytes', encoder.encode(text)]]) {
        const signature = clhooks.sign(body, secret);
        const other = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
        const name = `small body ${i} as ${form} ${when}`;
        results.push({ name: `${name}: valid`, expected: 'ok', got: outcome(clhooks, () => verifier.verify(body, signature)) });
        results.push({ name: `${name}: one-shot`, expected: 'ok', got: outcome(clhooks, () => clhooks.verify(body, signature, secret)) });
        results.push({ name: `${name}: another tag`, expected: 'signature_mismatch', got: outcome(clhooks, () => verifier.verify(body, other)) });
        results.push({ name: `${name}: non-ASCII`, expected: 'malformed_signature', got: outcome(clhooks, () => verifier.verify(body, `${signature.slice(0, -2)}é=`)) });
        results.push({ name: `${name}: long`, expected: 'malformed_signature', got: outcome(clhooks, () => verifier.verify(body, signature.repeat(8))) });
      }
    });
  };
  check('before the memory grew');
  // A large document outlined in the core's memory, which grows it (a denormalize limit or not).
  const items = Array.from({ length: 50000 }, (_, i) => ({ id: `i${i}`, type: 'line_items' }));
  outcome(clhooks, () => clhooks.denormalize({
    data: { id: 'o', type: 'orders', relationships: { line_items: { data: items } } },
    included: items.map((item) => ({ ...item, attributes: {} })),
  }));
  check('after it grew');
  return results;
}

/**
 * The shared HTTP exchanges of receiver.json through the package's `Webhooks` (what every
 * adapter calls): the same statuses and error codes as the core, `clhooks listen` and the
 * examples give. `options` are more of the receiver's (a shared seen-store, say).
 */
export async function receiverVectors(clhooks, files, record, options = {}) {
  const { secrets, routes, requests, sequence } = files.receiver;
  let failNext = false;
  let handled;
  // A handler fails on purpose here: nothing for the default onError to print.
  const webhooks = new clhooks.Webhooks({ onError: null, ...options, secret: secrets });
  routes.forEach((pattern, index) => webhooks.on(pattern, (event) => {
    handled.routes.push(index);
    handled.key = event.idempotencyKey;
    if (failNext) throw new Error('failing on purpose');
  }));
  // The whole body in memory, as after express.raw(): the core measures it against its limit.
  const exchange = async (c) => {
    handled = { routes: [], key: null };
    failNext = c.handler === 'fail';
    const answer = await webhooks.process({ method: c.method ?? 'POST', headers: c.headers, body: bodyBytes(c.body, files) });
    const json = JSON.parse(answer.body);
    const got = { status: answer.status, error: json.error ?? null, duplicate: json.duplicate === true };
    if (c.expect.routes) Object.assign(got, { routes: handled.routes, idempotency_key: handled.key });
    return JSON.stringify(got);
  };
  for (const c of requests) record(`receiver: ${c.name}`, JSON.stringify(c.expect), await exchange(c));
  for (const c of sequence) record(`receiver sequence: ${c.name}`, JSON.stringify(c.expect), await exchange(c));
}

export async function runVectors(clhooks, files) {
  const results = [];
  const record = (name, expected, got) => results.push({ name, expected, got });

  for (const c of files.signatures.sign) {
    const body = bodyBytes(c.body, files);
    let got;
    try {
      got = clhooks.sign(body, c.secret);
    } catch (e) {
      got = e.code;
    }
    record(`sign: ${c.name}`, c.signature ?? c.error, got);
  }

  for (const c of files.signatures.verify) {
    const body = bodyBytes(c.body, files);
    const header = c.header ?? undefined;
    record(`verify: ${c.name}`, c.expect, outcome(clhooks, () => clhooks.verify(body, header, c.secrets)));
    record(`Verifier: ${c.name}`, c.expect, outcome(clhooks, () => new clhooks.Verifier(c.secrets).verify(body, header)));
    // The runtime's own HMAC where it is faster (WebCrypto in workerd and browsers): same answers.
    record(`Verifier.verifyAsync: ${c.name}`, c.expect,
      await outcomeAsync(clhooks, () => new clhooks.Verifier(c.secrets).verifyAsync(body, header)));
  }

  const { catalogue, parse, patterns } = files.topics;
  record('catalogue: topic count', String(catalogue.count), String(clhooks.TOPICS.length));
  record('catalogue: resources', String(catalogue.resources), String(new Set(clhooks.CATALOGUE.map((t) => t.resource)).size));
  for (const k of catalogue.known) {
    const info = clhooks.CATALOGUE.find((t) => t.topic === k.topic);
    record(`catalogue: ${k.topic}`, JSON.stringify(k.description), info ? JSON.stringify(info.description) : 'missing');
  }
  for (const c of parse) {
    const expected = c.error ?? `${c.resource}|${c.event}|${c.known}`;
    let got;
    try {
      const t = clhooks.parseTopic(c.input);
      got = `${t.resource}|${t.event}|${t.known}`;
    } catch (e) {
      got = e.code;
    }
    record(`parseTopic: ${JSON.stringify(c.input)}`, expected, got);
  }
  for (const c of patterns) {
    let got;
    try {
      got = String(clhooks.matchTopic(c.pattern, c.topic ?? 'orders.place'));
    } catch (e) {
      got = e.code;
    }
    record(`matchTopic: ${JSON.stringify(c.pattern)} ${c.topic ?? ''}`, c.error ?? String(c.matches), got);
  }

  for (const c of files.payloads.receive) {
    const body = bodyBytes(c.body, files);
    const forms = { pairs: c.headers };
    const names = c.headers.map(([k]) => k.toLowerCase());
    if (new Set(names).size === names.length) {
      forms.object = Object.fromEntries(c.headers);
      if (typeof Headers !== 'undefined') forms.Headers = new Headers(c.headers);
    }
    for (const [form, headers] of Object.entries(forms)) {
      let event;
      const got = outcome(clhooks, () => {
        event = clhooks.receive(body, headers, c.secrets);
      });
      record(`receive (${form}): ${c.name}`, c.expect, got);
      if (!event) continue;
      const fields = `${c.topic}|${c.type}|${c.id}|${c.included}|${c.idempotency_key}`;
      const read = `${event.topic}|${event.type}|${event.id}|${event.included.length}|${event.idempotencyKey}`;
      record(`receive (${form}): ${c.name}: fields`, fields, read);
      const denormalized = event.denormalize();
      for (const [path, value] of Object.entries(c.denormalized ?? {})) {
        const at = pointer(denormalized, path);
        record(`receive (${form}): ${c.name}: ${path}`, 'equal', deepEqual(at, value) ? 'equal' : JSON.stringify(at));
      }
    }
  }

  // The bad inputs: each one code, as in Rust and the CLI.
  for (const c of files.bad.cases) {
    const body = () => bodyBytes(c.body, files);
    const run = {
      verify: () => clhooks.verify(body(), c.signature, c.secrets),
      topic: () => clhooks.parseTopic(c.input),
      pattern: () => clhooks.matchTopic(c.input, 'orders.place'),
      document: () => clhooks.denormalize(body()),
      denormalize: () => clhooks.denormalize(c.document, { maxDepth: c.max_depth }),
      receive: () => clhooks.receive(body(), Object.fromEntries(c.headers), c.secrets),
      simulate: () => clhooks.simulate(c.scenario),
    }[c.op];
    record(`bad input: ${c.name}`, c.expect, run ? outcome(clhooks, run) : `unknown op ${c.op}`);
  }

  for (const c of files.payloads.denormalize) {
    if (c.error) {
      let got = 'ok';
      try {
        clhooks.denormalize(c.document, { maxDepth: c.max_depth });
      } catch (e) {
        got = e instanceof clhooks.WebhookError ? `${e.code} ${/\((max_\w+)\)/.exec(e.message)?.[1]}` : `not a WebhookError: ${e}`;
      }
      record(`denormalize: ${c.name}`, `${c.error} ${c.limit}`, got);
      continue;
    }
    const got = clhooks.denormalize(c.document, { maxDepth: c.max_depth });
    record(`denormalize: ${c.name}`, 'equal', deepEqual(got, c.expected) ? 'equal' : JSON.stringify(got).slice(0, 200));
  }

  if (files.scenario) {
    const report = clhooks.simulate(files.scenario);
    const dead = report.summary.find((w) => w.id === 'dead');
    const facts = (w) => `${w.id} delivered=${w.delivered} notices=${w.notices} opened=${w.circuit_opened} resets=${w.circuit_resets}`;
    record('simulate: the dead webhook', 'dead delivered=2 notices=1 opened=1 resets=1', facts(dead));
    // Passes here by construction; the runner compares it across runtimes, which must agree.
    const fingerprint = `${JSON.stringify(report).length} bytes, ${report.timeline.length} entries`;
    record('simulate: report fingerprint (compared across runtimes)', fingerprint, fingerprint);
    record('simulate: an invalid scenario', 'invalid_scenario', outcome(clhooks, () => clhooks.simulate('{"webhooks": 1}')));
  }

  await receiverVectors(clhooks, files, record);

  // Who may deliver to a receiver with `sources` set (step 0, from the allow-list's module).
  for (const c of files.sources.cases) {
    let got;
    try {
      const refused = new clhooks.Webhooks({ secret: 's', sources: c.sources }).refused(c.peer ?? undefined, c.headers);
      got = refused ? `${refused.status} ${JSON.parse(refused.body).error}` : 'ok';
    } catch (e) {
      got = e.code;
    }
    record(`sources: ${c.name}`, c.expect === 'forbidden_source' ? '403 forbidden_source' : c.expect, got);
  }

  results.push(...bodyTypes(clhooks));
  results.push(...smallBodies(clhooks));
  const abused = abuse(clhooks, files);
  record(`${abused.calls} bad calls throw WebhookError`, '0 wrong', `${abused.wrong} wrong`);
  record('a good call after the bad ones', 'accepted', abused.accepted ? 'accepted' : 'refused');

  const failed = results.filter((r) => r.expected !== r.got);
  return { passed: results.length - failed.length, failed: failed.length, failures: failed, results };
}

/** The files the vectors need, by path from the repository's root. */
export const FILES = {
  signatures: 'tests/vectors/signatures.json',
  topics: 'tests/vectors/topics.json',
  payloads: 'tests/vectors/payloads.json',
  fixture: 'tests/vectors/orders-place-payload.json',
  receiver: 'tests/vectors/receiver.json',
  sources: 'tests/vectors/sources.json',
  bad: 'tests/vectors/bad-inputs.json',
  scenario: 'examples/scenarios/three-webhooks.json',
};

/** Reads the vector files with a function that returns a file's bytes by its path from the root. */
export async function loadFiles(readBytes) {
  const text = async (key) => new TextDecoder().decode(await readBytes(FILES[key]));
  return {
    signatures: JSON.parse(await text('signatures')),
    topics: JSON.parse(await text('topics')),
    payloads: JSON.parse(await text('payloads')),
    receiver: JSON.parse(await text('receiver')),
    sources: JSON.parse(await text('sources')),
    bad: JSON.parse(await text('bad')),
    fixture: new Uint8Array(await readBytes(FILES.fixture)),
    scenario: await text('scenario'),
  };
}
