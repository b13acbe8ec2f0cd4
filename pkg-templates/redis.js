// clhooks/redis: the seen-store that receivers on many instances share, on Redis or Valkey,
// with a connected client of the `redis` package (node-redis) or of `ioredis`. It only moves
// bytes: the two Lua scripts are the core's (clhooks::store, src/store/*.lua, inlined here by
// the build), so a claim is one atomic step with a lease, and a claimer whose lease ran out
// cannot release a key another has taken since. The receiver decides the lease, how long a
// handled key is kept, how long it waits for Redis and what it answers when Redis fails.

const CLAIM_SCRIPT = __CLAIM_SCRIPT__;
const END_SCRIPT = __END_SCRIPT__;
const COUNT_SCRIPT = __COUNT_SCRIPT__;
const FOLD_SCRIPT = __FOLD_SCRIPT__;
const DEFAULT_PREFIX = __DEFAULT_PREFIX__;

const invalid = (message) => new WebhookError('invalid_argument', message, { status: 500 });

/** Each script's SHA-1, as Redis names it in its script cache. */
const shas = new Map();
/**
 * Runs a script with `send`: by its SHA-1 (`EVALSHA`: the script's text is not sent again with
 * every call), and with its text when this Redis does not have it yet (`NOSCRIPT`: after a
 * restart or a `SCRIPT FLUSH`), which caches it.
 */
function script(send, text, args) {
  let sha = shas.get(text);
  if (sha === undefined) {
    sha = createHash('sha1').update(text).digest('hex');
    shas.set(text, sha);
  }
  // The client's own promise, no async frame around it: a store call costs one promise.
  return Promise.resolve(send(['EVALSHA', sha, ...args])).catch((error) => {
    if (!/NOSCRIPT/.test(String(error && error.message))) throw error;
    return send(['EVAL', text, ...args]);
  });
}

/**
 * A function sending one command (an array of strings) with `client`: node-redis'
 * `sendCommand(args)`, or ioredis' `call(name, ...args)`.
 */
function sender(client) {
  if (client === null || typeof client !== 'object') {
    throw invalid('createRedisStore takes a connected client of the redis or ioredis package');
  }
  // ioredis has a sendCommand too, taking its own Command objects: call first.
  if (typeof client.call === 'function') return (args) => client.call(...args);
  if (typeof client.sendCommand === 'function') return (args) => client.sendCommand(args);
  throw invalid('createRedisStore takes a connected client of the redis or ioredis package (with sendCommand or call)');
}

/**
 * A seen-store on Redis shared by every receiver given one: `new Webhooks({ secret, seen:
 * createRedisStore(client) })`.
 * @param {any} client a connected node-redis or ioredis client
 * @param {{ prefix?: string }} [options] `prefix` of every key (default `clhooks:seen:`)
 */
