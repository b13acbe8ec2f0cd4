import type { DeadLetters, Queue, SeenStore } from './index.js';

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

/**
 * A durable queue on Redis Streams (Redis 6.2 or later, or Valkey) for handoff mode: the key's
 * claim and the write are one script; workers read in a consumer group, each on a connection of
 * its own, reclaim a dead worker's messages, retry with a backoff and keep dead letters.
 *
 * ```js
 * const queue = createRedisQueue(client);
 * const webhooks = new Webhooks({ secret, queue });           // answers once Redis holds it
 * createWorker({ secret, queue }).on('orders.*', handle).start(); // here or in another process
 * ```
 */
export function createRedisQueue(client: unknown, options?: { stream?: string; group?: string; prefix?: string }): Queue & DeadLetters & {
  readonly durable: true;
  readonly stream: string;
  readonly group: string;
};
