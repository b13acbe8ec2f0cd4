// clhooks/redis: the seen-store that receivers on many instances share, on Redis or Valkey,
// with a connected client of the `redis` package (node-redis) or of `ioredis`. It only moves
// bytes: the two Lua scripts are the core's (clhooks::store, src/store/*.lua, inlined here by
// the build), so a claim is one atomic step with a lease, and a claimer whose lease ran out
// cannot release a key another has taken since. The receiver decides the lease, how long a
// handled key is kept, how long it waits for Redis and what it answers when Redis fails.

const CLAIM_SCRIPT = __CLAIM_SCRIPT__;
const END_SCRIPT = __END_SCRIPT__;
const DEFAULT_PREFIX = __DEFAULT_PREFIX__;

const invalid = (message) => new WebhookError('invalid_argument', message, { status: 500 });

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
  const end = async (key, handled, keepMs) => {
    const held = tokens.get(key);
    tokens.delete(key);
    await send(['EVAL', END_SCRIPT, '1', prefix + key, held ?? '', handled ? '1' : '0', String(Math.max(1, keepMs))]);
  };
  return {
    prefix,
    /** `'fresh'`, `'duplicate'` or `'in_flight'` (the receiver checks the reply). */
    async claim(key, terms) {
      if (typeof key !== 'string' || terms === null || typeof terms !== 'object' || !(terms.leaseMs > 0)) {
        throw invalid('claim takes a key and the receiver\'s terms ({ leaseMs, keepMs })');
      }
      const mine = randomUUID();
      const claim = await send(['EVAL', CLAIM_SCRIPT, '1', prefix + key, mine, String(Math.max(1, terms.leaseMs))]);
      if (claim === 'fresh' && !tokens.has(key)) tokens.set(key, mine);
      return typeof claim === 'string' ? claim : String(claim);
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
  };
}
