import type { Queue, SeenStore } from './index.js';

/**
 * The Durable Object that holds one idempotency key's claim: bind it in wrangler.toml
 * (`class_name = "SeenStoreObject"`, a `new_sqlite_classes` migration) and export it from the
 * Worker: `export { SeenStoreObject } from 'clhooks/cloudflare'`.
 */
export class SeenStoreObject {
  constructor(ctx: unknown, env: unknown);
  claim(token: string, leaseMs: number): Promise<'fresh' | 'duplicate' | 'in_flight'>;
  end(token: string, handled: boolean, keepMs: number): Promise<void>;
  alarm(): Promise<void>;
}

/** A seen-store shared by every isolate of a Worker, on the namespace bound to SeenStoreObject. */
export function createDurableObjectStore(namespace: unknown, options?: { prefix?: string }): SeenStore & { readonly prefix: string };

/**
 * A queue on Cloudflare Queues for handoff mode, on its producer binding (`env.QUEUE`): answered
 * once `send` resolves; `webhooks.queueHandler()` is the consumer. A record over about 127 KB is
 * refused (`record_too_large`, 503): use the Redis queue for such payloads.
 */
export function createCloudflareQueue(binding: unknown): Queue & { readonly durable: true; readonly claims: false };
