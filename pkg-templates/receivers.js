// Receivers: node:http, Express and fetch-style handlers around the core's sans-IO receiver.
// They only move bytes: the status of every request, the body limit, what a duplicate is and
// when an idempotency key is recorded are all decided by the core (clhooks::receiver), here
// driven step by step so that handlers and seen-stores may be asynchronous.

const JSON_HEADERS = { 'content-type': 'application/json' };
const HEALTH_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

/**
 * @param {{
 *   hostTags: (keys: any, body: any, allowAsync: boolean) => Uint8Array | Promise<Uint8Array> | undefined,
 *   hostDigest: (body: any, allowAsync: boolean) => Uint8Array | Promise<Uint8Array> | undefined,
 *   hostKeysFor: (secret: any) => any,
 *   readHeaders: (headers: any, names?: string[]) => (string | undefined)[],
 *   receiverWritten: (receiver: any, method: any, body: any, signature: any, topic: any, tags: any, digest: any, store: any, memory: any, now: number) => any,
 *   forgetParsed: () => void,
 *   admission: (config: any) => { admit(peer: any, headers: any): Answer | undefined },
 *   core: () => Core,
 *   runtime: { generation: number },
 *   secretsOf: WeakMap<object, string[]>,
 *   isCoreFailure: (error: unknown) => boolean,
 *   fault: (error: unknown) => Error,
 *   WebhookError: any,
 *   Verifier: any,
 *   makeRecord?: (key: string, topic: string, signature: string | undefined, body: any) => Record<string, any>,
 *   createWorker?: (options: any) => any,
 * }} api
 */