export function createRedisStore(client, options = {}) {
  if (options === null || typeof options !== 'object') throw invalid('createRedisStore takes an options object');
  const { prefix = DEFAULT_PREFIX } = options;
  if (typeof prefix !== 'string' || prefix.length > 128) throw invalid('prefix must be a string of at most 128 characters');
  const send = sender(client);
  /**
   * The token of each claim this process holds, to end it. A live entry is never replaced: a
   * second fresh claim of one key (after its first lease ran out) is ended by the lease, not by
   * a token that could free the other's claim.
   */
  const tokens = new Map();
  /** Whether the end and the count still go in one script (see endCounting). */
  let folding = true;
  /** Whether this server claims by script (older than Redis 7.0, see claim). */
  let claimsByScript = false;
  /** What makes this store's claim tokens unique: a random origin, and how many it made. */
  const origin = randomUUID();
  let claims = 0;
  const end = async (key, handled, keepMs) => {
    const held = tokens.get(key);
    tokens.delete(key);
    await script(send, END_SCRIPT, ['1', prefix + key, held ?? '', handled ? '1' : '0', String(Math.max(1, keepMs))]);
  };
  return {
    prefix,
    /** An ioredis Cluster: the fold script runs there only under a prefix with a hash tag. */
    cluster: client.isCluster === true,
    /**
     * Claims `key` for `terms.leaseMs` with `SET key f:<token> NX PX lease GET`: `{ held }`,
     * what the key held (`null`: it is this claim's now), which the receiver's core reads. On a
     * server older than Redis 7.0, which refuses `NX` with `GET`, the claim script from then
     * on: `'fresh'`, `'duplicate'` or `'in_flight'`.
     */
    claim(key, terms) {
      if (typeof key !== 'string' || terms === null || typeof terms !== 'object' || !(terms.leaseMs > 0)) {
        return Promise.reject(invalid('claim takes a key and the receiver\'s terms ({ leaseMs, keepMs })'));
      }
      // Unique to this claim: the store's own random origin and a count.
      const mine = `${origin}-${(claims += 1)}`;
      const lease = String(Math.max(1, terms.leaseMs));
      const taken = (fresh) => {
        if (fresh && !tokens.has(key)) tokens.set(key, mine);
      };
      const byScript = () => script(send, CLAIM_SCRIPT, ['1', prefix + key, mine, lease]).then((claim) => {
        taken(claim === 'fresh');
        return typeof claim === 'string' ? claim : String(claim);
      });
      if (claimsByScript) return byScript();
      // The client's own promise, no async frame around it.
      return Promise.resolve(send(['SET', prefix + key, `f:${mine}`, 'NX', 'PX', lease, 'GET'])).then((held) => {
        taken(held === null || held === undefined);
        // A client set to give bytes (a Buffer) gives the same text.
        return { held: held === null || held === undefined ? null : String(held) };
      }, (error) => {
        if (!/syntax error/i.test(String(error && error.message))) throw error;
        claimsByScript = true;
        return byScript();
      });
    },
    /** Records a key as handled for `terms.keepMs`. */
    async done(key, terms) {
      if (terms === null || typeof terms !== 'object' || !(terms.keepMs > 0)) {
        throw invalid('done takes a key and the receiver\'s terms ({ leaseMs, keepMs })');
      }
      return end(key, true, terms.keepMs);
    },
    /** Gives a key up (while the claim is still this one's), so that the retry runs. */
    release(key) {
      return end(key, false, 1);
    },
    /**
     * Ends a claim as `done` (`handled`) or `release` do, and counts the answer it waits for
     * as `count` does with `args` (the core's), in one script: the count's reply.
     */
    async endCounting(key, handled, terms, args) {
      if (terms === null || typeof terms !== 'object' || !(terms.keepMs > 0) || !Array.isArray(args)) {
        throw invalid('endCounting takes a key, whether it was handled, the receiver\'s terms and the core\'s count arguments');
      }
      const held = tokens.get(key);
      tokens.delete(key);
      const index = healthIndex(prefix);
      const ending = [prefix + key, held ?? '', handled ? '1' : '0', String(Math.max(1, terms.keepMs))];
      if (folding) {
        try {
          const reply = await script(send, FOLD_SCRIPT, ['3', ending[0], `${index}:${args[0]}`, index, ...ending.slice(1), ...args]);
          return Array.isArray(reply) ? reply.slice(1) : reply;
        } catch (error) {
          // A server that shards keys without a hash tag in the prefix (a cluster behind a
          // proxy) refuses a script over keys of two slots before running it: two scripts then.
          if (!/CROSSSLOT/i.test(String(error && error.message))) throw error;
          folding = false;
        }
      }
      await script(send, END_SCRIPT, ['1', ...ending]);
      return script(send, COUNT_SCRIPT, ['2', `${index}:${args[0]}`, index, ...args]);
    },
    ...shareStreaks(send, prefix),
  };
}

/** The set of every webhook's streak, as the core names it (each hash is `<set>:<webhook>`): one hash tag, so a cluster keeps them on one slot. */
const healthIndex = (prefix) => `${prefix}{health}`;

/**
 * The failure streaks every receiver on this Redis shares (clhooks::health::redis): `count`
 * runs the core's count script with the arguments the core made (`[webhook, ...]`), `tallies`
 * reads every webhook's hash back, `[[webhook, fields], ...]`, for the core's report.
 */
