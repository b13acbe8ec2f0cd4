import type { SeenStore } from './index.js';

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
