// A receiver Worker of the scale-out tests: its claims in clhooks' Durable Object store, its
// handler's side effects counted in a Durable Object of its own (what every Worker did). An
// event whose attributes say `fail_first` throws on its first run, in whichever Worker; one that
// says `always_fail` throws on every run. The failure streaks' notices are kept in that object
// too, and GET /health is the receiver's health endpoint.
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

  async told(line) {
    const n = ((await this.ctx.storage.get('told')) ?? 0) + 1;
    await this.ctx.storage.put({ told: n, [`told:${n}`]: line });
  }

  async all() {
    return Object.fromEntries(await this.ctx.storage.list());
  }
}

let webhooks;

export default {
  async fetch(request, env, ctx) {
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
        if (String(error.code).startsWith('failure_streak')) return counts().told(`${error.code} ${error.streak} ${error.circuit ?? '-'} ${error.topic} ${env.NAME}`);
        if (!/first run|always fails/.test(error.message)) console.log(`handler failed: ${error.stack}`);
        return undefined;
      },
      onEvent: async (event) => {
        if (event.data.attributes.always_fail) throw new Error('this event always fails');
        if (event.data.attributes.fail_first && (await counts().failOnce(event.id))) throw new Error('the first run of this event fails');
        await counts().add(event.id, env.NAME);
      },
    });
    if (pathname === '/health') return webhooks.healthResponse();
    // The context keeps the shared failure streak's count alive past the answer.
    return webhooks.fetch(request, ctx);
  },
};
