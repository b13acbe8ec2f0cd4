// A receiver Worker of the scale-out tests: its claims in clhooks' Durable Object store, its
// handler's side effects counted in a Durable Object of its own (what every Worker did). An
// event whose attributes say `fail_first` throws on its first run, in whichever Worker.
import { DurableObject } from 'cloudflare:workers';
import { Webhooks } from 'clhooks';
import { SeenStoreObject, createDurableObjectStore } from 'clhooks/cloudflare';

export { SeenStoreObject };

/** How many times each event was handled, and by which Worker. */
export class Counts extends DurableObject {
  async add(id, by) {
    const n = ((await this.ctx.storage.get(`handled:${id}`)) ?? 0) + 1;
    await this.ctx.storage.put({ [`handled:${id}`]: n, [`by:${id}`]: by });
    return n;
  }

  /** True the first time it is asked for `id`. */
  async failOnce(id) {
    if (await this.ctx.storage.get(`failed:${id}`)) return false;
    await this.ctx.storage.put(`failed:${id}`, true);
    return true;
  }

  async all() {
    return Object.fromEntries(await this.ctx.storage.list());
  }
}

let webhooks;

export default {
  async fetch(request, env) {
    // A stub is made per request: Workers do not let one request's I/O objects serve another.
    const counts = () => env.COUNTS.get(env.COUNTS.idFromName('counts'));
    const { pathname, searchParams } = new URL(request.url);
    if (pathname === '/counts') return Response.json(await counts().all());
    // What an isolate that died mid-handler leaves: a claim nobody ends.
    if (pathname === '/abandon') {
      const claim = await createDurableObjectStore(env.SEEN).claim(searchParams.get('key'), { leaseMs: Number(searchParams.get('leaseMs')), keepMs: 1 });
      return Response.json({ claim });
    }
    webhooks ??= new Webhooks({
      secret: env.CL_WEBHOOK_SECRET,
      seen: createDurableObjectStore(env.SEEN),
      onError: (error) => {
        if (!/first run/.test(error.message)) console.log(`handler failed: ${error.stack}`);
      },
      onEvent: async (event) => {
        if (event.data.attributes.fail_first && (await counts().failOnce(event.id))) throw new Error('the first run of this event fails');
        await counts().add(event.id, env.NAME);
      },
    });
    return webhooks.fetch(request);
  },
};
