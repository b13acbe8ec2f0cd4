// A Commerce Layer webhook receiver as a Next.js App Router route handler
// (app/api/webhooks/route.js). The handler gets the standard Request, whose body Next has not
// read: clhooks reads the raw bytes, verifies them and answers with its core's status.
import { Webhooks } from 'clhooks';

// Node.js runtime (node:crypto hashes large bodies); never cached or prerendered.
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const webhooks = new Webhooks({
  secret: (process.env.CL_WEBHOOK_SECRET ?? '').split(',').filter(Boolean),
  onEvent: (event) => console.log(`event ${event.topic} ${event.id} ${event.idempotencyKey.slice(0, 12)}`),
  onError: (error, event) => console.error(`handler failed for ${event.topic} ${event.id}:`, error),
});

/** Every method goes to clhooks, so that anything but a POST gets its 405 answer. */
function receive(request) {
  return webhooks.fetch(request);
}

export { receive as POST, receive as GET, receive as PUT, receive as PATCH, receive as DELETE };