function shareStreaks(send, prefix) {
  const index = healthIndex(prefix);
  return {
    count(args) {
      return script(send, COUNT_SCRIPT, ['2', `${index}:${args[0]}`, index, ...args]);
    },
    async tallies() {
      const webhooks = await send(['SMEMBERS', index]);
      return Promise.all([...webhooks].map(async (webhook) => [String(webhook), await send(['HGETALL', `${index}:${webhook}`])]));
    },
  };
}

const ENQUEUE_SCRIPT = __ENQUEUE_SCRIPT__;
const TAKE_SCRIPT = __TAKE_SCRIPT__;
const EXTEND_SCRIPT = __EXTEND_SCRIPT__;
const SETTLE_SCRIPT = __SETTLE_SCRIPT__;
const DEFAULT_STREAM = __DEFAULT_STREAM__;
const DEFAULT_GROUP = __DEFAULT_GROUP__;
const DEAD_ERROR_BYTES = __DEAD_ERROR_BYTES__;
const REPLAY_SCRIPT = __REPLAY_SCRIPT__;
const REPLAY_BATCH = __REPLAY_BATCH__;
/** A stream entry's id. */
const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;
/** The fields a dead letter adds to its record. */
const DEAD_FIELDS = ['reason', 'error', 'failed'];

/** A function sending one command whose reply keeps its strings as bytes (Buffers). */
function bytesSender(client) {
  if (typeof client.callBuffer === 'function') return (args) => client.callBuffer(...args);
  // node-redis: blob strings as Buffers (RESP type 36, `$`); `returnBuffers` for its v4.
  return (args) => client.sendCommand(args, { typeMapping: { 36: Buffer }, returnBuffers: true });
}

/** A node-redis or ioredis client's own connection for blocking reads, connected. */
async function duplicated(client) {
  const copy = client.duplicate();
  // Its errors are the read's to report (a connection that drops is made again): never an
  // unhandled 'error' event that ends the process.
  copy.on('error', () => {});
  // node-redis connects on connect(); ioredis by itself (its `status` says how far).
  if (typeof copy.isOpen === 'boolean' && !copy.isOpen) await copy.connect();
  return copy;
}

/** Closes a duplicated connection, even while a blocking read waits on it. */
function closed(copy) {
  try {
    if (typeof copy.destroy === 'function') copy.destroy();
    else if (typeof copy.disconnect === 'function') copy.disconnect();
  } catch {
    // Already closed.
  }
}

const text = (value) => (Buffer.isBuffer(value) || value instanceof Uint8Array ? Buffer.from(value).toString() : String(value));
const asBuffer = (value) => (typeof value === 'string' ? value
  : Buffer.from(value.buffer, value.byteOffset, value.byteLength));

/**
 * A durable queue on Redis Streams (Redis 6.2 or later, or Valkey) for handoff mode:
 * `new Webhooks({ secret, queue: createRedisQueue(client) })` answers once the stream holds a
 * delivery, and `createWorker({ secret, queue }).on(...).start()` runs it. The key's claim and
 * the write are one script, so a crash cannot split them. Blocking reads go to a connection of
 * their own (`client.duplicate()`), one per worker, so they never stall the receiver's claims.
 * @param {any} client a connected node-redis or ioredis client
 * @param {{ stream?: string, group?: string, prefix?: string }} [options] the stream (default
 *   `clhooks:queue`), the workers' consumer group (`clhooks`), the seen keys' prefix (that of
 *   `createRedisStore`, `clhooks:seen:`)
 */
