// A Commerce Layer webhook receiver as a module Worker. clhooks' `workerd` build imports its
// .wasm as a module: no node:crypto, no compiling wasm at run time. Its idempotency claims live
// in a Durable Object (bound as SEEN in wrangler.toml), so every isolate handles an event once.
import { Webhooks } from 'clhooks';
import { SeenStoreObject, createDurableObjectStore } from 'clhooks/cloudflare';

// The class wrangler.toml binds: one object per delivery's idempotency key.
export { SeenStoreObject };

let webhooks;

export default {
  async fetch(request, env, ctx) {
    webhooks ??= new Webhooks({
      secret: env.CL_WEBHOOK_SECRET.split(','),
      // Shared by every isolate; without the binding, each isolate remembers its own.
      seen: env.SEEN ? createDurableObjectStore(env.SEEN) : undefined,
      // ALLOW_SOURCES=commercelayer: only Commerce Layer's addresses, as Cloudflare names the caller.
      sources: env.ALLOW_SOURCES ? { allow: env.ALLOW_SOURCES.split(','), forwarded: 'cf-connecting-ip' } : undefined,
    })
      .on('orders.place', (event) => {
        // Answer now, work after: the Worker stays alive for the promise.
        ctx.waitUntil(Promise.resolve().then(() => console.log(`order ${event.data.attributes.number} placed`)));
      })
      .on('*', (event) => console.log(`event ${event.topic} ${event.id} ${event.idempotencyKey.slice(0, 12)}`));
    return webhooks.fetch(request);
  },
};
