// Code a user would write with `require`.
import clhooks = require('clhooks');

const event: clhooks.WebhookEvent<'orders.place'> = clhooks.receive<'orders.place'>('{}', {}, 'secret');
const resource: 'orders' = event.resource;
const error = new clhooks.WebhookError('signature_mismatch', 'message');
// @ts-expect-error codes are a closed union
new clhooks.WebhookError('nope', 'message');
void [resource, error];
