// Code a user would write with `require`.
import clhooks = require('clhooks');

const event: clhooks.WebhookEvent<'orders.place'> = clhooks.receive<'orders.place'>('{}', {}, 'secret');
const resource: 'orders' = event.resource;
const error = new clhooks.WebhookError('signature_mismatch', 'message');
// @ts-expect-error codes are a closed union
new clhooks.WebhookError('nope', 'message');
void [resource, error];

// Without clhooks/sdk (this CommonJS side never imports it), denormalize() is the general shape.
const general: clhooks.Denormalized<'orders'> = event.denormalize();
const anyField: unknown = general.whatever;
void anyField;