export function createRedisQueue(client, options = {}) {
  if (options === null || typeof options !== 'object') throw invalid('createRedisQueue takes an options object');
  const { stream = DEFAULT_STREAM, group = DEFAULT_GROUP, prefix = DEFAULT_PREFIX } = options;
  for (const [name, value] of [['stream', stream], ['group', group], ['prefix', prefix]]) {
    if (typeof value !== 'string' || value.length === 0 || value.length > 128) throw invalid(`${name} must be a string of 1 to 128 characters`);
  }
  const send = sender(client);
  const sendBytes = bytesSender(client);
  const delayed = `${stream}:delayed`;
  const dead = `${stream}:dead`;
  /** Each worker's blocking connection, made on its first read. */
  const readers = new Map();
  const readerOf = (consumer) => {
    let reader = readers.get(consumer);
    if (!reader) {
      reader = duplicated(client).then((copy) => ({ copy, send: bytesSender(copy) }));
      readers.set(consumer, reader);
      reader.catch(() => readers.delete(consumer));
    }
    return reader;
  };
  /** A record's `[name, value, ...]` (the body as bytes, the rest as text), pushed onto `out`. */
  const fieldsOf = (record, out) => {
    for (const name of Object.keys(record)) {
      const value = record[name];
      out.push(name, name === 'body' ? asBuffer(value) : String(value));
    }
    return out;
  };
  const entries = (list, deliveries) => (list || []).filter((entry) => entry && entry[1])
    .map(([id, fields]) => ({ id: text(id), deliveries, record: fields }));
  return {
    durable: true,
    claims: true,
    stream,
    group,
    /** How metrics and logs name this queue (OpenTelemetry's messaging attributes). */
    messaging: { 'messaging.system': 'redis', 'messaging.destination.name': stream, 'messaging.consumer.group.name': group },
    // The failure streaks beside the seen keys, as a Redis seen-store keeps them.
    ...shareStreaks(send, prefix),
    /** Writes `record`; with `claim`, claims its key in the same script: `'fresh'` (queued now), `'duplicate'`, `'in_flight'`. */
    async enqueue(record, { claim = false, keepMs = 1 } = {}) {
      if (record === null || typeof record !== 'object' || typeof record.key !== 'string') throw invalid('enqueue takes a record { v, key, topic, sig, rcv, attempt, body }');
      if (!claim) {
        await send(fieldsOf(record, ['XADD', stream, '*']));
        return 'fresh';
      }
      const said = await script(send, ENQUEUE_SCRIPT, fieldsOf(record, ['2', prefix + record.key, stream, String(Math.max(1, keepMs))]));
      return text(said);
    },
    /**
     * Up to `count` messages for `consumer`: due retries back on the stream, the messages a
     * dead worker held for `reclaimIdleMs`, then new ones, waiting up to `blockMs` for one.
     */
    async take(count, { blockMs = 0, reclaimIdleMs = 60_000, consumer = 'clhooks' } = {}) {
      const reclaimed = await script(sendBytes, TAKE_SCRIPT, ['2', stream, delayed, group, consumer, String(reclaimIdleMs), String(count)]);
      const taken = (reclaimed || []).map(([id, times, fields]) => ({ id: text(id), deliveries: Number(times), record: fields }));
      if (taken.length >= count) return taken.map((message) => ({ ...message, consumer }));
      const reader = await readerOf(consumer);
      const args = ['XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(count - taken.length)];
      if (taken.length === 0 && blockMs > 0) args.push('BLOCK', String(blockMs));
      let reply;
      try {
        reply = await reader.send([...args, 'STREAMS', stream, '>']);
      } catch (error) {
        // Made again on the next read.
        if (readers.get(consumer) !== undefined) readers.delete(consumer);
        closed(reader.copy);
        throw error;
      }
      const fresh = reply && reply[0] ? entries(reply[0][1], 1) : [];
      return [...taken, ...fresh].map((message) => ({ ...message, consumer }));
    },
    /** The worker's heartbeat: whether the message is still its. */
    async extend(message) {
      return Number(await script(send, EXTEND_SCRIPT, ['1', stream, group, message.consumer, message.id])) === 1;
    },
    /** Settles a message as the worker's core says; `false` when it is not the worker's any more. */
    async settle(message, outcome) {
      const key = recordKey(message.record);
      const [value, attempts] = outcome.type === 'done' ? [String(Math.max(1, outcome.keepMs)), '']
        : outcome.type === 'retry' ? [String(outcome.delayMs), String(outcome.attempts)]
          : outcome.type === 'dead' ? [outcome.reason, String(outcome.attempts)] : ['', ''];
      const error = outcome.type === 'dead' ? Buffer.from(String(outcome.error ?? '')).subarray(0, DEAD_ERROR_BYTES).toString() : '';
      const said = await script(send, SETTLE_SCRIPT, ['4', stream, delayed, dead, key ? prefix + key : '', group, message.consumer,
        message.id, outcome.type, value, attempts, error]);
      return Number(said) === 1;
    },
    /**
     * Up to `count` dead letters, oldest first (after the id `after`, to page on):
     * `{ id, record, reason, error, failedAt }`, the record's fields as an object, its body bytes.
     * @param {{ count?: number, after?: string }} [options]
     */
    async deadLetters({ count = 100, after = undefined } = {}) {
      if (!(Number.isInteger(count) && count > 0 && count <= 10_000)) throw invalid('count must be a whole number from 1 to 10000');
      if (after !== undefined && (typeof after !== 'string' || !ENTRY_ID.test(after))) throw invalid('after must be a dead-letter id, such as 1765000000000-0');
      const entries = await sendBytes(['XRANGE', dead, after === undefined ? '-' : `(${after}`, '+', 'COUNT', String(count)]);
      return (entries || []).map(deadLetter);
    },
    /** One dead letter by id, or `undefined`. */
    async deadLetter(id) {
      if (typeof id !== 'string' || !ENTRY_ID.test(id)) throw invalid('deadLetter takes a dead-letter id, such as 1765000000000-0');
      const [entry] = (await sendBytes(['XRANGE', dead, String(id), String(id)])) || [];
      return entry ? deadLetter(entry) : undefined;
    },
    /**
     * Moves dead letters back to the queue, their attempts counted afresh: those of `ids`, or
     * all of them. How many moved.
     */
    async replay(ids) {
      if (ids !== undefined && !(Array.isArray(ids) && ids.every((id) => typeof id === 'string' && ENTRY_ID.test(id)))) {
        throw invalid('replay takes an array of dead-letter ids (such as 1765000000000-0), or nothing for all');
      }
      let moved = 0;
      if (ids !== undefined) {
        for (let next = [...ids]; next.length > 0;) moved += Number(await script(send, REPLAY_SCRIPT, ['2', stream, dead, ...next.splice(0, REPLAY_BATCH)]));
        return moved;
      }
      // All: up to the newest when the replay begins, page after page, so that dead letters that
      // come back meanwhile (a worker running) do not make it endless.
      const [newest] = (await sendBytes(['XREVRANGE', dead, '+', '-', 'COUNT', '1'])) || [];
      if (!newest) return 0;
      const last = text(newest[0]);
      for (let start = '-'; ;) {
        const page = ((await sendBytes(['XRANGE', dead, start, last, 'COUNT', String(REPLAY_BATCH)])) || []).map(([id]) => text(id));
        if (page.length === 0) return moved;
        moved += Number(await script(send, REPLAY_SCRIPT, ['2', stream, dead, ...page]));
        start = `(${page.at(-1)}`;
      }
    },
    /** A worker stopped: its blocking connection is closed. */
    leave(consumer) {
      const reader = readers.get(consumer);
      readers.delete(consumer);
      reader?.then(({ copy }) => closed(copy), () => {});
    },
  };
}

/** A dead letter's entry as `{ id, record, reason, error, failedAt }`. */
function deadLetter([id, fields]) {
  const record = {};
  const extra = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = text(fields[i]);
    if (DEAD_FIELDS.includes(name)) extra[name] = text(fields[i + 1]);
    else record[name] = name === 'body' ? Buffer.from(fields[i + 1]) : text(fields[i + 1]);
  }
  return { id: text(id), record, reason: extra.reason ?? '', error: extra.error ?? '', failedAt: Number(extra.failed ?? 0) };
}

/** The `key` field of a record's fields (`[name, value, ...]`, bytes or strings). */
function recordKey(fields) {
  for (let i = 0; i + 1 < fields.length; i += 2) if (text(fields[i]) === 'key') return text(fields[i + 1]);
  return '';
}
