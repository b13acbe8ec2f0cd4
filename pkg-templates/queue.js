// Handoff: the memory queue and the worker, around the core's worker machine
// (clhooks::handoff). They only move messages: what to take and when, the order of the
// handlers, the heartbeat, the backoff, the dead letters and the stop are the core's.

/**
 * @param {{
 *   core: () => Core,
 *   runtime: { generation: number },
 *   secretsOf: WeakMap<object, string[]>,
 *   isCoreFailure: (error: unknown) => boolean,
 *   WebhookError: any,
 *   Verifier: any,
 *   createMemoryStore?: (options?: { max?: number }) => any,
 *   worker: () => WorkerCore,
 *   observe?: (meter: any, logger: any, health: null) => any,
 * }} api
 */
export function createQueues(api) {
  const { WebhookError, Verifier, runtime, secretsOf } = api;
  const invalid = (message) => new WebhookError('invalid_argument', message, { status: 500 });
  const describe = (error) => String(error && error.message ? error.message : error);
  const isThenable = (value) => value != null && typeof value.then === 'function';
  const clock = () => performance.now();

  /** A record's fields as an object `{ v, key, topic, sig, rcv, attempt, body }` (see docs/handoff.md). */
  const recordOf = (fields) => {
    const out = {};
    for (let i = 0; i + 1 < fields.length; i += 2) out[String(fields[i])] = fields[i + 1];
    return out;
  };
  /** The flat `[name, value, ...]` of a record object, for the core to read. */
  const fieldsOf = (record) => {
    if (Array.isArray(record)) return record;
    if (record === null || typeof record !== 'object') throw invalid('a queued record is an object { v, key, topic, sig, rcv, attempt, body }');
    return Object.entries(record).flat();
  };
  const encoder = new TextEncoder();
  /** A body as bytes: the exact bytes the signature covers (a string as UTF-8). */
  const bytesOf = (body) => (typeof body === 'string' ? encoder.encode(body)
    : body instanceof Uint8Array ? body
      : ArrayBuffer.isView(body) ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
        : new Uint8Array(body));

  /**
   * The record of a delivery a receiver hands off: the core's fields, then the body.
   * @returns {Record<string, any>}
   */
  function makeRecord(key, topic, signature, body) {
    const record = recordOf(api.core().Receiver.recordHead(key, topic, signature, Date.now(), 0));
    record.body = bytesOf(body);
    return /** @type {any} */ (record);
  }

  /**
   * An in-process queue for development and tests: the same API as the Redis queue, and NOT
   * durable: a process that stops loses what it holds, and only workers in the same process
   * see it. Its keys are claimed in the core's bounded memory store.
   */
  class MemoryQueue {
    durable = false;
    claims = true;
    #seen;
    #ready = [];
    #held = new Map();
    #delayed = [];
    #dead = [];
    #waiting = new Set();
    #count = 0;

    constructor(max) {
      this.#seen = api.createMemoryStore(max === undefined ? {} : { max });
    }

    /** Writes `record`; with `claim`, claims its key in the same step: `'fresh'` (queued now), `'duplicate'`, `'in_flight'`. */
    enqueue(record, { claim = false } = {}) {
      fieldsOf(record);
      if (claim) {
        const claimed = this.#seen.claim(String(record.key));
        if (claimed !== 'fresh') return claimed;
        // Queued counts as recorded: a copy of it is a duplicate.
        this.#seen.done(String(record.key));
      }
      this.#push({ ...record });
      return 'fresh';
    }

    #push(record) {
      this.#ready.push({ id: String(++this.#count), record, deliveries: 0 });
      for (const wake of this.#waiting) wake();
    }

    /** Up to `count` messages (due retries first), waiting up to `blockMs` for one. */
    take(count, { blockMs = 0 } = {}) {
      const now = Date.now();
      const due = this.#delayed.filter((d) => d.due <= now);
      if (due.length) {
        this.#delayed = this.#delayed.filter((d) => d.due > now);
        for (const { record } of due) this.#push(record);
      }
      const taken = this.#ready.splice(0, Math.max(1, count));
      if (taken.length || blockMs <= 0) {
        for (const message of taken) {
          message.deliveries += 1;
          this.#held.set(message.id, message);
        }
        return taken.map(({ id, record, deliveries }) => ({ id, record, deliveries }));
      }
      const next = Math.min(blockMs, ...this.#delayed.map((d) => Math.max(1, d.due - now)));
      return new Promise((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiting.delete(wake);
          resolve(this.take(count));
        };
        const timer = setTimeout(wake, next);
        this.#waiting.add(wake);
      });
    }

    /** Whether the message is still held (it always is, in one process). */
    extend(message) {
      return this.#held.has(message.id);
    }

    /** Settles a held message as the worker's core says. */
    settle(message, outcome) {
      const held = this.#held.get(message.id);
      if (!held) return false;
      this.#held.delete(message.id);
      const { record } = held;
      if (outcome.type === 'done') this.#seen.done(String(record.key));
      else if (outcome.type === 'retry') {
        this.#delayed.push({ due: Date.now() + outcome.delayMs, record: { ...record, attempt: String(outcome.attempts) } });
      } else if (outcome.type === 'dead') {
        this.#dead.push({ id: held.id, record: { ...record, attempt: String(outcome.attempts) }, reason: outcome.reason, error: outcome.error ?? '', failedAt: Date.now() });
      } else this.#ready.unshift({ ...held, deliveries: 0 });
      return true;
    }

    /**
     * Up to `count` dead letters, oldest first (after the id `after`): `{ id, record, reason, error, failedAt }`.
     * @param {{ count?: number, after?: string }} [options]
     */
    deadLetters({ count = 100, after = undefined } = {}) {
      const from = after === undefined ? 0 : this.#dead.findIndex((d) => d.id === String(after)) + 1;
      return this.#dead.slice(from, from + count).map((d) => ({ ...d }));
    }

    /** One dead letter by id, or `undefined`. */
    deadLetter(id) {
      const found = this.#dead.find((d) => d.id === String(id));
      return found && { ...found };
    }

    /** Moves dead letters back to the queue (all, or those of `ids`), their attempts counted afresh: how many. */
    replay(ids) {
      if (ids !== undefined && !(Array.isArray(ids) && ids.every((id) => typeof id === 'string'))) throw invalid('replay takes an array of dead-letter ids, or nothing for all');
      const chosen = ids === undefined ? this.#dead : this.#dead.filter((d) => ids.includes(d.id));
      this.#dead = this.#dead.filter((d) => !chosen.includes(d));
      for (const { record } of chosen) this.#push({ ...record, attempt: '0' });
      return chosen.length;
    }

    /** How many messages wait (ready and delayed) and are held. */
    get size() {
      return { ready: this.#ready.length, delayed: this.#delayed.length, held: this.#held.size, dead: this.#dead.length };
    }
  }

  /** An in-process queue, NOT durable (see `MemoryQueue`): `new Webhooks({ secret, queue: createMemoryQueue() })`. */
  /** @param {{ max?: number }} [options] */
  function createMemoryQueue(options = {}) {
    if (options === null || typeof options !== 'object') throw invalid('createMemoryQueue takes an options object');
    const { max } = options;
    return new MemoryQueue(max);
  }

  /** The default `onError` of a worker: on standard error. */
  const logFailure = (error, event) => {
    const about = event && typeof event === 'object' ? ` (${event.topic} ${event.id})` : '';
    console.error(`clhooks worker${about}:`, error);
  };

  const WORKER_OPTIONS = ['maxAttempts', 'retryMs', 'retryCapMs', 'reclaimIdleMs', 'concurrency', 'blockMs', 'handlerTimeoutMs', 'queueTimeoutMs', 'keepMs'];
  let workers = 0;

  /**
   * Runs the handlers of what receivers handed off to `queue`, as the core's worker machine says.
   */
  class Worker {
    #secret;
    #receiverOptions;
    #machineOptions;
    #patterns = [];
    #receiver;
    #generation = -1;
    #machine;
    #timer;
    #jobs = new Map();
    #stopped = [];
    #started = false;
    #takeError;
    /** A batch a platform pushed (`runBatch`): the first take's messages, and the stop's grace. */
    #batch;

    /** @param {any} [options] */
    constructor(options = {}) {
      if (options === null || typeof options !== 'object') throw invalid('createWorker takes an options object');
      const { secret, queue, onError, maxBodyBytes, keyScope, seen } = options;
      for (const name of ['take', 'extend', 'settle']) {
        if (!queue || typeof queue[name] !== 'function') throw invalid('queue must be a queue: createRedisQueue(client), createMemoryQueue(), or one with take, extend and settle');
      }
      if (onError !== undefined && onError !== null && typeof onError !== 'function') throw invalid('onError must be a function');
      this.#secret = secret instanceof Verifier ? secretsOf.get(secret) : secret;
      this.#receiverOptions = { maxBodyBytes, keyScope };
      if (seen && (typeof seen.claim !== 'function' || typeof seen.done !== 'function' || typeof seen.release !== 'function')) {
        throw invalid('seen must be a store with claim(key, terms), done(key, terms) and release(key) methods, or null');
      }
      /** With a seen-store, each message's run is claimed first: a delivery queued twice runs once. */
      this.seen = seen || null;
      this.#machineOptions = { ...Object.fromEntries(WORKER_OPTIONS.map((name) => [name, options[name]])), claimRuns: Boolean(this.seen) };
      this.queue = queue;
      // Metrics and logs: the receiver's (`webhooks.worker()`), or a `meter` and a `logger` of its own.
      this.observed = options.observed !== undefined ? options.observed : api.observe?.(options.meter, options.logger, null) ?? null;
      /** The queue's OpenTelemetry attributes (`messaging.system`, ...), where it names them. */
      this.messaging = queue.messaging !== null && typeof queue.messaging === 'object' ? { ...queue.messaging } : {};
      this.onError = onError === undefined ? logFailure : onError || undefined;
      this.handlers = [];
      this.consumer = `${typeof process === 'object' && process.pid ? process.pid : 'worker'}-${Date.now().toString(36)}-${++workers}-${Math.random().toString(36).slice(2, 8)}`;
      // Checked now: a wrong secret or setting throws here, not on the first message.
      this.#core();
      new (api.worker().Worker)(this.#machineOptions, 0).free();
    }

    /** The core's receiver (verification, routes, events), remade after an instance restart. */
    #core() {
      if (this.#generation !== runtime.generation) {
        const receiver = new (api.core().Receiver)(this.#secret, this.#receiverOptions);
        for (const pattern of this.#patterns) receiver.route(pattern);
        this.#receiver = receiver;
        if (this.#generation !== -1 && this.#machine) {
          // The machine went with the old instance: what it held is reclaimed by idle time.
          this.#machine = new (api.worker().Worker)(this.#machineOptions, clock());
          this.#jobs.clear();
        }
        this.#generation = runtime.generation;
      }
      return this.#receiver;
    }

    /** Calls `handler(event)` for every queued event whose topic matches `pattern`. */
    on(pattern, handler) {
      if (typeof handler !== 'function') throw invalid('a handler must be a function');
      const route = this.#core().route(pattern);
      this.#patterns.push(pattern);
      this.handlers[route] = handler;
      return this;
    }

    /** Starts taking messages. */
    start() {
      if (this.#started) return this;
      this.#started = true;
      this.#core();
      this.#machine = new (api.worker().Worker)(this.#machineOptions, clock());
      this.#pump();
      return this;
    }

    /**
     * Stops: takes nothing more, lets what runs finish for `graceMs` (default 30 s), then hands
     * back what still runs. Resolves once nothing is held.
     */
    stop({ graceMs = api.worker().Worker.defaultStopGraceMs() } = {}) {
      if (!this.#started) return Promise.resolve();
      return new Promise((resolve) => {
        this.#stopped.push(resolve);
        if (this.#stopped.length === 1) {
          this.#machine.stop(clock(), graceMs);
          this.#pump();
        }
      });
    }

    /**
     * Runs one batch of messages a platform pushed (Cloudflare Queues' `queue(batch)`) as one
     * take: each verified again, its handlers run, then settled through the queue's `settle`;
     * resolves once every message is settled, or handed back past `graceMs`.
     */
    runBatch(messages, { graceMs = 2 ** 31 - 1 } = {}) {
      this.#core();
      this.#machine = new (api.worker().Worker)({ ...this.#machineOptions, concurrency: Math.max(1, messages.length) }, clock());
      this.#batch = { messages, graceMs };
      this.#started = true;
      const stopped = new Promise((resolve) => { this.#stopped.push(resolve); });
      this.#pump();
      return stopped;
    }

    /** How many messages it holds now. */
    get busy() {
      return this.#machine ? this.#machine.busy : 0;
    }

    /** Does the machine's actions until it waits; then its timer. */
    #pump() {
      const machine = this.#machine;
      for (let action = machine.next(); action !== undefined; action = machine.next()) this.#do(action);
      clearTimeout(this.#timer);
      const at = machine.wakeAt();
      if (at !== undefined) {
        this.#timer = setTimeout(() => {
          machine.wake(clock());
          this.#pump();
        }, Math.max(0, Math.ceil(at - clock())) + 1);
      }
    }

    /** Does `fn()` (sync or not), then `then(ok, value)`, then the machine's next actions. */
    #after(fn, then) {
      let result;
      try {
        result = fn();
      } catch (error) {
        then(false, error);
        return;
      }
      if (!isThenable(result)) {
        then(true, result);
        return;
      }
      Promise.resolve(result).then((value) => { then(true, value); this.#pump(); }, (error) => { then(false, error); this.#pump(); });
    }

    #do(action) {
      const machine = this.#machine;
      const [kind, job] = action;
      if (kind === 'take' && this.#batch) {
        // A pushed batch is the one take: then nothing more is taken.
        const { messages, graceMs } = this.#batch;
        this.#batch = undefined;
        for (const message of messages) this.#taken(action[1], message);
        machine.takeEnded(action[1], clock());
        machine.stop(clock(), graceMs);
      } else if (kind === 'take') {
        const [, take, count, blockMs, reclaimIdleMs] = action;
        this.#after(() => this.queue.take(count, { blockMs, reclaimIdleMs, consumer: this.consumer }), (ok, messages) => {
          if (!ok) {
            this.#takeError = messages;
            machine.takeFailed(take, clock());
            return;
          }
          for (const message of Array.isArray(messages) ? messages : []) this.#taken(take, message);
          machine.takeEnded(take, clock());
        });
      } else if (kind === 'run') {
        const held = this.#jobs.get(job);
        const handler = this.handlers[held.event.routes[action[2]]];
        const started = clock();
        this.#after(() => handler(held.event), (ok, error) => {
          if (!ok) held.error = error;
          this.observed?.processed(held.event.topic, started, ok, this.messaging);
          machine.handled(job, ok, clock());
        });
      } else if (kind === 'extend') {
        const held = this.#jobs.get(job);
        this.#after(() => this.queue.extend(held.message), (ok, owned) => {
          if (ok) machine.extended(job, owned !== false, clock());
          else {
            held.extendError = owned;
            machine.extendFailed(job);
          }
        });
      } else if (kind === 'settle') {
        const held = this.#jobs.get(job);
        const outcome = action[2];
        const attempt = machine.attempt(job) ?? 1;
        if (outcome.type === 'dead') outcome.error = held.error === undefined ? '' : describe(held.error);
        this.#after(() => this.queue.settle(held.message, outcome), (ok, error) => {
          if (!ok) held.settleError = error;
          else this.observed?.settled(held.event, outcome, attempt, clock() - held.taken, this.messaging, held.message.id);
          machine.settled(job, ok, clock());
        });
      } else if (kind === 'tell') {
        this.#tell(job === undefined ? undefined : this.#jobs.get(job), action[2], action[3]);
      } else if (kind === 'claim-run') {
        const held = this.#jobs.get(job);
        const key = api.worker().Worker.runKey(held.key);
        this.#after(() => this.seen.claim(key, machine.runTerms), (ok, claim) => {
          if (!ok) held.storeError = claim;
          if (ok) machine.runClaimed(job, claim, clock());
          else machine.runClaimFailed(job, clock());
        });
      } else if (kind === 'end-run') {
        const held = this.#jobs.get(job);
        const key = api.worker().Worker.runKey(held.key);
        // The store failing to end it changes nothing: the lease frees the key.
        this.#after(() => (action[2] ? this.seen.done(key, machine.runTerms) : this.seen.release(key)), () => machine.runEnded(job, clock()));
      } else if (kind === 'forget') {
        this.#jobs.delete(job);
      } else if (kind === 'stopped') {
        clearTimeout(this.#timer);
        Promise.resolve().then(() => this.queue.leave?.(this.consumer)).catch(() => {});
        this.#started = false;
        for (const resolve of this.#stopped.splice(0)) resolve();
      }
    }

    /** A message take `take` got: read, verified again, and given to the machine as a job. */
    #taken(take, message) {
      // Not a message (a queue of one's own that broke its contract): nothing to run or settle.
      if (message === null || typeof message !== 'object') return;
      let record;
      let event;
      let handlers;
      let error;
      try {
        // A message's bytes (a queue that carries bytes), or its fields.
        record = /** @type {any} */ (ArrayBuffer.isView(message.record) || message.record instanceof ArrayBuffer
          ? api.worker().Worker.decodeRecord(message.record)
          : api.worker().Worker.readRecord(fieldsOf(message.record)));
        const [refusal, read] = this.#core().read(record.signature, record.topic, record.body);
        if (refusal) {
          const said = JSON.parse(refusal.body);
          error = new WebhookError(said.error, said.message, { status: refusal.status });
          handlers = api.worker().Worker.deadReasonOf(refusal.status);
        } else {
          event = read;
          handlers = event.routes.length;
        }
      } catch (thrown) {
        error = thrown;
        handlers = 'invalid_record';
      }
      const attempts = record ? record.attempts : 0;
      const job = this.#machine.taken(take, attempts, Math.max(1, Number(message.deliveries) || 1), handlers, clock());
      // A take no longer waited for: its messages stay pending in the queue, to be reclaimed.
      if (job !== undefined) this.#jobs.set(job, { message, event, error, key: record ? record.key : '', taken: clock() });
    }

    #tell(held, code, message) {
      const { onError } = this;
      if (!onError) return;
      let error;
      if (code === 'handler_failed' && held && held.error !== undefined) error = held.error;
      else {
        const cause = code === 'queue_unavailable' ? (held ? held.settleError ?? held.extendError : this.#takeError)
          : code === 'store_unavailable' && held ? held.storeError
            : code === 'dead_lettered' && held ? held.error : undefined;
        error = new WebhookError(code, cause === undefined ? message : `${message}: ${describe(cause)}`, { status: 500 });
      }
      try {
        onError(error, held ? held.event : undefined);
      } catch {
        // The worker goes on whatever onError does.
      }
    }
  }

  /**
   * A worker: `createWorker({ secret, queue }).on('orders.*', handler).start()`.
   */
  /** @param {any} options */
  function createWorker(options) {
    return new Worker(options);
  }

  /**
   * A record as one message's bytes, for a queue that carries bytes (Cloudflare Queues, SQS,
   * Pub/Sub): its head as JSON, a newline, the body as it is; over `limit` bytes, `record_too_large`.
   * @param {Record<string, any>} record
   * @param {{ limit?: number }} [options]
   */
  function encodeRecord(record, options = {}) {
    if (record === null || typeof record !== 'object') throw invalid('encodeRecord takes a record { v, key, topic, sig, rcv, attempt, body }');
    return api.core().Receiver.recordBytes(record, options && options.limit);
  }

  /** The record `encodeRecord` made, back: `{ v, key, topic, sig, rcv, attempt, body }`. */
  function decodeRecord(bytes) {
    const read = /** @type {any} */ (api.worker().Worker.decodeRecord(bytes));
    return {
      v: '1', key: read.key, topic: read.topic, sig: read.signature, rcv: String(read.receivedMs), attempt: String(read.attempts), body: read.body,
    };
  }

  return { createMemoryQueue, createWorker, encodeRecord, decodeRecord, makeRecord, MemoryQueue };
}
