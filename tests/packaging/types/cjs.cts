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

// The subpaths, as `require` gives them, over the same declarations as `clhooks` itself.
import redis = require('clhooks/redis');
import clhooksFastify = require('clhooks/fastify');
import lambda = require('clhooks/lambda');
// Only a Worker's bundle resolves this one (Wrangler takes the workerd condition for require too).
import cloudflare = require('clhooks/cloudflare');

const shared: clhooks.SeenStore = redis.createRedisStore({}, { prefix: 'shop:' });
const prefix: string = redis.createRedisStore({}).prefix;
// @ts-expect-error options are an object
redis.createRedisStore({}, 'shop:');
const durable: clhooks.SeenStore = cloudflare.createDurableObjectStore({});
const durableObject: Promise<void> = new cloudflare.SeenStoreObject({}, {}).alarm();

// fastify.cjs's module.exports is the plugin, also under .default and .clhooksFastify.
const options: clhooksFastify.ClhooksFastifyOptions = { webhooks: new clhooks.Webhooks({ secret: 's' }), path: '/hooks' };
const plugins: ((fastify: any, options: clhooksFastify.ClhooksFastifyOptions) => Promise<void>)[] = [
  clhooksFastify, clhooksFastify.default, clhooksFastify.clhooksFastify,
];
// @ts-expect-error the plugin needs a secret or a Webhooks
clhooksFastify({}, { path: '/webhooks' });

const handler = lambda.createLambdaHandler(new clhooks.Webhooks({ secret: 's' }));
const result: Promise<lambda.LambdaHttpResult> = handler({ requestContext: { http: { method: 'POST' } }, body: '{}' });
const answered: Promise<[number, string, false]> = result.then((r) => [r.statusCode, r.body, r.isBase64Encoded]);
// @ts-expect-error a Lambda handler takes receiver options or a Webhooks
lambda.createLambdaHandler({ path: '/hooks' });
void [shared, prefix, durable, durableObject, options, plugins, answered];
