import type { SeenStore } from './index.js';

/** A seen-store on Redis or Valkey, shared by every receiver given one. */
export interface RedisStore extends SeenStore {
  /** The prefix of every key. */
  readonly prefix: string;
}

/**
 * A seen-store on Redis or Valkey that receivers on many instances share: one atomic claim per
 * delivery with a lease (a holder that died frees the key), handled keys kept for the retry
 * window. `client` is a connected client of the `redis` package or of `ioredis`.
 *
 * ```js
 * import { createClient } from 'redis';
 * import { createRedisStore } from 'clhooks/redis';
 * const webhooks = new Webhooks({ secret, seen: createRedisStore(await createClient().connect()) });
 * ```
 */
export function createRedisStore(client: unknown, options?: { prefix?: string }): RedisStore;
