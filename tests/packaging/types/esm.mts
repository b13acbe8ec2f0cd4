// Code a user would write with `import`; each @ts-expect-error line must stay an error.
import {
  receive, verify, sign, Verifier, parseTopic, matchTopic, denormalize, WebhookError,
  TOPICS, CATALOGUE, ERROR_CODES, simulate,
  Webhooks, createNodeHandler, expressMiddleware, handleRequest, keepRawBody, createMemoryStore,
  type ErrorCode, type KnownTopic, type Topic, type WebhookEvent, type Denormalized, type SeenStore,
  type Scenario, type TimelineEntry,
} from 'clhooks';
import { createRedisStore } from 'clhooks/redis';
import { createDurableObjectStore } from 'clhooks/cloudflare';
import clhooksFastify from 'clhooks/fastify';
import 'clhooks/sdk';
import type { Order, Shipment } from '@commercelayer/sdk';
import { createLambdaHandler, type LambdaHttpResult } from 'clhooks/lambda';

const body: Uint8Array = new TextEncoder().encode('{}');
const signature: string = sign(body, 'secret');
verify(body, signature, ['new', 'old']);
verify('{}', undefined, 'secret');
verify(new ArrayBuffer(2), signature, 'secret');
// @ts-expect-error a parsed object is not a body
verify({ data: {} }, signature, 'secret');
// @ts-expect-error secrets are strings
new Verifier(42);

const verifier = new Verifier(['new', 'old']);
const count: number = verifier.secretCount;
const headers = new Headers({ 'X-CommerceLayer-Signature': signature });
const event: WebhookEvent = verifier.receive(body, headers);
const other = receive(body, { 'x-commercelayer-signature': [signature] }, verifier);
const pairs = receive(body, [['x-commercelayer-topic', 'orders.place']], 'secret');
const placed = receive<'orders.place'>(body, headers, 'secret');
const resource: 'orders' = placed.resource;
const kind: 'orders' = placed.data.type;
const eventName: 'place' = placed.event;
// @ts-expect-error an orders.place event is about orders
const wrong: 'shipments' = placed.resource;
// clhooks/sdk is imported below: an orders.place payload is the SDK's Order.
const order: Order = placed.denormalize({ maxDepth: 3 });
const status: string = order.status;
const mode: string | undefined = event.data.meta?.mode;

const known: KnownTopic = 'orders.place';
// @ts-expect-error not a known topic
const unknownKnown: KnownTopic = 'orders.explode';
const anyTopic: Topic = 'orders.explode';
const topics: readonly KnownTopic[] = TOPICS;
const info = parseTopic('shipments.ship');
const shipments: 'shipments' = info.resource;
const description: string | null = CATALOGUE[0].description;
const matches: boolean = matchTopic('orders.*', other.topic);
const tree = denormalize(pairs.document);

try {
  verify(body, signature, 'secret');
} catch (e) {
  if (e instanceof WebhookError) {
    const code: ErrorCode = e.code;
    const hint = e.hint;
    // Every field the bindings set is declared.
    const httpStatus: number = e.status;
    const length: number | undefined = e.length;
    const topic: string | undefined = e.topic;
    const dataType: string | undefined = e.dataType;
    const input: string | undefined = e.input;
    // @ts-expect-error no such field
    void e.byte;
    void [httpStatus, length, topic, dataType, input];
    // @ts-expect-error codes are a closed union
    const bogus: ErrorCode = 'no_such_code';
    void [code, hint, bogus];
  }
}
const codes: readonly ErrorCode[] = ERROR_CODES;

// Receivers: handlers are typed by the topics their pattern matches.
const webhooks = new Webhooks({ secret: ['new', 'old'], seen: null, duplicates: 'mark' })
  .on('orders.*', (e) => {
    const r: 'orders' = e.resource;
    const key: string = e.idempotencyKey;
    void [r, key];
  })
  .on('*.destroy', (e) => {
    const ev: 'destroy' = e.event;
    void ev;
  })
  .on('shipments.ship', (e) => {
    // @ts-expect-error a shipments.ship event is about shipments
    const r: 'orders' = e.resource;
    void r;
  });
