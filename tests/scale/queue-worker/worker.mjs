// A Worker of the handoff tests on Cloudflare Queues: its receiver claims in clhooks' Durable
// Object store and hands each delivery to the queue; its consumer runs the handlers. Every run,
// success and dead letter is counted in a Durable Object of its own. An event whose attributes
// say `fail_first` throws on its first run, `always_fail` on every run.
import { DurableObject } from 'cloudflare:workers';
import { Webhooks } from 'clhooks';
import { SeenStoreObject, createCloudflareQueue, createDurableObjectStore } from 'clhooks/cloudflare';

export { SeenStoreObject };

export class Counts extends DurableObject {
  async add(name, id) {
    const key = `${name}:${id}`;
    const n = ((await this.ctx.storage.get(key)) ?? 0) + 1;
    await this.ctx.storage.put(key, n);
    return n;
  }

  async all() {
    return Object.fromEntries(await this.ctx.storage.list());
  }
}

const counts = (env) => env.COUNTS.get(env.COUNTS.idFromName('counts'));
/** A message's delivery key, from its record's head line. */
const keyOf = (message) => JSON.parse(new TextDecoder().decode(message.body).split('\n')[0]).key;

/** The receiver and its handlers, made per request: a request's I/O objects serve only it. */
const webhooks = (env) => new Webhooks({
  secret: env.CL_WEBHOOK_SECRET,
  seen: createDurableObjectStore(env.SEEN),
  queue: createCloudflareQueue(env.QUEUE),
  onError: async (error) => {
    await counts(env).add('told', error.code ?? 'handler');
  },
}).on('orders.*', async (event) => {
  const { attributes } = event.data;
  const run = await counts(env).add('run', event.id);
  if (attributes.always_fail) throw new Error('this event always fails');
  if (attributes.fail_first && run === 1) throw new Error('the first run of this event fails');
  await counts(env).add('done', event.id);
});

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === '/counts') return Response.json(await counts(env).all());
    return webhooks(env).fetch(request);
  },
  async queue(batch, env, ctx) {
    // The dead letters' queue: each one counted, then acked.
    if (batch.queue === 'hooks-dead') {
      for (const message of batch.messages) {
        await counts(env).add('dead', keyOf(message));
        message.ack();
      }
      return;
    }
    await webhooks(env).queueHandler({ retryMs: 1_000 })(batch, env, ctx);
    // Each message the consumer went through, by its delivery's key (what a copy left).
    for (const message of batch.messages) await counts(env).add('through', keyOf(message));
  },
};
