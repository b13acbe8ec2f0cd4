// The JavaScript face of clhooks. It takes the wasm core's bindings and shapes them for JS:
// the WebhookError class, event objects with a denormalize() method, the topic constants.
// Every protocol decision (signatures, topics, payload checks) is made in the core.
// The JSDoc types below are the generated ones (index.d.ts, core/web.d.ts): `tsc --checkJs`
// checks this layer against them.

// Shared by the JS files, which ship concatenated into one module.
/** @typedef {typeof import('./core/bindings.js')} Core */
/** @typedef {typeof import('./core/sender-bindings.js')} SenderCore */
/** @typedef {typeof import('./core/sources-bindings.js')} SourcesCore */
/** @typedef {typeof import('./core/worker-bindings.js')} WorkerCore */
/** @typedef {import('./index.js').ErrorDetails} ErrorDetails */
/** @typedef {import('./index.js').EventFields} EventFields */
/** @typedef {import('./index.js').Answer} Answer */
/** @typedef {import('./index.js').Claim} Claim */
/** @typedef {import('./index.js').Outcome} Outcome */
/** @typedef {import('./index.js').Output} Output */

/**
 * Each `make…` gives a fresh instance of its module: the package makes one at start (the
 * sender's and the allow-list's on first use), and a new one whenever the instance in use
 * failed (a trap: a panic or a failed allocation inside the wasm), so that nothing it left
 * half done can break a later call.
 * @param {() => Core} makeCore the receiver's module (verify, receive, topics, payloads)
 * @param {Host | null} host the runtime's own HMAC, where it is faster (hosts.js)
 * @param {() => SenderCore} loadSender the sender's module
 * @param {(() => SourcesCore) | null} loadSources the allow-list's module, for receivers that
 *   set `sources`; `null` where receivers do not run (browsers)
 * @param {() => WorkerCore} [loadWorker] the handoff worker's module, for workers; not given
 *   where workers do not run (browsers)
 */