export function createReceivers(api) {
  const {
    hostTags, hostDigest, hostKeysFor, readHeaders, receiverWritten, forgetParsed, admission, WebhookError, Verifier, runtime, secretsOf, isCoreFailure,
  } = api;
  const invalid = (message) => new WebhookError('invalid_argument', message, { status: 500 });
  /** The default `onError`: a handler's (or the store's) failure on standard error. */
  const logFailure = (error, event) => {
    // A failure streak's warning, or its end: what Commerce Layer is doing about the webhook.
    if (error && (error.code === 'failure_streak' || error.code === 'failure_streak_ended' || error.counted === false)) {
      return void console.warn(`clhooks: ${error.message}`);
    }
    const about = event && typeof event === 'object' ? ` (${event.topic} ${event.id})` : '';
    console.error(`clhooks: a delivery failed${about}; the answer says so and Commerce Layer retries:`, error);
  };
  /** A function option, or nothing. */
  const callable = (value, name) => {
    if (value !== undefined && value !== null && typeof value !== 'function') throw invalid(`${name} must be a function`);
    return value || undefined;
  };
  /** An error's message, or what was thrown when it is no error (a handler may reject with anything). */
  const describe = (error) => String(error && error.message ? error.message : error);
  /**
   * The core's answer when receiving itself failed: a seen-store that threw (500
   * `receiver_failed`), or the wasm instance (500 `core_failed`, after it was replaced).
   */
  const failure = (error) => {
    if (isCoreFailure(error)) return /** @type {Answer} */ (api.core().Receiver.coreFailed(api.fault(error).message));
    return /** @type {Answer} */ (api.core().Receiver.failed(describe(error)));
  };

  /** The socket's address of a Node request (for `sources`); never a header. */
  const peerOf = (req) => (req.socket && typeof req.socket.remoteAddress === 'string' ? req.socket.remoteAddress : undefined);

  /**
   * A promise, from this realm or another.
   * @param {unknown} value
   * @returns {value is PromiseLike<any>}
   */
  const isThenable = (value) => value != null && typeof (/** @type {any} */ (value)).then === 'function';

  /**
   * The core's store in the instance in use, of one of the package's own memory stores whose
   * `claim` is its own (not wrapped, not behind a Proxy); `undefined` for any other store.
   */
  let coreStoreOf;
  /**
   * The core's bounded in-memory seen-store, in the instance in use: after a restart it starts
   * empty (what the failed instance held is not trusted).
   */
  class MemoryStore {
    #max;
    #inner;
    #generation;

    static {
      coreStoreOf = (store) => (store !== null && typeof store === 'object' && #inner in store
        && store.claim === MemoryStore.prototype.claim ? store.#store() : undefined);
    }

    constructor(max) {
      this.#max = max;
      this.#inner = new (api.core().MemoryStore)(max);
      this.#generation = runtime.generation;
    }

    #store() {
      if (this.#generation !== runtime.generation) {
        this.#inner = new (api.core().MemoryStore)(this.#max);
        this.#generation = runtime.generation;
      }
      return this.#inner;
    }

    /** @returns {Claim} */
    claim(key) {
      return /** @type {Claim} */ (this.#store().claim(key));
    }

    done(key) {
      this.#store().done(key, true);
    }

    release(key) {
      this.#store().done(key, false);
    }

    get size() {
      return this.#store().size;
    }
  }

  /** The core's bounded in-memory seen-store (the default): the oldest handled keys are forgotten first. */
  /** @param {{ max?: number }} [options] */
  function createMemoryStore(options = {}) {
    if (options === null || typeof options !== 'object') throw invalid('createMemoryStore takes an options object');
    const { max } = options;
    if (max !== undefined && !(Number.isInteger(max) && max >= 0 && max <= 0xffffffff)) {
      throw invalid('max must be a whole number of keys from 0 to 4294967295');
    }
    return new MemoryStore(max);
  }

  /** An answer's outcome as the core names it (`handled`, `duplicate`, ...), for metrics and logs. */
  const outcomeOf = (answer, verified) => api.core().Health.outcome(answer.status, answer.body, verified);
  /** A refusal's code: `{"error": code, ...}`. */
  const codeOf = (answer) => {
    try {
      return JSON.parse(answer.body).error;
    } catch {
      return undefined;
    }
  };
  /** Histogram boundaries in seconds, from 5 ms to Cloudflare's 15 min handler limit. */
  const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 300, 900];

  /**
   * A receiver's metrics and logs, in the user's own stack: an OpenTelemetry `Meter` (the package
   * imports nothing of OpenTelemetry) and a pino- or console-style logger; `null` with neither.
   * What is measured is the core's: the outcome and the streak come from it.
   */
  function observe(meter, logger, health) {
    if ((meter === undefined || meter === null) && (logger === undefined || logger === null)) return null;
    if (meter != null && ['createCounter', 'createHistogram', 'createObservableGauge'].some((m) => typeof meter[m] !== 'function')) {
      throw invalid("meter must be an OpenTelemetry Meter: metrics.getMeter('my-app') from @opentelemetry/api");
    }
    if (logger != null && (typeof logger.info !== 'function' || typeof logger.warn !== 'function')) {
      throw invalid('logger must have info(object, message) and warn(object, message), as pino and console have');
    }
    const instruments = meter == null ? null : {
      deliveries: meter.createCounter('clhooks.deliveries', { description: 'Requests answered by a webhook receiver, by topic and outcome', unit: '{request}' }),
      answer: meter.createHistogram('clhooks.answer.duration', {
        description: 'From the moment the receiver saw a request to its answer', unit: 's', advice: { explicitBucketBoundaries: SECONDS },
      }),
      handler: meter.createHistogram('clhooks.handler.duration', {
        description: 'Each handler run of a delivery', unit: 's', advice: { explicitBucketBoundaries: SECONDS },
      }),
      messages: meter.createCounter('clhooks.messages', { description: 'Queued deliveries a handoff worker settled, by topic and outcome', unit: '{message}' }),
    };
    if (meter != null && health) {
      meter.createObservableGauge('clhooks.failure_streak', {
        description: "Consecutive failed attempts per webhook, as Commerce Layer counts them (a notice at 5, the circuit open at 30)", unit: '{attempt}',
      }).addCallback(async (result) => {
        const report = await health();
        for (const w of report.webhooks) result.observe(w.streak, { 'clhooks.topic': w.topic, 'clhooks.verified': w.verified });
      });
    }
    return {
      /**
       * A request answered: `topic` the one it was received with (a refused request's claim),
       * `delivery` its `{ id, key }` when it verified. Nothing a meter or logger does (throw)
       * changes anything.
       */
      answered(delivery, topic, answer, latencyMs, streak, outcome) {
        try {
          // The catalogue's topics only: the topic header is not signed.
          const label = api.core().Health.label(topic);
          const code = answer.status >= 300 ? codeOf(answer) : undefined;
          if (instruments) {
            const attributes = { 'clhooks.topic': label, 'clhooks.outcome': outcome, 'http.response.status_code': answer.status };
            if (code !== undefined) attributes['error.type'] = code;
            instruments.deliveries.add(1, attributes);
            instruments.answer.record(latencyMs / 1000, attributes);
          }
          if (logger) {
            // Never a secret, a signature or a body.
            const record = { topic: label, status: answer.status, outcome, durationMs: Math.round(latencyMs * 1000) / 1000 };
            if (delivery) Object.assign(record, { eventId: delivery.id, idempotencyKey: delivery.key, duplicate: outcome === 'duplicate' });
            if (code !== undefined) record.code = code;
            if (streak !== undefined) record.streak = streak;
            logger[answer.status < 300 ? 'info' : 'warn'](record, `clhooks: ${label} ${outcome} (${answer.status})`);
          }
        } catch {
          // A meter or logger that throws changes no answer.
        }
      },
      /** A handler of a delivery of `topic` ran, from `started` (on `clock`), `ok` or failed. */
      handled(topic, started, ok) {
        try {
          if (instruments) instruments.handler.record((clock() - started) / 1000, { 'clhooks.topic': api.core().Health.label(topic), 'clhooks.outcome': ok ? 'ok' : 'failed' });
        } catch {
          // As above.
        }
      },
      /**
       * A handoff worker ran a handler of a queued delivery of `topic`, from `started` (on
       * `clock`), `ok` or failed; `messaging` the queue's OpenTelemetry attributes.
       */
      processed(topic, started, ok, messaging) {
        try {
          if (instruments) {
            instruments.handler.record((clock() - started) / 1000, {
              'clhooks.topic': api.core().Health.label(topic), 'clhooks.outcome': ok ? 'ok' : 'failed', ...messaging, 'messaging.operation.type': 'process',
            });
          }
        } catch {
          // As above.
        }
      },
      /**
       * A handoff worker settled a queued delivery (`event`, when its record read): `outcome`
       * the core's (`done`, `retry`, `dead` with its reason, `release`), `attempt` how many
       * times the queue handed it out, `durationMs` since it was taken.
       */
      settled(event, outcome, attempt, durationMs, messaging, messageId) {
        try {
          const label = api.core().Health.label(event?.topic);
          const code = outcome.type === 'dead' ? outcome.reason : undefined;
          if (instruments) {
            const attributes = { 'clhooks.topic': label, 'clhooks.outcome': outcome.type, ...messaging, 'messaging.operation.type': 'settle' };
            if (code !== undefined) attributes['error.type'] = code;
            instruments.messages.add(1, attributes);
          }
          if (logger) {
            const record = {
              topic: label, outcome: outcome.type, attempt, durationMs: Math.round(durationMs * 1000) / 1000, ...messaging, 'messaging.message.id': messageId,
            };
            if (event) Object.assign(record, { eventId: event.id, idempotencyKey: event.idempotencyKey });
            if (code !== undefined) record.code = code;
            logger[outcome.type === 'done' ? 'info' : 'warn'](record, `clhooks: ${label} ${outcome.type} (attempt ${attempt})`);
          }
        } catch {
          // As above.
        }
      },
      /** Whether records name the idempotency key (made for them when no store made it). */
      logs: logger != null,
    };
  }

  /** The time every session input is given, in ms, on a clock that does not go back. */
  const clock = () => performance.now();
  /**
   * The receivers' one timer: `wake()` at `at` on `clock` (a millisecond past it: the core counts
   * whole milliseconds, and a timer may fire a little early). Without `keepAlive` it keeps no
   * process alive. It decides no time: the core gives `at`.
   */
  const wakeAt = (at, wake, keepAlive) => {
    const timer = setTimeout(wake, Math.max(0, Math.ceil(at - clock())) + 1);
    if (!keepAlive) timer.unref?.();
    return timer;
  };
  /** What the core's session numbers say (`Receiver.sessionSteps()`), read once. */
  let steps;

  /**
   * One delivery's session in the core, driven: each action it hands out is done in order (a
   * handler run, the claim ended in the store, onError told, the answer given) and what came of
   * it told back, with the time. It decides nothing; when the session waits, its one timer
   * wakes it when the core says (`sessionWakeAt`), unless something else happens first.
   */
  class Drive {
    /**
     * @param {Webhooks} webhooks @param {any} receiver @param {number} id @param {EventFields & Record<string, unknown>} event
     * @param {any} body the raw body, and `signature` its header: the queued record's, in handoff mode
     * @param {string | undefined} signature
     */
    constructor(webhooks, receiver, id, event, body, signature, arrived, keep) {
      this.webhooks = webhooks;
      /** Keeps a promise's work alive past the answer where the runtime asks it (`waitUntil`). */
      this.keep = keep;
      /** When the adapter first saw the request, on `clock`: the answer's latency counts from it. */
      this.arrived = arrived;
      this.receiver = receiver;
      this.id = id;
      this.event = event;
      this.body = body;
      this.signature = signature;
      // Read before the handlers run (they may change the event); made by the core for a store,
      // and for the logs.
      this.key = webhooks.seen || webhooks.observed?.logs ? event.idempotencyKey : undefined;
      /** The delivery as received, for its streak and its record: `{ topic, id, key, secret }`. */
      this.taken = { topic: event.topic, id: event.id, key: this.key, secret: 0 };
      /** @type {Answer | undefined} */
      this.answer = undefined;
      /** Resolves the promise of an answer given later. */
      this.settle = undefined;
      this.timer = undefined;
      /** How many inputs the session was told: what `awaiting` checks. */
      this.inputs = 0;
      /** The error of the handler that failed, and the store's when it could not end the claim. */
      this.failed = undefined;
      this.storeError = undefined;
      this.queueError = undefined;
      /** The count's reply, where the claim's end carries the count (a promise). */
      this.folded = undefined;
      if (webhooks.folds) receiver.sessionFold(id, arrived);
    }

    /**
     * Drives the session from step 1 (with the store's claim still `pending`, when it did not
     * answer at once): the answer, or a promise of it.
     * @returns {Answer | Promise<Answer>}
     */
    start(pending) {
      steps ??= api.core().Receiver.sessionSteps();
      if (pending === undefined) this.step(this.receiver.sessionNext(this.id));
      else {
        Promise.resolve(pending).then(
          (claim) => this.input(() => this.receiver.sessionClaimed(this.id, claim, clock())),
          (error) => this.input(() => this.receiver.sessionStoreFailed(this.id, describe(error))),
        );
        this.awaiting();
      }
      if (this.answer !== undefined) return this.answer;
      return new Promise((resolve) => { this.settle = resolve; });
    }

    /** Something happened while the session waited: `tell()` tells the session, then on. */
    input(tell) {
      this.inputs += 1;
      clearTimeout(this.timer);
      this.timer = undefined;
      try {
        this.step(tell());
      } catch (error) {
        // The core failed (a trap, a store's broken contract): answered so, if nothing was.
        this.give(failure(error));
      }
    }

    /**
     * The session waits for a promise whose callbacks were just attached: its timer, unless the
     * promise was settled already (an async handler that awaited nothing, a store that answered
     * from memory) and its callback, queued first, has told the session. A timer costs more
     * than the rest of such a wait (Node makes a timer list for each distinct delay, and
     * workerd's setTimeout is dear). The time is the core's either way.
     */
    awaiting() {
      const inputs = this.inputs;
      queueMicrotask(() => {
        if (this.inputs !== inputs) return;
        try {
          this.wait();
        } catch (error) {
          // The core failed (a trap): answered so, as `input` does.
          this.give(failure(error));
        }
      });
    }

    /** The session waits: its timer, at the time the core gives. */
    wait() {
      const at = this.receiver.sessionWakeAt(this.id);
      if (at === undefined) return;
      // Once answered, what is left (a claim to end or forget) keeps no process alive.
      this.timer = wakeAt(at, () => this.input(() => this.receiver.sessionWake(this.id, clock())), this.answer === undefined);
    }

    /** The answer, once: to the caller, now or later. */
    give(answer) {
      if (this.answer !== undefined) return;
      this.answer = answer;
      if (this.settle) this.settle(answer);
    }

    /** Does the actions from `code` (the session's next) on, until the session waits or is over. */
    step(code) {
      const { receiver, id } = this;
      for (;;) {
        const kind = code & 15;
        if (kind === steps.RUN) {
          const event = this.event;
          event.duplicate = (code & steps.FLAG) !== 0;
          const { observed } = this.webhooks;
          const started = observed ? clock() : 0;
          let result;
          try {
            result = this.webhooks.handlers[/** @type {number[]} */ (event.routes)[code >> 8]](event);
          } catch (error) {
            this.failed = error;
            if (observed) observed.handled(this.taken.topic, started, false);
            code = receiver.sessionHandled(id, false, clock());
            continue;
          }
          // Awaited only when it is a promise: a synchronous handler costs no turn of the loop.
          if (isThenable(result)) {
            Promise.resolve(result).then(
              () => { if (observed) observed.handled(this.taken.topic, started, true); this.input(() => receiver.sessionHandled(id, true, clock())); },
              (error) => {
                this.failed = error;
                if (observed) observed.handled(this.taken.topic, started, false);
                this.input(() => receiver.sessionHandled(id, false, clock()));
              },
            );
            this.awaiting();
            return;
          }
          if (observed) observed.handled(this.taken.topic, started, true);
          code = receiver.sessionHandled(id, true, clock());
        } else if (kind === steps.ANSWER) {
          this.give(receiver.answer());
          if (code & steps.LAST) return;
          code = receiver.sessionNext(id);
        } else if (kind === steps.COUNT) {
          // Counted in the webhook's failure streak, not waited for: a counter never changes an answer.
          this.taken.secret = code >> 11;
          const folded = code & steps.FLAG ? this.folded : undefined;
          this.folded = undefined;
          const counting = this.webhooks.count(this.event, /** @type {Answer} */ (this.answer), this.arrived, steps.outcomes[(code >> 8) & 7], this.taken, folded);
          if (counting && this.keep) this.keep(counting);
          if (code & steps.LAST) return;
          code = receiver.sessionNext(id);
        } else if (kind === steps.END) {
          const { seen } = this.webhooks;
          const handled = (code & steps.FLAG) !== 0;
          let result;
          try {
            let args;
            if (code & steps.FOLD) {
              // The answer that waits for the end is counted in the same script.
              this.taken.secret = code >> 11;
              try {
                args = this.webhooks.countArgs(this.taken, receiver.answer(), this.arrived);
              } catch {
                // A count that cannot be made never keeps the claim from its end.
                receiver.sessionUnfolded(id);
              }
            }
            if (args !== undefined) {
              result = seen.endCounting(this.key, handled, receiver.terms, args);
              // The count's arguments and its reply, once the end gives it: what COUNT reads.
              const folded = { args, reply: undefined, promise: Promise.resolve(result) };
              folded.promise.then((reply) => { folded.reply = reply; }, () => {});
              if (!isThenable(result)) folded.reply = result;
              this.folded = folded;
            } else {
              result = handled ? seen.done(this.key, receiver.terms) : seen.release(this.key);
            }
          } catch (error) {
            this.storeError = error;
            code = receiver.sessionClaimEnded(id, false);
            continue;
          }
          if (isThenable(result)) {
            Promise.resolve(result).then(
              () => this.input(() => receiver.sessionClaimEnded(id, true)),
              (error) => { this.storeError = error; this.input(() => receiver.sessionClaimEnded(id, false)); },
            );
            this.awaiting();
            return;
          }
          code = receiver.sessionClaimEnded(id, true);
        } else if (kind === steps.ENQUEUE) {
          // A queue that claims says what it found; any other only holds the record ('fresh').
          const claim = (code & steps.FLAG) !== 0;
          let result;
          try {
            const record = api.makeRecord(this.event.idempotencyKey, this.event.topic, this.signature, this.body);
            result = this.webhooks.queue.enqueue(record, { claim, keepMs: receiver.terms.keepMs });
          } catch (error) {
            this.queueError = error;
            code = receiver.sessionEnqueueFailed(id, clock());
            continue;
          }
          if (isThenable(result)) {
            Promise.resolve(result).then(
              (claimed) => this.input(() => receiver.sessionEnqueued(id, claim ? claimed : 'fresh', clock())),
              (error) => { this.queueError = error; this.input(() => receiver.sessionEnqueueFailed(id, clock())); },
            );
            this.awaiting();
            return;
          }
          code = receiver.sessionEnqueued(id, claim ? result : 'fresh', clock());
        } else if (kind === steps.TELL) {
          const last = (code & steps.LAST) !== 0;
          const told = this.tell(steps.notices[code >> 8]);
          // An onError that returns a promise is waited for, as the session's actions are in order.
          if (isThenable(told)) {
            const next = () => this.input(() => (last ? steps.OVER : receiver.sessionNext(id)));
            Promise.resolve(told).then(next, next);
            return;
          }
          if (last) return;
          code = receiver.sessionNext(id);
        } else {
          if (kind === steps.WAIT) this.wait();
          return;
        }
      }
    }

    /** Tells onError the notice `[code, message, status]`: the handler's own error when one failed. */
    tell([code, message, status]) {
      const { onError } = this.webhooks;
      if (!onError) return undefined;
      const cause = code === 'store_unavailable' ? this.storeError : code === 'queue_unavailable' ? this.queueError : undefined;
      const error = code === 'handler_failed' ? this.failed
        : new WebhookError(code, cause !== undefined ? `${message}: ${describe(cause)}` : message, { status });
      try {
        return onError(error, this.event);
      } catch {
        // The answer stands whatever onError does.
        return undefined;
      }
    }
  }

  /** Routes verified deliveries to handlers by topic pattern, with idempotency. */
  class Webhooks {
    /** What the core's receiver and step 0 are made of, to remake them after a restart. */
    #secret;
    #options;
    #sources;
    #patterns = [];
    #receiver;
    #admission;
    #limits;
    #generation;
    #workerOptions;
    /** The failure streaks this process counted (the core's `Health`), and its instance's generation. */
    #health;
    #healthGeneration;
    /** How many secrets verify: a signature mismatch is the webhook's only when there is one. */
    #secrets;

    /** @param {any} [options] */
    constructor(options = {}) {
      if (options === null || typeof options !== 'object') throw invalid('Webhooks takes an options object');
      const {
        secret, onEvent, seen, onError, sources, maxBodyBytes, duplicates, handlerTimeoutMs, keyScope, leaseMs, keepMs, storeTimeoutMs, inFlight, queue,
        meter, logger,
      } = options;
      if (queue !== undefined && queue !== null && (typeof queue !== 'object' || typeof queue.enqueue !== 'function')) {
        throw invalid('queue must be a queue: createRedisQueue(client), createMemoryQueue(), or one with enqueue(record, options)');
      }
      /** Handoff mode: deliveries go to this queue, and workers run the handlers. */
      this.queue = queue || null;
      // A queue that claims keys itself (Redis, memory) does the claim in the same step, unless
      // a seen-store is given: then that store claims, and the queue only holds the record.
      const queueClaims = this.queue !== null && this.queue.claims === true && seen === undefined;
      const handoff = this.queue === null ? undefined : queueClaims ? 'claims' : 'queue';
      this.#secret = secret instanceof Verifier ? secretsOf.get(secret) : secret;
      this.#secrets = Array.isArray(this.#secret) ? this.#secret.length : 1;
      this.#options = { maxBodyBytes, duplicates, handlerTimeoutMs, keyScope, leaseMs, keepMs, storeTimeoutMs, inFlight, handoff };
      this.#workerOptions = { secret, maxBodyBytes, keyScope, keepMs };
      this.#sources = sources === undefined || sources === null ? null : sources;
      this.#build();
      if (seen && (typeof seen.claim !== 'function' || typeof seen.done !== 'function' || typeof seen.release !== 'function')) {
        throw invalid('seen must be a store with claim(key, terms), done(key, terms) and release(key) methods, or null');
      }
      /** The runtime's keys for the same secrets, when it has a faster HMAC (see hosts.js). */
      this.hostKeys = secret instanceof Verifier ? /** @type {any} */ (secret).hostKeys ?? null : hostKeysFor(secret);
      // No store (`null`, `false`) turns idempotency off; the core sees the same `null`.
      this.seen = queueClaims ? null : seen === undefined ? createMemoryStore() : seen || null;
      // What the core calls: the store, with a claim that throws made a rejection (answered 503
      // like a store that is down). The memory store never throws.
      // (In handoff mode with a queue that claims, the core is told there is a store, and asks the
      // queue: it never calls this one.)
      this.claims = queueClaims ? this.queue : this.seen === null || this.seen instanceof MemoryStore ? this.seen : {
        claim: (key, terms) => {
          try {
            return this.seen.claim(key, terms);
          } catch (error) {
            return Promise.reject(error);
          }
        },
      };
      // A store that keeps the streaks every instance shares (Redis) counts them; otherwise this
      // process does.
      const sharing = [this.seen, this.queue].find((s) => s && typeof s.count === 'function' && typeof s.tallies === 'function');
      /** The store whose failure streaks every instance shares, or `null`. */
      this.streaks = sharing ?? null;
      // Unset, failures go to the console, where a newcomer looks; `null` silences them.
      this.onError = onError === undefined ? logFailure : callable(onError, 'onError');
      /** Metrics (an OpenTelemetry Meter) and logs (a pino- or console-style logger), or `null`. */
      this.observed = observe(meter, logger, () => this.health());
      this.handlers = [];
      if (callable(onEvent, 'onEvent')) this.on('*', onEvent);
    }

    /**
     * The core's receiver (maxBodyBytes, duplicates and handlerTimeoutMs are read and checked
     * by it) and step 0, in the instance in use, with the routes added so far.
     */
    #build() {
      const core = api.core();
      // Made before anything is replaced: a failure leaves the receiver as it was.
      const receiver = new core.Receiver(this.#secret, this.#options);
      for (const pattern of this.#patterns) receiver.route(pattern);
      /** The core's step 0 when an allow-list of sources is set: who may deliver at all. */
      const admitted = this.#sources === null ? null : admission(this.#sources);
      this.#receiver = receiver;
      this.#admission = admitted;
      // The core's limits as it settled them, read once: not a crossing per request.
      this.#limits = {
        maxBodyBytes: receiver.maxBodyBytes, handlerTimeoutMs: receiver.handlerTimeoutMs,
        lingerBytes: receiver.lingerBytes, lingerMs: receiver.lingerMs,
        // Each secret's fingerprint where several are set: what names its webhook's streak.
        fingerprints: receiver.fingerprints,
        /** @type {boolean | undefined} read on first use (the stores are set after) */
        folds: undefined,
      };
      this.#generation = runtime.generation;
    }

    /** The core's counters of failure streaks, remade (empty) in a fresh instance after a restart. */
    get #counters() {
      if (this.#health === undefined || this.#healthGeneration !== runtime.generation) {
        this.#health = new (api.core().Health)();
        this.#healthGeneration = runtime.generation;
      }
      return this.#health;
    }

    /**
     * Counts an answer given to a verified delivery in its webhook's failure streak, as Commerce
     * Layer counts it (not a 2xx, or later than 5 s after `arrived`), tells onError a threshold
     * crossed (`failure_streak` at the notice (5) and as the circuit opens (30),
     * `failure_streak_ended` when a success ends a streak that had reached the notice), and
     * records it for the meter and the logger. `taken`: the delivery's `{ topic, id, key }` as it
     * was received (handlers may change the event). For adapters; a counter never changes an
     * answer. A promise (never rejected) when a shared store counts: a runtime that ends a
     * request's work with its answer keeps it alive (`waitUntil`).
     * `folded`: the count the claim's end carried (`{ args, reply, promise }`).
     * @param {{ topic: string, id?: string, idempotencyKey?: string }} event @param {Answer} answer @param {number} arrived on `clock`
     * @returns {Promise<void> | undefined}
     */
    count(event, answer, arrived, outcome = undefined, taken = undefined, folded = undefined) {
      const latency = clock() - arrived;
      const body = answer.status >= 300 ? answer.body : undefined;
      let delivery;
      try {
        // Answered in step 1: the secret that verified it is the one step 1 matched.
        delivery = taken ?? {
          topic: event.topic, id: event.id, key: this.observed?.logs ? event.idempotencyKey : undefined, secret: this.receiver.matchedSecret,
        };
      } catch {
        delivery = { topic: String(event?.topic), id: undefined, key: undefined, secret: 0 };
      }
      const secret = this.#settled.fingerprints[delivery.secret ?? 0];
      if (this.streaks) {
        // Folded, with the reply in: read now, no timer and no promise of its own.
        if (folded?.reply !== undefined) return this.#folded(folded, event, delivery, answer, latency, outcome ?? 'verified');
        let args;
        try {
          args = folded?.args ?? this.countArgs(delivery, answer, arrived);
        } catch {
          return undefined;
        }
        return this.#shared([args], event, delivery, delivery.topic, answer, latency, outcome ?? 'verified', folded?.promise);
      }
      let counted;
      try {
        counted = this.#counters.count(delivery.topic, secret, answer.status, body, Date.now(), latency);
      } catch {
        return undefined;
      }
      const streak = typeof counted === 'number' ? counted : counted.current;
      if (typeof counted === 'object') this.#signal(counted, answer, event);
      if (this.observed) this.observed.answered(delivery, delivery.topic, answer, latency, streak, outcome ?? outcomeOf(answer, true));
      return undefined;
    }

    /**
     * The count script's arguments (the core's) for `answer` to the delivery `taken` (`{ topic,
     * secret }`), handed over now: what a store's `endCounting` carries with a claim's end.
     */
    countArgs(taken, answer, arrived) {
      const body = answer.status >= 300 ? answer.body : undefined;
      const secret = this.#settled.fingerprints[taken.secret ?? 0];
      return api.core().Health.countArgs(taken.topic, secret, answer.status, body, Date.now(), clock() - arrived);
    }

    /**
     * A count the claim's end carried, its reply in: the signal told, the answer recorded, as
     * `#shared` does once a reply comes. A promise only when onError returned one.
     */
    #folded({ args, reply }, event, delivery, answer, latency, outcome) {
      let counted;
      try {
        counted = api.core().Health.countReply(args[0], reply);
      } catch (error) {
        return this.#told(new WebhookError('store_unavailable', `the failure streak was not counted (the answer stands): ${describe(error)}`, {
          status: answer.status, counted: false,
        }), event);
      }
      const told = typeof counted === 'object' ? this.#signal(counted, answer, event) : undefined;
      if (this.observed) this.observed.answered(delivery, delivery.topic, answer, latency, typeof counted === 'number' ? counted : counted.current, outcome === 'verified' ? outcomeOf(answer, true) : outcome);
      return told;
    }

    /**
     * Counts in the shared store: each streak's arguments (the core's) sent, each reply read
     * by the core, within the store wait. A store that fails or says nothing in time is told
     * to onError (`counted: false`) and changes no answer. The promise is never rejected.
     */
    #shared(argsList, event, delivery, topic, answer, latency, outcome, folded = undefined) {
      const waitMs = this.receiver.terms.waitMs;
      const counting = argsList.map((args) => {
        let timer;
        const late = new Promise((_, fail) => {
          if (waitMs > 0) timer = setTimeout(() => fail(new Error(`no answer within ${waitMs} ms`)), waitMs);
          timer?.unref?.();
        });
        // Folded: the claim's end sent the count, and its reply is the count's.
        return Promise.race([folded ?? Promise.resolve().then(() => this.streaks.count(args)), late])
          .then(async (reply) => {
            const counted = api.core().Health.countReply(args[0], reply);
            // What onError does is waited for too: a Worker keeps it alive with the count.
            if (typeof counted === 'object') await this.#signal(counted, answer, event);
            return typeof counted === 'number' ? counted : counted.current;
          })
          .catch(async (error) => {
            await this.#told(new WebhookError('store_unavailable', `the failure streak was not counted (the answer stands): ${describe(error)}`, {
              status: answer.status, counted: false,
            }), event);
            return undefined;
          })
          .finally(() => clearTimeout(timer));
      });
      return Promise.all(counting).then((streaks) => {
        // The streak the request counts in last is its own (a refusal's unverified one).
        if (this.observed) this.observed.answered(delivery, topic, answer, latency, streaks.at(-1), outcome === 'verified' ? outcomeOf(answer, true) : outcome === 'refused' ? outcomeOf(answer, false) : outcome);
      }).catch(() => {});
    }

    /** Tells onError `error`: a promise when onError returned one (never rejected); nothing it does changes anything. */
    #told(error, event) {
      const { onError } = this;
      if (!onError) return undefined;
      try {
        const told = onError(error, event);
        if (isThenable(told)) return Promise.resolve(told).catch(() => {});
      } catch {
        // Nothing onError does changes an answer.
      }
      return undefined;
    }

    /** Counts a refusal where the core says it counts (a signature mismatch), claiming `topic`. */
    #countRefused(topic, answer, arrived) {
      const latency = clock() - arrived;
      if (this.streaks) {
        let argsList;
        try {
          argsList = api.core().Health.refusedArgs(topic ?? undefined, answer.status, answer.body, this.admission !== null, this.#secrets, Date.now(), latency);
        } catch {
          return undefined;
        }
        return this.#shared(argsList, undefined, undefined, topic ?? undefined, answer, latency, 'refused');
      }
      let counted;
      try {
        counted = this.#counters.countRefused(topic ?? undefined, answer.status, answer.body, this.admission !== null, this.#secrets, Date.now(), latency);
      } catch {
        return undefined;
      }
      for (const c of counted) if (typeof c === 'object') this.#signal(c, answer, undefined);
      // Its own streak, the unverified one, is the last.
      const last = counted.at(-1);
      const streak = last === undefined ? undefined : typeof last === 'number' ? last : last.current;
      if (this.observed) this.observed.answered(undefined, topic ?? undefined, answer, latency, streak, outcomeOf(answer, false));
      return undefined;
    }

    /**
     * A request refused at step 0 (a caller outside the allow-list): recorded for the meter and
     * the logger, counted in no streak (Commerce Layer's addresses are the ones let through).
     */
    #early(answer, arrived) {
      if (this.observed) this.observed.answered(undefined, undefined, answer, clock() - arrived, undefined, 'refused');
      return answer;
    }

    /** Tells onError a failure streak's signal; nothing it does changes anything. */
    #signal({ code, message, current: _current, ...details }, answer, event) {
      return this.#told(new WebhookError(code, message, { status: answer.status, ...details }), event);
    }

    /**
     * The failure streaks this receiver counted, per webhook: `{ status, webhooks: [{ topic,
     * verified, streak, circuit, last_failure, last_success }], note }`. The counts are a lower
     * bound of Commerce Layer's: attempts that never reached the receiver are not in them.
     * @returns {Promise<any>}
     */
    async health() {
      return JSON.parse((await this.healthAnswer()).body);
    }

    /**
     * The health endpoint's answer, `{ status, body }`: 200 while healthy, 503 once a webhook's
     * estimated circuit is open (so a probe alerts), the body `health()`'s report as JSON.
     * @returns {Promise<Answer>}
     */
    async healthAnswer() {
      const { fingerprints } = this.#settled;
      if (this.streaks) return api.core().Health.reportOf(await this.streaks.tallies(), fingerprints);
      return this.#counters.answer(fingerprints);
    }

    /**
     * A health endpoint for node:http or Express, on the path you mount it at:
     * `app.get('/webhooks/health', webhooks.healthHandler())`. No secret, payload or fingerprint
     * is in it.
     */
    healthHandler() {
      return (_req, res) => {
        this.healthAnswer().then(
          ({ status, body }) => res.writeHead(status, HEALTH_HEADERS).end(body),
          (error) => { const { status, body } = failure(error); res.writeHead(status, HEALTH_HEADERS).end(body); },
        );
      };
    }

    /** The health endpoint for fetch runtimes: a Response. */
    async healthResponse() {
      const { status, body } = await this.healthAnswer().catch(failure);
      return new Response(body, { status, headers: HEALTH_HEADERS });
    }

    /** The core's limits (body, handlers, lingering close) of the receiver in use. */
    get #settled() {
      if (this.#generation !== runtime.generation) this.#build();
      return this.#limits;
    }

    /** The core's receiver, remade in a fresh instance after a restart. */
    get receiver() {
      if (this.#generation !== runtime.generation) this.#build();
      return this.#receiver;
    }

    /** Step 0's allow-list, or `null`. */
    get admission() {
      if (this.#generation !== runtime.generation) this.#build();
      return this.#admission;
    }

    /** Whether the seen-store counts in the script that ends a claim (`endCounting`). */
    get folds() {
      const settled = this.#settled;
      // The seen-store that keeps the streaks ends a claim and counts in one script, where the
      // core says its keys may share one (a Redis Cluster needs a hash tag).
      settled.folds ??= this.seen !== null && this.seen === this.streaks && typeof this.seen.endCounting === 'function'
        && api.core().Health.folds(typeof this.seen.prefix === 'string' ? this.seen.prefix : '', this.seen.cluster === true);
      return settled.folds;
    }

    /** Bodies over this many bytes are answered 413. */
    get maxBodyBytes() {
      return this.#settled.maxBodyBytes;
    }

    /**
     * Options for `express.json()` mounted before the webhook route: clhooks' body limit, and
     * `keepRawBody`, so that the bytes the signature covers are kept beside the parsed body.
     */
    jsonOptions() {
      return { limit: this.maxBodyBytes, verify: keepRawBody };
    }

    /**
     * Calls `handler(event)` for every verified event whose topic matches `pattern`; in handoff
     * mode, on the workers made with `worker()`.
     */
    on(pattern, handler) {
      if (typeof handler !== 'function') throw invalid('a handler must be a function');
      const route = this.receiver.route(pattern);
      this.#patterns.push(pattern);
      this.handlers[route] = handler;
      return this;
    }

    /**
     * In handoff mode, a worker that runs this receiver's handlers on what it queued, with its
     * secret and onError (`options` sets the rest: see `createWorker`): `.start()` it here or in
     * another process.
     */
    worker(options = {}) {
      if (this.queue === null && !options.queue) throw invalid('worker() needs a receiver in handoff mode: new Webhooks({ secret, queue })');
      // A queue that claims keys (Redis, memory) holds each delivery once: the seen-store is
      // null then. Any other may hold one twice, and its runs are claimed in the seen-store.
      // The receiver's meter and logger, unless the worker is given its own.
      const observed = options.meter === undefined && options.logger === undefined ? { observed: this.observed } : {};
      const worker = api.createWorker({ ...this.#workerOptions, queue: this.queue, seen: this.seen, onError: this.onError, ...observed, ...options });
      this.#patterns.forEach((pattern, route) => worker.on(pattern, this.handlers[route]));
      return worker;
    }

    /**
     * A Cloudflare Queues consumer, the Worker's `queue(batch, env, ctx)`, running this receiver's
     * handlers on what `createCloudflareQueue` queued: each message verified again, then acked, or
     * retried after the core's backoff (from `message.attempts`); Cloudflare moves a message to the
     * dead-letter queue after the consumer's `max_retries`. `options`: the worker's (`retryMs`,
     * `retryCapMs`, `handlerTimeoutMs`, `onError`).
     */
    queueHandler(options = {}) {
      return async (batch) => {
        const messages = [...batch.messages];
        const engine = {
          messaging: { 'messaging.system': 'cloudflare_queues', 'messaging.destination.name': String(batch.queue ?? '') },
          take: () => [],
          extend: () => true,
          settle: (message, outcome) => {
            const { platform } = message;
            if (outcome.type === 'done') platform.ack();
            // Retried after the core's delay; Cloudflare counts the attempts and moves the last
            // one to the dead-letter queue (a message that cannot run goes there the same way).
            else if (outcome.type === 'retry') platform.retry({ delaySeconds: Math.ceil(outcome.delayMs / 1000) });
            else platform.retry();
            return true;
          },
        };
        // Cloudflare counts the attempts: its max_retries decides the last one.
        const worker = this.worker({ maxAttempts: 1_000_000, ...options, queue: engine });
        // No grace to cut the batch short: the core's handler timeout bounds each run.
        await worker.runBatch(messages.map((platform) => ({ id: platform.id, deliveries: Math.max(1, platform.attempts ?? 1), record: platform.body, platform })));
      };
    }

    /**
     * The whole exchange, runtime-free: `{ method, body (bytes), headers, tooLarge, unreadable }`
     * in, `{ status, body }` out. Handlers' errors become the answer (500); it rejects only when
     * the seen-store throws or breaks its contract, and the adapters answer that 500 too.
     * @param {{ method: string, body: any, headers: any, peer?: string, tooLarge?: boolean, unreadable?: boolean, arrived?: number, keep?: (promise: Promise<unknown>) => void }} request
     * @returns {Promise<Answer>}
     */
    async process(request) {
      return this.exchange(request);
    }

    /**
     * As `process`, but synchronous while nothing is asynchronous (the host's HMAC, the store,
     * the handlers): the answer, or a promise of it. It may throw where `process` rejects.
     * @param {{ method: string, body: any, headers: any, peer?: string, tooLarge?: boolean, unreadable?: boolean, arrived?: number, keep?: (promise: Promise<unknown>) => void }} request
     * @returns {Answer | Promise<Answer>}
     */
    exchange(request) {
      // A failure of the wasm instance is answered (500, core_failed) like a store's: the
      // instance is replaced and Commerce Layer's retry meets the fresh one.
      const answered = (error) => {
        if (isCoreFailure(error)) return failure(error);
        throw error;
      };
      try {
        const early = this.refused(request.peer, request.headers);
        const answer = early ? this.#early(early, request.arrived ?? clock()) : this.#admitted(request);
        return isThenable(answer) ? Promise.resolve(answer).catch(answered) : answer;
      } catch (error) {
        return answered(error);
      }
    }

    /**
     * The core's answer when receiving itself failed (what `process` rejected with): 500
     * `receiver_failed`, or `core_failed` after a trap. For adapters.
     * @returns {Answer}
     */
    failure(error) {
      return failure(error);
    }

    /**
     * Answers a node:http request whose body was not read whole (over the limit, or a caller
     * refused before it was read), then closes the connection as the core's lingering close
     * says (see `linger`). For adapters.
     * @param {import('node:http').IncomingMessage} req
     * @param {import('node:http').ServerResponse} res
     * @param {Answer} answer
     */
    answerUnread(req, res, { status, body }) {
      res.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.write(body);
      this.linger(req, () => res.end());
    }

    /**
     * The core's lingering close, after an answer written before the body was read whole: what
     * the client still sends is read and dropped, up to the core's bounds in bytes and time,
     * then `end()` ends the answer (and so closes the connection); a client still sending past
     * the bounds is cut off. Closing with bytes unread resets the connection, and a client
     * that writes its whole request before reading (Python's http.client) loses the answer.
     * @param {import('node:http').IncomingMessage} req
     * @param {() => void} end
     */
    linger(req, end) {
      if (req.complete || req.destroyed) return void end();
      const { lingerBytes, lingerMs } = this.#settled;
      let left = lingerBytes;
      const done = (giveUp) => {
        clearTimeout(timer);
        req.removeListener('data', drop).removeListener('end', finish).removeListener('error', finish);
        end();
        if (giveUp) req.destroy();
      };
      const drop = (chunk) => {
        left -= chunk.length;
        if (left < 0) done(true);
      };
      const finish = () => done(false);
      const timer = wakeAt(clock() + lingerMs, () => done(true), true);
      req.on('data', drop).on('end', finish).on('error', finish).resume();
    }

    /**
     * Step 0, with `sources` set: the core's answer (403) to a caller outside the allow-list,
     * or `undefined`. The adapters ask it before they read a body.
     */
    refused(peer, headers) {
      return this.admission ? this.admission.admit(peer, headers) : undefined;
    }

    /** Whether a setup mistake (a body a parser read first) was already told on the console. */
    #saidSetup = false;

    /** The exchange of a request that step 0 let through. */
    #admitted({ method, body, headers, tooLarge = false, unreadable = false, parsedBy = undefined, arrived = clock(), keep = undefined }) {
      const state = unreadable ? 'unreadable' : tooLarge ? 'too_large' : parsedBy ? `parsed:${parsedBy}` : undefined;
      const read = method === 'POST' && !state;
      const tags = read && this.hostKeys != null ? hostTags(this.hostKeys, body, true) : undefined;
      // The body's SHA-256 for the idempotency key, by the host where it is faster: only a
      // seen-store needs the key up front.
      const digest = read && (this.seen || this.queue) ? hostDigest(body, true) : undefined;
      if (isThenable(tags) || isThenable(digest)) {
        return Promise.all([tags, digest]).then(([t, d]) => this.#received(method, headers, body, state, t, d, arrived, keep));
      }
      const answer = this.#received(method, headers, body, state, tags, digest, arrived, keep);
      // A receiver set up wrong answers every delivery 500 and Commerce Layer's log is far away:
      // say it here too, once, where the default onError writes.
      if (parsedBy && !this.#saidSetup && this.onError === logFailure && !isThenable(answer) && answer.status >= 500) {
        this.#saidSetup = true;
        let message = answer.body;
        try { message = JSON.parse(answer.body).message; } catch { /* the body as it is */ }
        console.error(`clhooks: every delivery to this receiver will fail until its setup is fixed: ${message}`);
      }
      return answer;
    }

    /** Step 1, in one call (the store's claim with it when the store answers at once), then the delivery's session. */
    #received(method, headers, body, state, tags, digest, arrived, keep) {
      const [signatureValue, topicValue] = readHeaders(headers);
      const receiver = this.receiver;
      let received;
      try {
        // A body read whole takes the short way where it can (values written into the core's
        // memory, fewer crossings), the core's receive otherwise: the same answer either way.
        received = /** @type {[Answer | undefined, (EventFields & Record<string, unknown>) | undefined, number | undefined, Promise<Claim> | undefined]} */ (
          (state === undefined ? this.#written(receiver, method, body, signatureValue, topicValue, tags, digest) : undefined)
          ?? receiver.receive(method, signatureValue, topicValue, body, state, tags, digest, this.claims, clock()));
      } finally {
        forgetParsed();
      }
      const [answer, event, session, pending] = received;
      if (session === undefined) {
        // Answered at once: a verified delivery's answer (a duplicate, a copy in flight) counts
        // in its webhook's streak; a refusal where the core says so (a signature mismatch).
        const counting = event !== undefined
          ? this.count(event, /** @type {Answer} */ (answer), arrived)
          : this.#countRefused(topicValue, /** @type {Answer} */ (answer), arrived);
        if (counting && keep) keep(counting);
        return /** @type {Answer} */ (answer);
      }
      return new Drive(this, receiver, session, /** @type {any} */ (event), body, signatureValue, arrived, keep).start(pending);
    }

    /** Step 1 the short way (see api.js), claiming in the core's memory store when it is the store. */
    #written(receiver, method, body, signature, topic, tags, digest) {
      const memory = coreStoreOf(this.seen);
      return receiverWritten(receiver, method, body, signature, topic, tags, digest, memory ? undefined : this.claims, memory, clock());
    }

    /** A `node:http` request listener: `http.createServer(webhooks.nodeHandler())`. */
    nodeHandler() {
      return (req, res) => {
        const arrived = clock();
        // A body left unread (over the limit, a refused caller) is read and dropped after the
        // answer, within the core's bounds, then the connection closes.
        const reply = (answer, unread = false) => {
          if (unread) this.answerUnread(req, res, answer);
          else res.writeHead(answer.status, JSON_HEADERS).end(answer.body);
        };
        const failed = (error, unread) => reply(failure(error), unread);
        const handle = ({ body, tooLarge, unreadable = false, parsedBy = undefined }) => {
          const unread = tooLarge || unreadable;
          let answer;
          try {
            answer = this.#admitted({ method: req.method, body, headers: req.headers, tooLarge, unreadable, parsedBy, arrived });
          } catch (error) {
            return failed(error, unread);
          }
          if (isThenable(answer)) Promise.resolve(answer).then((a) => reply(a, unread), (e) => failed(e, unread));
          else reply(/** @type {Answer} */ (answer), unread);
        };
        // Step 0 before the body is read: a caller outside the allow-list is not read at all.
        let refusal;
        try {
          refusal = this.refused(peerOf(req), req.headers);
        } catch (error) {
          return failed(error, true);
        }
        if (refusal) return reply(this.#early(refusal, arrived), true);
        if (req.method !== 'POST') {
          req.resume();
          return handle({ body: new Uint8Array(), tooLarge: false });
        }
        // Bytes kept by a parser that ran first (keepRawBody), or a parsed body and a stream
        // already read, which would never end again (Next.js's Pages Router parser, say).
        if (req.rawBody instanceof Uint8Array) return handle({ body: req.rawBody, tooLarge: false });
        if (req.readableEnded || (req.body !== undefined && req.body !== null)) {
          if (req.body instanceof Uint8Array || typeof req.body === 'string') return handle({ body: req.body, tooLarge: false });
          return handle({ body: req.body ?? null, tooLarge: false, parsedBy: 'node' });
        }
        readRaw(req, this.maxBodyBytes, handle);
      };
    }

    /**
     * Express middleware. It reads the raw body itself, or takes the bytes that express.raw()
     * or express.json({ verify: keepRawBody }) left; if a JSON parser already consumed the
     * body, the core refuses the parsed object (500, body_not_raw) and says how to fix it.
     */
    express() {
      return (req, res, next) => {
        const arrived = clock();
        // As nodeHandler: a body left unread is dropped within the core's bounds, then closed.
        const reply = (answer, unread = false) => {
          if (unread) return this.answerUnread(req, res, answer);
          res.status(answer.status).set(JSON_HEADERS);
          res.send(answer.body);
        };
        const send = (body, tooLarge = false, unreadable = false, parsedBy = undefined) =>
          Promise.resolve()
            .then(() => this.#admitted({ method: req.method, body, headers: req.headers, tooLarge, unreadable, parsedBy, arrived }))
            .then((a) => reply(a, tooLarge || unreadable), (error) => reply(failure(error), tooLarge || unreadable))
            .catch(next);
        // Step 0 before the body is read: a caller outside the allow-list is not read at all.
        let refusal;
        try {
          refusal = this.refused(peerOf(req), req.headers);
        } catch (error) {
          return reply(failure(error), true);
        }
        if (refusal) return reply(this.#early(refusal, arrived), true);
        if (req.method !== 'POST') return send(new Uint8Array());
        // Bytes a body parser already read: the core measures them against its limit itself.
        if (req.rawBody instanceof Uint8Array) return send(req.rawBody);
        if (req.body instanceof Uint8Array || typeof req.body === 'string') return send(req.body);
        const parsed = req.body && typeof req.body === 'object' && Object.keys(req.body).length > 0;
        // A parser read the body first and kept no bytes: the core words the fix for Express.
        if (req.readableEnded || req._body === true || parsed) return send(req.body ?? null, false, false, 'express');
        readRaw(req, this.maxBodyBytes, ({ body, tooLarge, unreadable }) => send(body, tooLarge, unreadable));
      };
    }

    /**
     * For fetch runtimes (Workers, Deno, Bun, Node 18+): a Request in, a Response out. `peer` is
     * the caller's address where the runtime tells it (Deno's `info.remoteAddr.hostname`, Bun's
     * `server.requestIP(request).address`), for `sources`.
     */
    async fetch(request, peer, ctx) {
      const arrived = clock();
      // Workers: `fetch(request, ctx)`, whose `waitUntil` keeps a shared store's count alive
      // past the answer.
      if (peer !== null && typeof peer === 'object' && typeof peer.waitUntil === 'function') [peer, ctx] = [undefined, peer];
      else if (typeof peer !== 'string') peer = undefined;
      const keep = ctx && typeof ctx.waitUntil === 'function' ? (promise) => ctx.waitUntil(promise) : undefined;
      // Step 0 before the body is read.
      let refusal;
      try {
        refusal = this.refused(peer, request.headers);
      } catch (error) {
        refusal = failure(error);
      }
      if (refusal) {
        this.#early(refusal, arrived);
        return new Response(refusal.body, { status: refusal.status, headers: JSON_HEADERS });
      }
      const empty = { body: new Uint8Array(), tooLarge: false, unreadable: false };
      // A body something read before clhooks: the core's refusal names the fix.
      const used = request.method === 'POST' && request.bodyUsed ? 'fetch' : undefined;
      const read = request.method === 'POST' && !used
        ? await readStream(request, this.maxBodyBytes).catch(() => ({ ...empty, unreadable: true }))
        : empty;
      const { status, body } = await Promise.resolve()
        // Members named, not spread: a spread costs a slow copy on every request.
        .then(() => this.#admitted({
          method: request.method, headers: request.headers, body: used ? null : read.body, tooLarge: read.tooLarge, unreadable: read.unreadable, parsedBy: used, arrived, keep,
        }))
        .catch(failure);
      return new Response(body, { status, headers: JSON_HEADERS });
    }
  }

  /** Whether this is workerd, whose requests' bodies are held to their Content-Length. */
  const framedBodies = globalThis.navigator?.userAgent === 'Cloudflare-Workers';

  /** A declared Content-Length over `max` (a header the runtime has checked is a number). */
  const declaredOver = (length, max) => length != null && length !== '' && Number(length) > max;

  /**
   * Reads a fetch request's body up to `max` bytes. Past that (or when Content-Length says so)
   * it stops and cancels the stream: an endless or huge body is never read to its end.
   */
  async function readStream(request, max) {
    const stream = request.body;
    const declared = request.headers.get('content-length');
    if (declaredOver(declared, max)) {
      if (stream) stream.cancel().catch(() => {});
      return { body: new Uint8Array(), tooLarge: true };
    }
    // In workerd, a length declared within `max`, which its HTTP layer holds the body to: read
    // whole by the runtime, in one call (a stream read chunk by chunk cost more than the rest of
    // the request there). Checked again after, for a Request made by hand that says less than
    // it carries. Elsewhere (a framework's Request may keep a header its body no longer
    // matches) the read is bounded chunk by chunk.
    if (framedBodies && stream && typeof declared === 'string' && /^[0-9]+$/.test(declared)) {
      const body = new Uint8Array(await request.arrayBuffer());
      return body.length > max ? { body: new Uint8Array(), tooLarge: true } : { body, tooLarge: false };
    }
    const chunks = [];
    let size = 0;
    if (stream) {
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.length;
        if (size > max) {
          reader.cancel().catch(() => {});
          break;
        }
        chunks.push(value);
      }
    }
    return collected(chunks, size, max);
  }

  /**
   * Room for a body of `size` bytes that is written whole at once: Node's Buffer.allocUnsafe
   * where there is one (no zeroing, small ones from its pool), else a Uint8Array.
   */
  const room = typeof Buffer === 'function' && typeof Buffer.allocUnsafe === 'function'
    ? (size) => Buffer.allocUnsafe(size)
    : (size) => new Uint8Array(size);

  /** The body from its chunks (a single one as it is), or nothing when it went over `max`. */
  function collected(chunks, size, max) {
    const tooLarge = size > max;
    if (!tooLarge && chunks.length === 1) return { body: chunks[0], tooLarge };
    const body = tooLarge ? new Uint8Array(0) : room(size);
    let offset = 0;
    for (const chunk of tooLarge ? [] : chunks) {
      body.set(chunk, offset);
      offset += chunk.length;
    }
    return { body, tooLarge };
  }

  /**
   * Reads a Node request stream up to `max` bytes, then calls `done` once with the body; with
   * `tooLarge` as soon as Content-Length or the bytes read pass `max` (reading stops there, and
   * the answer closes the connection), or with `unreadable` when the stream failed.
   * @param {(read: { body: Uint8Array, tooLarge: boolean, unreadable: boolean }) => void} done
   */
  function readRaw(req, max, done) {
    const chunks = [];
    let size = 0;
    let called = false;
    const finish = (read) => {
      if (called) return;
      called = true;
      done(read);
    };
    const over = () => {
      chunks.length = 0;
      req.pause();
      finish({ body: new Uint8Array(), tooLarge: true, unreadable: false });
    };
    if (declaredOver(req.headers['content-length'], max)) return over();
    req.on('data', (chunk) => {
      if (called) return;
      size += chunk.length;
      if (size > max) over();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      // Members named, not spread: a spread costs a slow copy on every request.
      const { body, tooLarge } = collected(chunks, size, max);
      finish({ body, tooLarge, unreadable: false });
    });
    req.on('error', () => finish({ body: new Uint8Array(), tooLarge: false, unreadable: true }));
  }

  // handleRequest may get a new options object on every request (they are often written
  // inline): without a store of their own they share this one, so duplicates are still seen.
  const sharedSeen = createMemoryStore();
  const cache = new WeakMap();
  const webhooksFor = (options) => {
    let webhooks = cache.get(options);
    if (!webhooks) {
      webhooks = new Webhooks(options.seen === undefined ? { ...options, seen: sharedSeen } : options);
      cache.set(options, webhooks);
    }
    return webhooks;
  };

  /** For `express.json({ verify: keepRawBody })`: keeps the exact bytes beside the parsed body. */
  function keepRawBody(req, _res, buffer) {
    req.rawBody = buffer;
  }

  return {
    Webhooks,
    observe,
    createMemoryStore,
    keepRawBody,
    createNodeHandler: (options) => new Webhooks(options).nodeHandler(),
    expressMiddleware: (options) => new Webhooks(options).express(),
    handleRequest: (request, options, peer) => {
      if (request === null || typeof request !== 'object' || request.headers == null) {
        return Promise.reject(invalid('handleRequest takes a Request'));
      }
      if (options === null || typeof options !== 'object') {
        return Promise.reject(invalid('handleRequest takes options: { secret, onEvent, ... }'));
      }
      try {
        return webhooksFor(options).fetch(request, peer);
      } catch (error) {
        // A receiver that cannot be made (no secret, a wrong option): a rejection, as every failure here.
        return Promise.reject(error);
      }
    },
  };
}
