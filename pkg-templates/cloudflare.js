// clhooks/cloudflare: the seen-store that Worker isolates share, on Durable Objects (strongly
// consistent, one object per idempotency key: each claim is atomic within its object). KV is
// eventually consistent: two isolates could both claim one key there, so it is not offered.
//
// wrangler.toml binds the class:
//   [[durable_objects.bindings]]
//   name = "SEEN"
//   class_name = "SeenStoreObject"
//   [[migrations]]
//   tag = "v1"
//   new_sqlite_classes = ["SeenStoreObject"]
// and the Worker exports it (`export { SeenStoreObject } from 'clhooks/cloudflare'`).
//
// The receiver decides the lease, how long a handled key is kept and what a failure answers;
// the object holds one key's state: absent, held by a token until its lease ends, or handled
// until it is forgotten (an alarm then clears the object).
import { DurableObject } from 'cloudflare:workers';
import wasmModule from './clhooks.wasm';
import { createCore } from './core/web.js';
import { WebhookError, encodeRecord } from './workerd.mjs';

const DEFAULT_PREFIX = __DEFAULT_PREFIX__;
const CLOUDFLARE_MESSAGE_LIMIT = __CLOUDFLARE_MESSAGE_LIMIT__;

const invalid = (message) => new WebhookError('invalid_argument', message, { status: 500 });

/** The core the health object counts with, made on its first count. */
let streaks;
const streakCore = () => {
  streaks ??= createCore(wasmModule);
  return streaks;
};

/** One idempotency key's claim. */
export class SeenStoreObject extends DurableObject {
  /** `'fresh'` (now held by `token` for `leaseMs`), `'duplicate'` or `'in_flight'`. */
  async claim(token, leaseMs) {
    const now = Date.now();
    const entry = await this.ctx.storage.get('entry');
    if (entry && entry.until > now) return entry.held === 'd' ? 'duplicate' : 'in_flight';
    const until = now + Math.max(1, Number(leaseMs) || 1);
    await this.ctx.storage.put('entry', { held: `f:${token}`, until });
    await this.ctx.storage.setAlarm(until);
    return 'fresh';
  }

  /**
   * Ends a claim: handled (recorded for `keepMs`, whoever holds the key now: the work is done),
   * or released while the claim is still `token`'s.
   */
  async end(token, handled, keepMs) {
    const now = Date.now();
    const entry = await this.ctx.storage.get('entry');
    const live = entry && entry.until > now ? entry : undefined;
    if (handled) {
      if (live && live.held === 'd') return;
      const until = now + Math.max(1, Number(keepMs) || 1);
      await this.ctx.storage.put('entry', { held: 'd', until });
      await this.ctx.storage.setAlarm(until);
    } else if (live && live.held === `f:${token}`) {
      await this.ctx.storage.deleteAll();
    }
  }

  /**
   * The failure streaks (the object named `<prefix>{health}`): one attempt counted by the
   * core's rule (`args` the core made), in one step, since an object runs one call at a time.
   */
  async count(args) {
    const webhook = String(args[0]);
    const [kept, reply] = streakCore().Health.applyCount(await this.ctx.storage.get(`health:${webhook}`), args.map(String));
    await this.ctx.storage.put(`health:${webhook}`, kept);
    return reply;
  }

  /** Every webhook's counters, `[[webhook, fields], ...]`. */
  async tallies() {
    const listed = await this.ctx.storage.list({ prefix: 'health:' });
    return [...listed].map(([key, fields]) => [key.slice('health:'.length), fields]);
  }

  /** The key's time is up: the object forgets it. */
  async alarm() {
    const entry = await this.ctx.storage.get('entry');
    if (entry && entry.until > Date.now()) await this.ctx.storage.setAlarm(entry.until);
    else await this.ctx.storage.deleteAll();
  }
}

/**
 * A seen-store on the Durable Object namespace bound to `SeenStoreObject`:
 * `new Webhooks({ secret, seen: createDurableObjectStore(env.SEEN) })`.
 * @param {any} namespace the binding (`env.SEEN`)
 * @param {{ prefix?: string }} [options] `prefix` of every object's name (default `clhooks:seen:`)
 */
export function createDurableObjectStore(namespace, options = {}) {
  if (namespace === null || typeof namespace !== 'object' || typeof namespace.idFromName !== 'function' || typeof namespace.get !== 'function') {
    throw invalid('createDurableObjectStore takes the Durable Object namespace bound to SeenStoreObject (env.SEEN)');
  }
  if (options === null || typeof options !== 'object') throw invalid('createDurableObjectStore takes an options object');
  const { prefix = DEFAULT_PREFIX } = options;
  if (typeof prefix !== 'string' || prefix.length > 128) throw invalid('prefix must be a string of at most 128 characters');
  const object = (key) => namespace.get(namespace.idFromName(prefix + key));
  /** The token of each claim this isolate holds, to end it (a live entry is never replaced). */
  const tokens = new Map();
  const end = async (key, handled, keepMs) => {
    const held = tokens.get(key);
    tokens.delete(key);
    await object(key).end(held ?? '', handled, keepMs);
  };
  return {
    prefix,
    async claim(key, terms) {
      const token = crypto.randomUUID();
      if (typeof key !== 'string' || terms === null || typeof terms !== 'object' || !(terms.leaseMs > 0)) {
        throw invalid('claim takes a key and the receiver\'s terms ({ leaseMs, keepMs })');
      }
      const claim = await object(key).claim(token, terms.leaseMs);
      if (claim === 'fresh' && !tokens.has(key)) tokens.set(key, token);
      return claim;
    },
    async done(key, terms) {
      if (terms === null || typeof terms !== 'object' || !(terms.keepMs > 0)) {
        throw invalid('done takes a key and the receiver\'s terms ({ leaseMs, keepMs })');
      }
      return end(key, true, terms.keepMs);
    },
    release(key) {
      return end(key, false, 1);
    },
    // The failure streaks every isolate shares: one object holds them all.
    count(args) {
      return object('{health}').count(args);
    },
    tallies() {
      return object('{health}').tallies();
    },
  };
}

/**
 * A queue on Cloudflare Queues for handoff mode, on the producer binding `binding` (`env.QUEUE`):
 * `new Webhooks({ secret, queue: createCloudflareQueue(env.QUEUE), seen: createDurableObjectStore(env.SEEN) })`
 * answers once `send` resolves (Cloudflare has written the message), and `webhooks.queueHandler()`
 * is the consumer. A message is the record's bytes (its head as JSON, then the body as it is), so
 * a body up to about 127 KB fits; a larger one is refused (`record_too_large`, answered 503 and
 * told): use the Redis queue for such payloads.
 * @param {any} binding the queue's producer binding
 */
export function createCloudflareQueue(binding) {
  if (binding === null || typeof binding !== 'object' || typeof binding.send !== 'function') {
    throw invalid('createCloudflareQueue takes a queue producer binding (env.QUEUE)');
  }
  return {
    durable: true,
    claims: false,
    async enqueue(record) {
      const bytes = encodeRecord(record, { limit: CLOUDFLARE_MESSAGE_LIMIT });
      await binding.send(bytes, { contentType: 'bytes' });
    },
  };
}