const nodeListener: (req: any, res: any) => void = createNodeHandler({ secret: 's', onEvent: (e) => e.topic });
const response: Promise<Response> = handleRequest(new Request('http://x'), { secret: 's' });
// @ts-expect-error duplicates is 'skip' or 'mark'
new Webhooks({ secret: 's', duplicates: 'drop' });
void [webhooks.fetch, nodeListener, response, expressMiddleware, keepRawBody, createMemoryStore({ max: 10 }).size];

// A seen-store claims atomically, with the core's terms; an async one too.
const redisLike: SeenStore = {
  claim: async (key, terms) => (key && terms.leaseMs > terms.waitMs ? 'fresh' : 'in_flight'),
  done: async (_key, terms) => void terms.keepMs,
  release: async (_key) => {},
};
// @ts-expect-error claim answers 'fresh', 'duplicate' or 'in_flight'
const badStore: SeenStore = { claim: () => 'new', done: () => {}, release: () => {} };
// @ts-expect-error a store releases failed claims too
const noRelease: SeenStore = { claim: () => 'fresh', done: () => {} };
new Webhooks({ secret: 's', seen: redisLike, leaseMs: 60_000, keepMs: 86_400_000, storeTimeoutMs: 1_000, inFlight: 'accept' });
// @ts-expect-error inFlight is 'retry' or 'accept'
new Webhooks({ secret: 's', inFlight: 'wait' });
const shared: SeenStore = createRedisStore({}, { prefix: 'shop:' });
void [noRelease, shared, createDurableObjectStore];

// The framework adapters.
const plugin: (fastify: any, options: { path?: string; secret: string }) => Promise<void> = clhooksFastify;
// @ts-expect-error the plugin needs a secret or a Webhooks
clhooksFastify({}, { path: '/webhooks' });
const lambda = createLambdaHandler({ secret: 's', onEvent: (e) => e.topic });
const result: Promise<LambdaHttpResult> = lambda({ httpMethod: 'POST', headers: {}, body: '{}', isBase64Encoded: false });
void [plugin, result];

// Scenarios and reports are the Rust types.
const scenario: Scenario = {
  webhooks: [{ id: 'w', topic: 'orders.place', callback_url: 'https://x.example/h', shared_secret: 's' }],
  endpoints: { 'https://x.example/h': { script: [500, 'timeout', 'error'] } },
  actions: [{ at_ms: 0, webhook: 'w', _reset_circuit: true, credential: 'sales_channel' }],
};
const report = simulate(scenario, { text: true });
const entry: TimelineEntry | undefined = report.timeline[0];
if (entry?.kind === 'attempt_finished') {
  const succeeded: boolean = entry.success;
  void succeeded;
}
const lines: (string | null)[] | undefined = report.text?.lines;
// @ts-expect-error a script step is a status, 'timeout' or 'error'
const slow: Scenario = { webhooks: [], endpoints: { u: { script: ['slow'] } } };
// @ts-expect-error credentials are a closed set
const admin: Scenario = { webhooks: [], actions: [{ at_ms: 0, webhook: 'w', credential: 'admin' }] };
void [lines, badStore, slow, admin];

void [count, resource, kind, eventName, wrong, status, mode, known, unknownKnown, anyTopic, topics, shipments,
  description, matches, tree, codes];

// With clhooks/sdk, denormalize() is typed as Commerce Layer's SDK types it.
new Webhooks({ secret: 's' })
  .on('orders.place', (event) => {
    const order: Order = event.denormalize();
    const number: string | null | undefined = order.number;
    const skus: (string | null | undefined)[] | undefined = order.line_items?.map((item) => item.sku_code);
    // @ts-expect-error a typo in a field is a compile error
    void order.numbr;
    // @ts-expect-error an order is not a shipment
    const shipment: Shipment = event.denormalize();
    void [number, skus, shipment];
  })
  .on('shipments.*', (event) => {
    const shipment: Shipment = event.denormalize();
    void shipment.status;
  })
  .on('*', (event) => {
    // Any topic: the resource is not known ahead, so it is the general shape.
    const resource = event.denormalize();
    const id: string = resource.id;
    void id;
  });
// A topic outside the catalogue stays unknown-typed.
const widget = receive<'widgets.spin'>(body, headers, 'secret').denormalize();
const spun: unknown = widget.anything;
const kindOfOther: 'widgets' = widget.type;
void [spun, kindOfOther];