export function createApi(makeCore, host, loadSender, loadSources, loadWorker) {
  /** The one error type clhooks throws; `code` is stable (see ERROR_CODES). */
  class WebhookError extends Error {
    /**
     * @param {string} code
     * @param {string} message
     * @param {Partial<ErrorDetails>} [details]
     */
    constructor(code, message, details) {
      super(message);
      this.name = 'WebhookError';
      this.code = code;
      /** @type {number} */
      this.status = details?.status ?? 500;
      if (details && typeof details === 'object') {
        for (const [key, value] of Object.entries(details)) {
          if (!(key in this)) this[key] = value;
        }
      }
    }
  }
  const { outline, expand, weight } = createDocuments();

  /** The receiver's instance in use. */
  let core = /** @type {Core} */ (/** @type {unknown} */ (undefined));
  /** How many times the instances were replaced: objects made from an older one remake theirs. */
  const runtime = { generation: 0 };
  /** A promise, from this realm or another. */
  const isThenable = (value) => value != null && typeof value.then === 'function';
  /** Whether an error is the wasm failing (a trap), rather than one of its WebhookErrors. */
  const isCoreFailure = (error) => typeof WebAssembly === 'object' && error instanceof WebAssembly.RuntimeError;
  /** Drops the instances in use (the next call makes fresh ones) and says so. */
  const restart = (error) => {
    runtime.generation++;
    verifiers.clear();
    senderCore = undefined;
    sourcesCore = undefined;
    workerCore = undefined;
    setUp();
    return new WebhookError('core_failed', `the WebAssembly core failed (${error && error.message}); `
      + 'it was replaced by a fresh instance: the call can be made again', { status: 500 });
  };
  /**
   * Any error from a call into the package as a WebhookError: its own, `core_failed` for a trap
   * (after which the instance is replaced), `invalid_argument` for an argument that could not
   * be read (a detached buffer, a throwing getter or Proxy).
   */
  const fault = (error) => {
    if (error instanceof WebhookError) return error;
    if (isCoreFailure(error)) return restart(error);
    const message = error && typeof error === 'object' && 'message' in error ? String(error.message) : String(error);
    return new WebhookError('invalid_argument', `an argument could not be read: ${message}`, { status: 500 });
  };
  /**
   * `fn` with every error it throws, or its promise rejects with, made a WebhookError by `fault`.
   * @template {(...args: any[]) => any} F
   * @param {F} fn
   * @returns {F}
   */
  const guarded = (fn) => /** @type {F} */ (function (/** @type {any[]} */ ...args) {
    return attempt(() => fn.apply(this, args));
  });
  /**
   * `fn()`, its errors made WebhookErrors by `fault`.
   * @template T
   * @param {() => T} fn
   * @returns {T}
   */
  const attempt = (fn) => {
    try {
      const result = fn();
      return isThenable(result)
        ? /** @type {T} */ (/** @type {unknown} */ (Promise.resolve(result).catch((error) => { throw fault(error); })))
        : result;
    } catch (error) {
      throw fault(error);
    }
  };

  /** @type {SenderCore | undefined} */
  let senderCore;
  /** The sender's module (simulator, delivery driver), loaded when a run first needs it. */
  const sender = () => {
    if (!senderCore) {
      const made = loadSender();
      made.__setErrorClass(WebhookError);
      senderCore = made;
    }
    return senderCore;
  };

  /** @type {WorkerCore | undefined} */
  let workerCore;
  /** The handoff worker's machine and record reader, from the module loaded on first need. */
  const worker = () => {
    if (!loadWorker) throw new WebhookError('invalid_argument', 'handoff workers are not available in this build of the package');
    if (!workerCore) {
      const made = loadWorker();
      made.__setErrorClass(WebhookError);
      workerCore = made;
    }
    return workerCore;
  };

  /** @type {SourcesCore | undefined} */
  let sourcesCore;
  /** The core's step 0 for a receiver's `sources`, from the module loaded on first need. */
  const admission = (config) => {
    if (!loadSources) {
      throw new WebhookError('invalid_argument', 'sources (an allow-list of addresses) is not available in this build of the package');
    }
    if (!sourcesCore) {
      const made = loadSources();
      made.__setErrorClass(WebhookError);
      sourcesCore = made;
    }
    const made = new sourcesCore.Admission(config);
    // The header the platform names the caller in, if any, read as the delivery headers are.
    const forwarded = made.forwardedHeader;
    const names = forwarded === undefined ? null : [forwarded];
    return {
      admit: (peer, headers) => made.admit(peer, names === null ? undefined : readHeaders(headers, names)[0]),
    };
  };

  /**
   * A parsed document expanded as the core plans it.
   * @param {any} document
   * @param {{ maxDepth?: number, maxNodes?: number, maxGrowth?: number } | undefined} options
   */
  const denormalizeParsed = (document, options) => {
    const included = Array.isArray(document.included) ? document.included : [];
    const weigh = (position) => weight(position === 0 ? document.data : included[position - 1]);
    return expand(core.denormalizePlan(document, options, weigh), document);
  };

  /** A verified delivery. */
  class WebhookEvent {
    /** @type {object} The payload as the engine parsed it (set from the core's fields). */
    document;

    /** @type {string | undefined} */
    #key;
    /** The body as passed to receive, its length then, and the topic: what the key is made of. */
    #body;
    #length;
    #topic;

    /**
     * @param {string | undefined} key the idempotency key, when the core made it already
     * @param {any} body the raw body, to make it from when first read
     * @param {string} topic
     */
    constructor(key, body, topic) {
      this.#key = key;
      this.#body = key === undefined ? body : undefined;
      this.#length = key === undefined && body != null && typeof body !== 'string' ? body.byteLength : undefined;
      this.#topic = topic;
    }

    /**
     * The same for every retry of one delivery, different for different deliveries (the core's
     * key of the topic and the raw body): made when first read, unless a seen-store needed it.
     * @returns {string}
     */
    get idempotencyKey() {
      return attempt(() => this.#made());
    }

    /** The key, made now if it was not. */
    #made() {
      if (this.#key === undefined) {
        const body = this.#body;
        if (this.#length !== undefined && body.byteLength !== this.#length) {
          throw new WebhookError('invalid_argument', 'the body passed to receive() changed size (or its buffer was detached) '
            + 'before idempotencyKey was first read: keep the bytes unchanged until then, or read the key at once');
        }
        this.#key = core.idempotencyKey(this.#topic, body, hostDigest(body, false));
        this.#body = undefined;
      }
      return this.#key;
    }

    /** A handler may set its own key. */
    set idempotencyKey(key) {
      this.#key = key;
      this.#body = undefined;
    }

    /** The event as JSON, its key included (it is not an own property). */
    toJSON() {
      return { ...this, idempotencyKey: this.idempotencyKey };
    }

    /** The payload with relationships resolved from `included`. */
    denormalize(options) {
      return attempt(() => denormalizeParsed(this.document, options));
    }
  }

  /**
   * The package's part of reading a verified delivery, for the core (see `__setHooks` in
   * crates/wasm/src/document.rs): the body decoded as strict UTF-8 (a byte-order mark kept, so
   * that JSON.parse refuses it) and parsed, and the facts the core checks: whether `data.type`
   * is the topic's resource, then the document's outline. The document waits here for the
   * event the core makes next.
   */
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  /** The document `read` parsed last, until the event takes it. */
  let parsed;
  const read = (body, info) => {
    parsed = undefined;
    let text = body;
    if (typeof body !== 'string') {
      try {
        text = decoder.decode(body);
      } catch {
        return undefined;
      }
    }
    let document;
    try {
      document = JSON.parse(text);
    } catch (error) {
      return error && typeof error.message === 'string' ? error.message : 'JSON.parse failed';
    }
    parsed = document;
    const codes = outline(document, 1);
    const data = document !== null && typeof document === 'object' ? document.data : undefined;
    const type = data !== null && typeof data === 'object' ? data.type : undefined;
    codes[0] = info === undefined ? -1 : type === info.resource ? 1 : 0;
    return codes;
  };
  /** The document `read` parsed last. */
  const lastDocument = () => parsed;

  /**
   * The event handed to handlers, made by the core once a delivery is verified and read (the
   * document `read` parsed; `data.id` and `data.type` are strings: the core checked them).
   * @param {Readonly<import('./index.js').TopicFields>} info the topic's fields
   */
  const makeEvent = (info, idempotencyKey, body, routes) => {
    const document = parsed;
    parsed = undefined;
    const data = document.data;
    const event = /** @type {WebhookEvent & Record<string, unknown>} */ (new WebhookEvent(idempotencyKey, body, info.topic));
    event.topic = info.topic;
    event.resource = info.resource;
    event.event = info.event;
    event.known = info.known;
    event.description = info.description;
    event.id = data.id;
    event.type = data.type;
    event.routes = routes;
    event.included = Array.isArray(document.included) ? document.included : [];
    event.document = document;
    event.data = data;
    return event;
  };

  /**
   * The values of the headers named `names` (lowercase ASCII; by default the two a delivery is
   * read from, `[signature, topic]`), `undefined` where there is none, found in whatever the
   * runtime has: a fetch `Headers`, a `Map` or any iterable of `[name, value]` pairs, or a plain
   * object such as Node's `req.headers`. Names match in any ASCII case; the first usable value
   * of each name counts, as the core reads pairs. A value is a string, a whole number (its
   * digits) or an array (its first string).
   */
  const DELIVERY_HEADERS = ['x-commercelayer-signature', 'x-commercelayer-topic'];
  /** Whether `name` is `lower` (a lowercase ASCII name) in any ASCII case. */
  const named = (name, lower) => {
    if (name === lower) return true;
    if (typeof name !== 'string' || name.length !== lower.length) return false;
    for (let i = 0; i < lower.length; i++) {
      const unit = name.charCodeAt(i);
      if ((unit >= 65 && unit <= 90 ? unit + 32 : unit) !== lower.charCodeAt(i)) return false;
    }
    return true;
  };
  const headerValue = (value) => {
    if (typeof value === 'string') return value;
    if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 2 ** 53 ? String(value) : undefined;
    if (Array.isArray(value)) return value.find((v) => typeof v === 'string');
    return undefined;
  };
  /** The most names or pairs looked at. */
  const HEADERS_READ = 10_000;
  const NOT_HEADERS = 'headers must be a Headers object, a plain object or an array of pairs';
  /**
   * @param {any} headers
   * @param {string[]} [names]
   * @returns {(string | undefined)[]}
   */
  const readHeaders = (headers, names = DELIVERY_HEADERS) => {
    const values = names.map(() => undefined);
    if (headers === undefined || headers === null) return values;
    if (typeof headers !== 'object' && typeof headers !== 'function') {
      throw new WebhookError('invalid_argument', NOT_HEADERS, { status: 500 });
    }
    // This realm's own fetch Headers: one value per name (its iteration gives the same), so a
    // lookup per name instead of a pass over every header a platform adds.
    if (typeof Headers === 'function' && Object.getPrototypeOf(headers) === Headers.prototype) {
      for (let i = 0; i < names.length; i++) {
        const found = headers.get(names[i]);
        values[i] = found === null ? undefined : found;
      }
      return values;
    }
    let iterator;
    try {
      const iterate = headers[Symbol.iterator];
      iterator = typeof iterate === 'function' ? iterate.call(headers) : undefined;
    } catch {
      throw new WebhookError('invalid_argument', 'the headers could not be read', { status: 500 });
    }
    if (iterator === undefined) {
      // A plain object (Node's req.headers): its names looked at in order, no closure per name.
      const keys = Object.keys(headers);
      for (let i = 0; i < keys.length && i < HEADERS_READ; i++) {
        const name = keys[i];
        for (let n = 0; n < names.length; n++) {
          if (values[n] === undefined && named(name, names[n])) {
            let value;
            try {
              value = headers[name];
            } catch {
              value = undefined;
            }
            values[n] = headerValue(value);
            break;
          }
        }
      }
      return values;
    }
    /** Takes a name's value for the first of `names` it is and has none yet. */
    const take = (name, value) => {
      for (let i = 0; i < names.length; i++) {
        if (values[i] === undefined && named(name, names[i])) {
          values[i] = headerValue(value());
          return;
        }
      }
    };
    // An iterator that throws ends the reading there, with what was found.
    try {
      for (let i = 0; i < HEADERS_READ; i++) {
        const step = iterator.next();
        if (step.done) break;
        const entry = step.value;
        if (Array.isArray(entry) && typeof entry[0] === 'string') take(entry[0], () => entry[1]);
      }
    } catch {
      // What was found stands.
    }
    return values;
  };

  /**
   * Where a small body and its signature are written for the core's `verifyWritten` (a view of
   * the instance's memory: empty once it grows, then asked for again), and how big it is.
   * @type {Uint8Array | null}
   */
  let scratch = null;
  /** Where the core's `outlineWritten` reads, as `scratch`. @type {Int32Array | null} */
  let codesScratch = null;
  const SCRATCH_BYTES = 4096;
  const scratchEncoder = new TextEncoder();

  /** Makes the receiver's instance in use, with this layer's hooks. */
  function setUp() {
    const made = makeCore();
    made.__setErrorClass(WebhookError);
    made.__setHooks(outline, read, lastDocument, makeEvent);
    core = made;
    scratch = null;
    codesScratch = null;
  }

  /** The scratch, asked for again once the memory grew (the view is then empty). */
  const scratchView = () => {
    if (scratch === null || scratch.length === 0) scratch = core.scratch(SCRATCH_BYTES);
    return scratch;
  };
  /**
   * Writes a body (a string or a Uint8Array) at the start of the scratch, `room` bytes left
   * after it: its length in bytes, or -1 when it may not fit or is of another type.
   */
  const writeBody = (view, body, room) => {
    if (typeof body === 'string') {
      // A string of n UTF-16 units is at most 3n bytes of UTF-8.
      return body.length * 3 > view.length - room ? -1 : scratchEncoder.encodeInto(body, view).written;
    }
    if (!(body instanceof Uint8Array) || body.length > view.length - room) return -1;
    view.set(body);
    return body.length;
  };
  /** A topic header's value the short way takes: a string with no spaces around it (the core trims others). */
  const plainTopic = (topic) => typeof topic === 'string' && topic.trim() === topic;
  /**
   * Writes `first` (a body, or the host's tags of it) at the start of the scratch and the ASCII
   * `strings` after it: where `first` ends, or -1 when a value is of another kind or does not fit.
   */
  const writeHead = (first, strings) => {
    let room = 0;
    for (const value of strings) {
      if (typeof value !== 'string') return -1;
      room += value.length;
    }
    const view = scratchView();
    const at = writeBody(view, first, room);
    let end = at;
    for (const value of strings) end = writeAscii(view, end, value);
    return end < 0 ? -1 : at;
  };
  /** Writes an ASCII string at `at`: where it ends, or -1 for another value or one too long. */
  const writeAscii = (view, at, value) => {
    if (at < 0 || typeof value !== 'string' || at + value.length > view.length) return -1;
    for (let i = 0; i < value.length; i++) {
      const unit = value.charCodeAt(i);
      if (unit > 0x7f) return -1;
      view[at + i] = unit;
    }
    return at + value.length;
  };

  /**
   * The core's verdict on a small body (a string or a Uint8Array) and an ASCII signature
   * written into its memory: `true` when it verifies. `false` for anything else, which the
   * caller then hands to the core's `verify` for the typed error: nothing is decided here, only
   * fewer values cross over.
   */
  const verifiedWritten = (verifier, body, signature) => {
    const at = writeHead(body, [signature]);
    return at >= 0 && verifier.verifyWritten(at, signature.length);
  };

  /**
   * The core's fields of each topic a delivery named, by the header's value (ASCII and without
   * spaces around it, as the short way takes it), frozen as the core's own; a bounded number.
   */
  let topicInfos = new Map();
  const TOPIC_INFOS = 512;
  const topicInfo = (name) => {
    let info = topicInfos.get(name);
    if (info === undefined) {
      if (topicInfos.size >= TOPIC_INFOS) topicInfos = new Map();
      info = Object.freeze(core.parseTopic(name));
      topicInfos.set(name, info);
    }
    return info;
  };
  /** Where outlines are written for the core's `outlineWritten`: a larger one goes the long way. */
  const CODES = 8192;
  /** The routes of an event received without a router. */
  const NO_ROUTES = Object.freeze([]);

  /**
   * A delivery verified and read with its values written into the core's memory, as the core's
   * `receive` gives it: the core's `receiveWritten` (the signature, against the host's tags or
   * the body, and the topic), this layer's `read`, then the core's `outlineWritten` (the
   * document's shape). `undefined` when either says no or a value does not fit; the caller then
   * calls the core's `receive`, for the event or the typed error: nothing is decided here, only
   * fewer values cross over (each crossing costs more in a busy server than in a loop).
   */
  const receivedWritten = (verifier, body, signature, topic, tags) => {
    if ((typeof body !== 'string' && !(body instanceof Uint8Array)) || !plainTopic(topic)) return undefined;
    const at = writeHead(tags === undefined ? body : tags, [signature, topic]);
    if (at < 0 || !verifier.receiveWritten(tags !== undefined, at, signature.length, topic.length)) return undefined;
    const info = topicInfo(topic);
    const codes = readOrNot(body, info);
    if (!codesWritten(codes) || !core.outlineWritten(codes.length)) return undefined;
    return makeEvent(info, undefined, body, NO_ROUTES);
  };
  /** `read`, or `undefined` when it throws: the long way then reads again, as the core calls it. */
  const readOrNot = (body, info) => {
    try {
      return read(body, info);
    } catch {
      return undefined;
    }
  };
  /** Writes what `read` gave, when it is an outline that fits, for the core: whether it did. */
  const codesWritten = (codes) => {
    if (!(codes instanceof Int32Array) || codes.length > CODES) return false;
    if (codesScratch === null || codesScratch.length === 0) codesScratch = core.scratchCodes(CODES);
    codesScratch.set(codes);
    return true;
  };
  /**
   * A receiver's step 1 with its values written into the core's memory, as the core's
   * `Receiver.receive` gives it (`[answer, event, session, pending]`, the session opened at
   * `now`): the core's `receiveWritten`
   * (the method, the body's length, the signature and the topic), this layer's `read`, then
   * the core's `receiveOutlined` (the document's shape, the key, the store's claim, the session;
   * `receiveOutlinedInMemory` claims in `memory`, the core's own memory store, without a crossing).
   * `undefined` when the core says no or a value does not fit, before anything is claimed: the
   * caller then calls the core's `receive`, for the answer.
   */
  const receiverWritten = (receiver, method, body, signature, topic, tags, digest, store, memory, now) => {
    if (!(body instanceof Uint8Array) || !plainTopic(topic)) return undefined;
    const at = writeHead(tags === undefined ? body : tags, [method, signature, topic]);
    if (at < 0 || !receiver.receiveWritten(tags !== undefined, body.length, at, method.length, signature.length, topic.length)) {
      return undefined;
    }
    const codes = readOrNot(body, topicInfo(topic));
    if (!codesWritten(codes)) return undefined;
    return memory === undefined ? receiver.receiveOutlined(codes.length, body, digest, store, now)
      : receiver.receiveOutlinedInMemory(codes.length, body, digest, memory, now);
  };

  setUp();

  const CATALOGUE = Object.freeze(core.catalogue().map((info) => Object.freeze(info)));
  const TOPICS = Object.freeze(CATALOGUE.map((info) => info.topic));
  const ERROR_CODES = Object.freeze(core.errorCodes());

  /** The core's check of a signature against host-computed tags (a missing header is ''). */
  const verifyTags = (signature, tags) => core.verifyTags(typeof signature === 'string' ? signature : '', tags);

  /** The secrets as a list (once the core has accepted them). */
  const secretList = (secret) => (typeof secret === 'string' ? [secret] : Array.from(secret));
  /** The host's keys for secrets the core accepted; `null` without a host. */
  const hostKeysFor = (secret) => (host ? host.keys(secretList(secret)) : null);

  /**
   * The body as the host hashes it when it is at least `threshold` bytes long and of a type the
   * host takes; `undefined` otherwise (the core's own HMAC then, and its errors for bad bodies).
   */
  const hostBody = (body, threshold) => {
    if (typeof body === 'string') return body.length >= threshold ? body : undefined;
    if (body instanceof ArrayBuffer) return body.byteLength >= threshold ? new Uint8Array(body) : undefined;
    if (ArrayBuffer.isView(body)) return body.byteLength >= threshold ? body : undefined;
    return undefined;
  };

  /**
   * What the host computes of a body, when it should (a body it takes, of at least its
   * threshold): `sync(bytes)`, or with `allowAsync` an asynchronous host's `async(bytes)`.
   * `undefined`: let the core compute it.
   */
  const hosted = (body, allowAsync, sync, async) => {
    const bytes = host ? hostBody(body, host.threshold) : undefined;
    if (bytes === undefined) return undefined;
    if (sync) return sync(bytes);
    return allowAsync && async ? async(bytes) : undefined;
  };

  /** Whether the host would hash this body (of a type it takes, at least its threshold long). */
  const hostWants = (body) => {
    const length = typeof body === 'string' ? body.length : body != null ? body.byteLength : undefined;
    return host != null && typeof length === 'number' && length >= host.threshold;
  };

  /** The host's tags of a body under the keys of `hostKeysFor`. */
  const hostTags = (keys, body, allowAsync) => (keys == null ? undefined : hosted(body, allowAsync,
    host.digest && ((bytes) => host.digest(keys, bytes)),
    host.digestAsync && ((bytes) => host.digestAsync(keys, bytes))));

  /** The host's SHA-256 of a body, for the idempotency key. */
  const hostDigest = (body, allowAsync) => hosted(body, allowAsync, host && host.sha256, host && host.sha256Async);

  /** The secrets of each Verifier, as the core accepted them, to remake it in a fresh instance. */
  const secretsOf = new WeakMap();

  /** Keys made once for one secret, or several during a rotation. */
  class Verifier {
    /** The core's verifier, in the instance of `#generation`. */
    #inner;
    #generation;
    #freed = false;

    constructor(secret) {
      this.#inner = attempt(() => new core.Verifier(secret));
      this.#generation = runtime.generation;
      secretsOf.set(this, secretList(secret));
      /** The host's keys for the same secrets (validated by the core above). */
      this.hostKeys = hostKeysFor(secret);
    }

    /** The core's verifier in the instance in use (remade after a restart). */
    #core() {
      if (this.#freed) throw new WebhookError('invalid_argument', 'this Verifier was freed', { status: 500 });
      if (this.#generation !== runtime.generation) {
        this.#inner = new core.Verifier(secretsOf.get(this));
        this.#generation = runtime.generation;
      }
      return this.#inner;
    }

    get secretCount() {
      return attempt(() => this.#core().secretCount);
    }

    verify(body, signature) {
      // The hot path, without a closure per call: a body under the host's threshold goes
      // straight to the core's HMAC.
      try {
        const verifier = this.#core();
        const tags = this.hostKeys == null || !hostWants(body) ? undefined : hostTags(this.hostKeys, body, false);
        if (tags !== undefined) return verifyTags(signature, tags);
        if (verifiedWritten(verifier, body, signature)) return undefined;
        return verifier.verify(body, signature);
      } catch (error) {
        throw fault(error);
      }
    }

    /** As `verify`, with the runtime's asynchronous HMAC (WebCrypto) where it is faster. */
    verifyAsync(body, signature) {
      try {
        return attempt(() => this.#verifyAsync(body, signature));
      } catch (error) {
        // Asynchronous: whatever goes wrong rejects, nothing throws.
        return Promise.reject(error);
      }
    }

    #verifyAsync(body, signature) {
      const verifier = this.#core();
      const bytes = this.hostKeys != null && host.matchAsync && verifier.secretCount === 1 ? hosted(body, true, null, (b) => b) : undefined;
      if (bytes !== undefined) {
        // One secret: the core decodes the header (and says what is wrong with it), WebCrypto
        // compares, the core gives the mismatch.
        const tag = core.decodeSignature(signature);
        return Promise.resolve(host.matchAsync(this.hostKeys, bytes, tag)).then((matched) => core.checkMatched(matched === true));
      }
      const tags = hostTags(this.hostKeys, body, true);
      if (tags === undefined) return Promise.resolve(verifier.verify(body, signature));
      // One turn of the loop, as WebCrypto's own verify takes.
      return Promise.resolve(tags).then((computed) => verifyTags(signature, computed));
    }

    /** Signs with the first secret (in the sender's module: a receiver never signs). */
    sign(body) {
      return attempt(() => {
        this.#core();
        return sender().signWith(body, secretsOf.get(this));
      });
    }

    receive(body, headers) {
      try {
        const verifier = this.#core();
        const [signature, topic] = readHeaders(headers);
        const tags = hostTags(this.hostKeys, body, false);
        return receivedWritten(verifier, body, signature, topic, tags) ?? verifier.receive(body, signature, topic, tags);
      } catch (error) {
        throw fault(error);
      } finally {
        parsed = undefined;
      }
    }

    /** Frees the keys now instead of when garbage-collected; the Verifier is then unusable. */
    free() {
      if (this.#freed) return;
      this.#freed = true;
      secretsOf.delete(this);
      if (this.#generation === runtime.generation) this.#inner.free();
      this.hostKeys = null;
    }
  }
  /**
   * The one-shot functions' verifiers, keyed once per secret (or list of secrets) and kept for
   * the next call: a receiver passes the same secret every time. A few at most, the oldest
   * freed first.
   * @type {Map<string, Verifier>}
   */
  const verifiers = new Map();
  const VERIFIERS_KEPT = 8;
  /** The last string secret asked for and its verifier: a receiver passes the same one each time. */
  let lastSecret;
  let lastVerifier;
  /** A kept verifier for `secret`; the core's error for one it refuses. */
  const verifierFor = (secret) => {
    if (lastVerifier !== undefined && typeof secret === 'string' && secret === lastSecret) return lastVerifier;
    // Strings and arrays of strings only, each kind apart ('["a"]' the secret is not ['a']);
    // anything else goes to the core as it is, for its error.
    const name = typeof secret === 'string' ? `s:${secret}`
      : Array.isArray(secret) && secret.every((s) => typeof s === 'string') ? `a:${JSON.stringify(secret)}` : undefined;
    let verifier = name === undefined ? undefined : verifiers.get(name);
    if (verifier) return remembered(secret, verifier);
    verifier = new Verifier(secret);
    if (name !== undefined) {
      if (verifiers.size >= VERIFIERS_KEPT) {
        const [oldest, old] = verifiers.entries().next().value;
        verifiers.delete(oldest);
        // Even when it is the last one asked for: the new one below takes that place.
        old.free();
      }
      verifiers.set(name, verifier);
    }
    return remembered(secret, verifier);
  };
  /** Keeps a string secret's verifier as the last one asked for. */
  const remembered = (secret, verifier) => {
    if (typeof secret === 'string') {
      lastSecret = secret;
      lastVerifier = verifier;
    }
    return verifier;
  };

  function receive(body, headers, secret) {
    if (secret instanceof Verifier) return secret.receive(body, headers);
    return verifierFor(secret).receive(body, headers);
  }

  function verify(body, signature, secret) {
    return verifierFor(secret).verify(body, signature);
  }

  function denormalize(document, options) {
    try {
      return denormalizeParsed(core.parseDocument(document), options);
    } finally {
      parsed = undefined;
    }
  }

  const api = {
    WebhookError,
    WebhookEvent,
    hostTags,
    hostDigest,
    hostKeysFor,
    readHeaders,
    receiverWritten,
    forgetParsed: () => {
      parsed = undefined;
    },
    admission,
    worker,
    Verifier,
    secretsOf,
    runtime,
    guarded,
    isCoreFailure,
    fault,
    core: () => core,
    sign: guarded((body, secret) => sender().sign(body, secret)),
    deliveryHeaders: guarded((body, secret, topic, contentType) => sender().deliveryHeaders(body, secret, topic, contentType)),
    verify: guarded(verify),
    receive: guarded(receive),
    parseTopic: guarded((name) => core.parseTopic(name)),
    matchTopic: guarded((pattern, name) => core.matchTopic(pattern, name)),
    denormalize: guarded(denormalize),
    simulate: guarded((scenario, options) => sender().simulate(scenario, Boolean(options && options.text))),
    TOPICS,
    CATALOGUE,
    ERROR_CODES,
  };
  const {
    hostTags: _tags, hostDigest: _digest, hostKeysFor: _keys, readHeaders: _read, receiverWritten: _written, forgetParsed: _forget, admission: _admission, secretsOf: _secrets, runtime: _runtime,
    guarded: _guarded, isCoreFailure: _failure, fault: _fault, core: _core, drive: _drive, call: _call, makeRecord: _record, MemoryQueue: _queue, worker: _worker, observe: _observe, ...exported
  } = Object.assign(api, createReceivers(api), createLive(sender, guarded), createQueues(api));
  return exported;
}
