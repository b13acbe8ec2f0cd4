// Types of the clhooks package. The types of everything that crosses from the core are
// generated from its Rust types (below); the topic and error-code unions are read from the
// built core. What is written here by hand only adds type parameters over them.

/** A topic Commerce Layer is known to send. */
export type KnownTopic = __KNOWN_TOPICS__;

/** A topic: a known one (autocompleted) or any other `{resource}.{event}` string. */
export type Topic = KnownTopic | (string & {});

/** Every `WebhookError.code`. */
export type ErrorCode = __ERROR_CODES__;

/** A raw request body: exactly the bytes received. */
export type Body = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/** One shared secret, or several while rotating (any match passes). */
export type Secret = string | readonly string[];

/** Request headers: a fetch `Headers`, Node's `req.headers`, or name/value pairs, names in any case. */
export type HeadersLike =
  | { get(name: string): string | null; forEach(callback: (value: string, name: string) => void): void }
  | Iterable<readonly [string, string]>
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** The resource side of a topic, such as `orders` for `orders.place`. */
export type ResourceOf<T extends string> = T extends `${infer R}.${string}` ? R : string;

/** The event side of a topic, such as `place` for `orders.place`. */
export type EventOf<T extends string> = T extends `${string}.${infer E}` ? E : string;

/** The one error type clhooks throws; every field of `ErrorDetails` is set where it applies. */
export class WebhookError extends Error {
  readonly name: 'WebhookError';
  /** A stable identifier of what went wrong. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, details?: Partial<ErrorDetails>);
}
export interface WebhookError extends Readonly<ErrorDetails> {}

export interface ResourceIdentifier {
  id: string;
  type: string;
  meta?: Record<string, unknown>;
}

export interface Relationship {
  data?: ResourceIdentifier | ResourceIdentifier[] | null;
  links?: Record<string, string>;
  meta?: Record<string, unknown>;
}

export interface ResourceObject<Type extends string = string> {
  id: string;
  type: Type;
  links?: Record<string, string>;
  attributes?: Record<string, unknown>;
  relationships?: Record<string, Relationship>;
  meta?: { mode?: 'test' | 'live' | (string & {}); organization_id?: string; [key: string]: unknown };
}

export interface Document<Type extends string = string> {
  data: ResourceObject<Type>;
  included?: ResourceObject[];
  meta?: Record<string, unknown>;
  links?: Record<string, unknown>;
}

/** A resource with its attributes flattened and its relationships resolved. */
export interface Denormalized<Type extends string = string> {
  id: string;
  type: Type;
  [field: string]: unknown;
}

/**
 * The resource types `denormalize()` returns, by JSON:API type. Empty here: `import
 * 'clhooks/sdk'` (with `@commercelayer/sdk` installed, a type-only peer) fills it with Commerce
 * Layer's SDK types (`orders` → `Order`...), for the resources of the known topics; without it,
 * or for a resource it does not have, denormalize() gives `Denormalized`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ResourceTypes {}

/** The type of a denormalized resource of JSON:API type `Type`. */
export type TypedResource<Type extends string> = string extends Type ? Denormalized
  : Type extends keyof ResourceTypes ? ResourceTypes[Type] : Denormalized<Type>;

export interface DenormalizeOptions {
  /** How many times one resource may repeat on a path before it is left as an identifier (default 2). */
  maxDepth?: number;
  /** How many objects (resources and identifiers) the output may hold (default 100,000). */
  maxNodes?: number;
  /**
   * How many times the document's size repeating resources may add to the output, past a
   * mebibyte (default 16).
   */
  maxGrowth?: number;
}

// __GENERATED_TYPES__

/** What a topic is: `parseTopic` and every event carry it. */
export type TopicInfo<T extends string = Topic> = Omit<TopicFields, 'topic' | 'resource' | 'event'> & {
  topic: T;
  resource: ResourceOf<T>;
  event: EventOf<T>;
};

/** A verified delivery. */
export interface WebhookEvent<T extends string = Topic> extends Omit<EventFields, 'topic' | 'resource' | 'event' | 'type'> {
  topic: T;
  resource: ResourceOf<T>;
  event: EventOf<T>;
  /** Set by the receivers: whether the seen-store already had this key (with `duplicates: 'mark'`). */
  duplicate?: boolean;
  /** `data.type`, always the topic's resource. */
  type: ResourceOf<T>;
  data: ResourceObject<ResourceOf<T>>;
  included: ResourceObject[];
  document: Document<ResourceOf<T>>;
  /**
   * The payload with relationships resolved from `included`: typed as Commerce Layer's SDK
   * types it once `clhooks/sdk` is imported (`Order` for `orders.place`).
   */
  denormalize(options?: DenormalizeOptions): TypedResource<ResourceOf<T>>;
  /** The event as JSON (`JSON.stringify`), its `idempotencyKey` included. */
  toJSON(): Record<string, unknown>;
}

export declare const WebhookEvent: { prototype: WebhookEvent };

/** Signs a body: the `X-CommerceLayer-Signature` value. */
export function sign(body: Body, secret: string): string;

/**
 * The headers Commerce Layer's sender sends with `body` signed by `secret`, as `[name, value]`
 * pairs (the topic's when given); `Content-Type: application/json` unless `contentType` says otherwise.
 */
export function deliveryHeaders(body: Body, secret: string, topic?: string | null, contentType?: string): [string, string][];

/** Verifies a body against an `X-CommerceLayer-Signature` value; throws `WebhookError`. */
export function verify(body: Body, signature: string | null | undefined, secret: Secret): void;

/** Verifies deliveries with secrets keyed once: build it at start-up and reuse it. */
export class Verifier {
  constructor(secret: Secret);
  /** Throws `WebhookError` unless the signature matches under one of the secrets. */
  verify(body: Body, signature: string | null | undefined): void;
  /**
   * As `verify`, with the runtime's own asynchronous HMAC where it is faster (WebCrypto in
   * Workers and browsers from 2 KiB; node:crypto in Node from 1 KiB).
   */
  verifyAsync(body: Body, signature: string | null | undefined): Promise<void>;
  /** Signs with the first secret. */
  sign(body: Body): string;
  /** As the package's `receive`. */
  receive<T extends string = Topic>(body: Body, headers: HeadersLike): WebhookEvent<T>;
  readonly secretCount: number;
  /** Frees the keys now instead of when garbage-collected. */
  free(): void;
}

/**
 * Verifies and reads a delivery: the signature, then the `X-CommerceLayer-Topic` header, then
 * the JSON:API document, then that the topic is about `data.type`. Throws `WebhookError`.
 */
export function receive<T extends string = Topic>(body: Body, headers: HeadersLike, secret: Secret | Verifier): WebhookEvent<T>;

/** Parses `{resource}.{event}`; throws `WebhookError` (`invalid_topic`). */
export function parseTopic<T extends string>(name: T): TopicInfo<T>;

/** Whether a topic matches a pattern (`*`, `orders.*`, `*.destroy`, `orders.place`). */
export function matchTopic(pattern: string, name: string): boolean;

/** Resolves a document's relationships against `included`. */
export function denormalize(document: Document | Body, options?: DenormalizeOptions): Denormalized;

/** One decision of the sender. */
export type TimelineEntry = Output;

/** What `simulate` and `simulateLive` return; `text` (with `{ text: true }`) is the report as the CLI prints it: `lines[i]` tells `timeline[i]` (`null` for an attempt's hand-out). */
export type SimulationReport = Report & { text?: { lines: (string | null)[]; summary: string } };

/** Runs a scenario through Commerce Layer's delivery, retry and circuit-breaker rules on a virtual clock. */
export function simulate(scenario: Scenario | string, options?: { text?: boolean }): SimulationReport;

/**
 * A seen-store for idempotency, synchronous or not, with an atomic claim that expires. `claim`
 * answers `'fresh'` (the key is the caller's until `done` or `release`, or until `terms.leaseMs`
 * runs out: a holder that died frees it), `'duplicate'` (handled already) or `'in_flight'`
 * (another copy is being handled); or `{ held }`, what a Redis `SET key f:<token> NX PX lease
 * GET` found (`null`: taken now; `createRedisStore` claims so), which the core reads. `done`
 * records the key as handled for at least
 * `terms.keepMs`; `release` gives it up after a failed handler, so the retry runs. A store that
 * throws, rejects or takes longer than the receiver waits (`storeTimeoutMs`) gets 503
 * `store_unavailable`, so that Commerce Layer retries. Shared ones: `createRedisStore`
 * (`clhooks/redis`) and `createDurableObjectStore` (`clhooks/cloudflare`).
 */
export interface SeenStore {
  claim(key: string, terms: Terms): Claim | { held: string | null } | Promise<Claim | { held: string | null }>;
  done(key: string, terms: Terms): void | Promise<void>;
  release(key: string): void | Promise<void>;
  /**
   * A store that keeps the failure streaks every instance shares has both of these: `count`
   * applies the core's count rule to the arguments the core made (`[webhook, ...]`) and gives
   * its reply; `tallies` gives `[[webhook, fields], ...]` for the core's report.
   */
  count?(args: string[]): Promise<unknown>;
  tallies?(): Promise<[string, unknown][]>;
  /**
   * Such a store may also end a claim (as `done` when `handled`, as `release` otherwise) and
   * count in one step, giving the count's reply: the receiver then folds the count of the
   * answer that waits for the end into it (no round trip of its own).
   */
  endCounting?(key: string, handled: boolean, terms: Terms, args: string[]): Promise<unknown>;
  /** The key prefix, and whether the client is a cluster's (folded only under a hash tag there). */
  prefix?: string;
  cluster?: boolean;
}

/** The topics a pattern matches: `orders.*` gives `orders.${string}`. */
export type TopicsOf<P extends string> = P extends '*' | '*.*' ? Topic
  : P extends `*.${infer E}` ? `${string}.${E}`
  : P extends `${infer R}.*` ? `${R}.${string}`
  : P;

export interface ReceiverOptions {
  /** The webhook's shared secret, several during a rotation (any match passes), or a Verifier. */
  secret: Secret | Verifier;
  /** Called for every verified event; answer within Commerce Layer's 5 s (see the README). */
  onEvent?: (event: WebhookEvent) => unknown;
  /** Bodies over this size get 413 (default 5 MiB; real payloads are tens of KB). */
  maxBodyBytes?: number;
  /**
   * How long the handlers of a delivery may run before a caller still waiting is answered 503
   * `handler_timeout` (default 30,000 ms; 0: no limit). Their claim is kept until they end, so
   * Commerce Layer's retries get 409 and then a duplicate, or until its lease (`leaseMs`) ends.
   */
  handlerTimeoutMs?: number;
  /**
   * What the idempotency key is made of: the topic and the body (`'topic-and-body'`, the
   * default), or the body alone (`'body'`). The topic header is not signed: with `'body'`, one
   * signed body resent under other topics of its resource is handled once.
   */
  keyScope?: 'topic-and-body' | 'body';
  /** Where idempotency keys are remembered (default: the last 10,000 in memory); `null` turns it off. */
  seen?: SeenStore | null;
  /**
   * How long a claim lasts when its holder never ends it (a process killed mid-handler, a
   * handler that never returns): longer than `handlerTimeoutMs` + `storeTimeoutMs` (default: 13 s
   * more than both, 45,000 ms).
   */
  leaseMs?: number;
  /** How long a shared store keeps a handled key (default 15,525,000 ms: Commerce Layer's 4 h 18 min 45 s retry window). */
  keepMs?: number;
  /** How long to wait for the store's answer to a claim before answering 503 `store_unavailable` (default 2,000 ms). */
  storeTimeoutMs?: number;
  /**
   * A copy another instance is handling right now: answered 409 so that Commerce Layer retries it
   * later (`'retry'`, default), or 200 with `in_flight: true`, trusting that instance (`'accept'`).
   */
  inFlight?: InFlight;
  /** A duplicate is answered 200 without calling handlers (`'skip'`, default) or passed on with `duplicate: true` (`'mark'`). */
  duplicates?: Duplicates;
  /**
   * Told of an error a handler threw (the answer is then 500, so Commerce Layer retries), of a
   * handler still running at Commerce Layer's 5 s deadline (a `WebhookError` `deadline_exceeded`)
   * and of a seen-store that could not record a key (`store_unavailable`); of a webhook's failure
   * streak reaching 5 and 30 (`failure_streak`, with `streak`, `topic`, `circuit`) and ending
   * (`failure_streak_ended`), with no event for a streak of signature mismatches;
   * `console.error` (a streak: `console.warn`) when unset, nothing with `null`.
   */
  onError?: ((error: unknown, event: WebhookEvent | undefined) => void) | null;
  /**
   * Receive only from these addresses (off by default): any other caller gets 403
   * `forbidden_source` before anything is verified. `allow` lists addresses and CIDR blocks,
   * `'commercelayer'` for Commerce Layer's published ones; behind a proxy, `proxies` lists the
   * trusted ones and `forwarded` names what they say: `'x-forwarded-for'`, or a header the
   * platform sets to the caller's address (`'cf-connecting-ip'` in a Worker, which has no peer).
   */
  sources?: { allow: string | string[]; proxies?: string | string[]; forwarded?: 'x-forwarded-for' | (string & {}) };
  /**
   * Handoff mode: each verified delivery is written to this durable queue and answered 200
   * (`handed_off: true`) once the queue holds it; workers (`webhooks.worker()`, `createWorker`)
   * run the handlers later. A queue that fails, or is slower than `storeTimeoutMs`, gets 503
   * `queue_unavailable`, so Commerce Layer retries. See docs/handoff.md.
   */
  queue?: Queue | null;
  /**
   * An OpenTelemetry Meter (`metrics.getMeter('my-app')` from `@opentelemetry/api`; the package
   * imports nothing of OpenTelemetry): `clhooks.deliveries` by topic and outcome,
   * `clhooks.answer.duration` and `clhooks.handler.duration` in seconds, and the gauge
   * `clhooks.failure_streak` per webhook. See docs/health.md.
   */
  meter?: OpenTelemetryMeter | null;
  /** A pino- or console-style logger: one record per request answered (`info`, `warn` when it failed), never a secret, signature or body. */
  logger?: { info(object: object, message: string): unknown; warn(object: object, message: string): unknown } | null;
}

/** What clhooks uses of an OpenTelemetry `Meter` (`@opentelemetry/api`). */
export interface OpenTelemetryMeter {
  createCounter(name: string, options?: object): { add(value: number, attributes?: object): void };
  createHistogram(name: string, options?: object): { record(value: number, attributes?: object): void };
  createObservableGauge(name: string, options?: object): { addCallback(callback: (result: { observe(value: number, attributes?: object): void }) => void | Promise<void>): void };
}

/**
 * A queued delivery: the version (`'1'`), its idempotency key, the topic and signature headers,
 * when it was received (ms since the epoch), how many runs failed before (all decimal strings),
 * and the body's exact bytes. Workers verify it again before running it.
 */
export interface QueuedRecord {
  v: string;
  key: string;
  topic: string;
  sig: string;
  rcv: string;
  attempt: string;
  body: Uint8Array;
}

/** A message a queue hands a worker: its id in the queue, how many times it was handed out, and its record (an object, or its fields `[name, value, ...]`). */
export interface QueueMessage {
  id: string;
  deliveries: number;
  record: QueuedRecord | (string | Uint8Array)[];
  [more: string]: unknown;
}

/** How a worker settles a message, as the core decides. */
export type QueueOutcome =
  | { type: 'done'; keepMs: number }
  | { type: 'retry'; attempts: number; delayMs: number }
  | { type: 'dead'; attempts: number; reason: 'handler_failed' | 'unverified' | 'invalid_record' | 'abandoned'; error: string }
  | { type: 'release' };

/**
 * A durable queue for handoff mode: `createRedisQueue` (`clhooks/redis`), `createMemoryQueue`
 * (in-process, not durable), or one on another engine (docs/handoff.md). `enqueue` resolves
 * once the record is stored durably; with `claims: true` it can claim the key in the same step
 * (`{ claim: true }`) and answers as a seen-store's claim does.
 */
export interface Queue {
  readonly claims?: boolean;
  enqueue(record: QueuedRecord, options: { claim: boolean; keepMs: number }): Claim | void | Promise<Claim | void>;
  /** Up to `count` messages: due retries, messages idle `reclaimIdleMs` (a dead worker's), then new ones, waiting up to `blockMs`. */
  take?(count: number, options: { blockMs: number; reclaimIdleMs: number; consumer: string }): QueueMessage[] | Promise<QueueMessage[]>;
  /** The worker still holds the message (a heartbeat): whether it is still its. */
  extend?(message: QueueMessage): boolean | Promise<boolean>;
  /** Settles a message, only while it is still the worker's: whether it was. */
  settle?(message: QueueMessage, outcome: QueueOutcome): boolean | Promise<boolean>;
  /** A worker stopped: free what it used (a connection). */
  leave?(consumer: string): void;
  /** How a worker's metrics and logs name the queue: OpenTelemetry's `messaging.system`, `messaging.destination.name`, `messaging.consumer.group.name`. */
  readonly messaging?: Record<string, string>;
}

/** A dead letter: its id, its record, why it failed (`reason`, the last `error`), and when. */
export interface DeadLetter {
  id: string;
  record: QueuedRecord;
  reason: string;
  error: string;
  failedAt: number;
}

/** A queue that keeps dead letters, to list, show and replay. */
export interface DeadLetters {
  deadLetters(options?: { count?: number; after?: string }): DeadLetter[] | Promise<DeadLetter[]>;
  deadLetter(id: string): DeadLetter | undefined | Promise<DeadLetter | undefined>;
  /** Moves dead letters back to the queue (those of `ids`, or all), their attempts counted afresh: how many. */
  replay(ids?: string[]): number | Promise<number>;
}

export interface WorkerOptions {
  /** The webhook's secret(s): every record is verified again before it runs. Keep the old one while rotating. */
  secret: Secret | Verifier;
  /** The queue to take from. */
  queue: Queue;
  /**
   * A seen-store in which each message's run is claimed first, so that a delivery a queue holds
   * twice runs once (a queue that cannot claim keys, Cloudflare Queues); `webhooks.worker()` gives
   * the receiver's, which is none with a queue that claims (Redis, memory).
   */
  seen?: SeenStore | null;
  /** Told of a handler's error, `dead_lettered`, `handler_timeout` and `queue_unavailable`; `console.error` when unset, nothing with `null`. */
  onError?: ((error: unknown, event: WebhookEvent | undefined) => void) | null;
  /** Runs of a message before the dead letters (default 10). */
  maxAttempts?: number;
  /** The first retry's delay, doubled for each next one (default 5,000 ms). */
  retryMs?: number;
  /** The longest delay (default 3,600,000 ms). */
  retryCapMs?: number;
  /** A message without its worker's heartbeat this long is reclaimed by another (default 60,000 ms; a heartbeat comes every third of it). */
  reclaimIdleMs?: number;
  /** Messages run at once (default 16). */
  concurrency?: number;
  /** How long a read waits for a message (default 2,000 ms). */
  blockMs?: number;
  /** A run longer than this counts as failed (default 900,000 ms; 0: no limit). */
  handlerTimeoutMs?: number;
  /** How long to wait for the queue, past a read's wait, before counting the call as failed (default 5,000 ms). */
  queueTimeoutMs?: number;
  /** How long a handled key is kept (default 15,525,000 ms). */
  keepMs?: number;
  maxBodyBytes?: number;
  keyScope?: 'topic-and-body' | 'body';
  /** An OpenTelemetry Meter: handler durations (`clhooks.handler.duration`) and settled messages (`clhooks.messages`), with the queue's `messaging.*` attributes; `webhooks.worker()` gives the receiver's. */
  meter?: OpenTelemetryMeter | null;
  /** A pino- or console-style logger: one record per message settled (`info` when done, `warn` otherwise); `webhooks.worker()` gives the receiver's. */
  logger?: { info(object: object, message: string): unknown; warn(object: object, message: string): unknown } | null;
}

/** Runs the handlers of queued deliveries: `createWorker({ secret, queue }).on('orders.*', handler).start()`. */
export interface Worker {
  on<P extends string>(pattern: P, handler: (event: WebhookEvent<TopicsOf<P>>) => unknown): this;
  /** Starts taking messages. */
  start(): this;
  /** Takes nothing more, lets what runs finish for `graceMs` (default 30 s), then hands back what still runs. */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** How many messages it holds. */
  readonly busy: number;
}

/** A worker on `queue`. */
export function createWorker(options: WorkerOptions): Worker;

/** A record as one message's bytes (its head as JSON, a newline, the body as it is), for a queue that carries bytes; over `limit`, `record_too_large`. */
export function encodeRecord(record: QueuedRecord, options?: { limit?: number }): Uint8Array;

/** The record `encodeRecord` made, back. */
export function decodeRecord(bytes: Uint8Array | ArrayBuffer): QueuedRecord;

/**
 * An in-process queue with the Redis queue's API, for development and tests. It is NOT durable:
 * what it holds is lost when the process stops, and only workers in the same process see it.
 */
export function createMemoryQueue(options?: { max?: number }): Queue & DeadLetters & {
  readonly durable: false;
  readonly size: { ready: number; delayed: number; held: number; dead: number };
};

/** One webhook's failure streak, as `health()` reports it. */
export interface WebhookHealth {
  /** The topic (of unverified requests: the one they claimed, or `unknown`). */
  topic: string;
  /** `false`: the signature mismatches claiming this topic, a streak of their own. */
  verified: boolean;
  /** Where several secrets are set, each is a webhook of its own: its place among this receiver's secrets (1 for the first), or `'another'` (a shared store's, set on another instance). */
  secret?: number | 'another';
  /** Consecutive failed attempts. */
  streak: number;
  /** What Commerce Layer has done, estimated: `notice` from 5 (the owner e-mailed), `open` from 30. */
  circuit: 'closed' | 'notice' | 'open';
  /** The last failed attempt: its answer's code (or `late`: a 2xx after 5 s), status and time. */
  last_failure?: { reason: string; status: number; at: string };
  /** When the last attempt succeeded (ISO 8601). */
  last_success?: string;
}

/** What `health()` reports: `open` once a verified webhook's estimated circuit is open. */
export interface HealthReport {
  status: 'ok' | 'failing' | 'open';
  webhooks: WebhookHealth[];
  /** That the counts are a lower bound of Commerce Layer's. */
  note: string;
}

/** Verified deliveries routed by topic pattern, for node:http, Express and fetch runtimes. */
export class Webhooks {
  constructor(options: ReceiverOptions);
  /** Calls `handler` for every verified event whose topic matches (`*`, `orders.*`, `*.destroy`, `orders.place`); in handoff mode, on the workers `worker()` makes. */
  on<P extends string>(pattern: P, handler: (event: WebhookEvent<TopicsOf<P>>) => unknown): this;
  /** In handoff mode: a worker running these handlers on what this receiver queued (its secret and onError; `options` sets the rest). */
  worker(options?: Partial<WorkerOptions>): Worker;
  /**
   * A Cloudflare Queues consumer (the Worker's `queue(batch, env, ctx)`) running these handlers on
   * what `createCloudflareQueue` queued: acked, or retried after the core's backoff; Cloudflare's
   * `max_retries` and dead-letter queue decide the last attempt.
   */
  queueHandler(options?: Partial<WorkerOptions>): (batch: { messages: readonly { id: string; body: unknown; attempts: number; ack(): void; retry(options?: { delaySeconds?: number }): void }[] }, env?: unknown, ctx?: unknown) => Promise<void>;
  /** `http.createServer(webhooks.nodeHandler())`. */
  nodeHandler(): (req: NodeRequest, res: NodeResponse) => void;
  /** Express middleware: mounted before express.json(), or after `express.json(webhooks.jsonOptions())` or express.raw(). */
  express(): (req: any, res: any, next: (error?: unknown) => void) => void;
  /** For `express.json()` mounted before the webhook route: clhooks' body limit and `keepRawBody`. */
  jsonOptions(): { limit: number; verify: typeof keepRawBody };
  /** Workers, Deno, Bun, Node 18+: a Request in, a Response out. */
  fetch(request: Request, peer?: string, ctx?: { waitUntil(promise: Promise<unknown>): void }): Promise<Response>;
  /** Cloudflare Workers: `fetch(request, ctx)`, whose `waitUntil` keeps a shared store's failure-streak count alive past the answer. */
  fetch(request: Request, ctx: { waitUntil(promise: Promise<unknown>): void }): Promise<Response>;
  /** Bodies over this many bytes are answered 413. */
  readonly maxBodyBytes: number;
  /** With `sources` set: the 403 answer for a caller outside the allow-list, else `undefined` (what the adapters ask before reading a body). */
  refused(peer: string | undefined, headers: HeadersLike): Answer | undefined;
  /** The core's answer when receiving itself failed (what `process` rejected with): for adapters. */
  failure(error: unknown): Answer;
  /**
   * The failure streaks this receiver counted, per webhook, as Commerce Layer counts them (not a
   * 2xx, or later than 5 s): a lower bound of Commerce Layer's, since attempts that never reached
   * the receiver are not in them. No secret, payload or fingerprint is in it.
   */
  health(): Promise<HealthReport>;
  /** The health endpoint's answer: 200 while healthy, 503 once a webhook's estimated circuit is open. */
  healthAnswer(): Promise<Answer>;
  /** A health endpoint for node:http or Express: `app.get('/webhooks/health', webhooks.healthHandler())`. */
  healthHandler(): (req: any, res: NodeResponse) => void;
  /** The health endpoint for fetch runtimes. */
  healthResponse(): Promise<Response>;
  /**
   * For adapters that answer themselves: counts `answer`, given to a verified delivery, in its
   * webhook's failure streak (`arrived`: when the request came, on `performance.now()`), and tells
   * onError a threshold crossed (`failure_streak`, `failure_streak_ended`). A promise (never
   * rejected) when a shared store counts: keep it alive where the runtime ends a request's work
   * with its answer (`waitUntil`).
   */
  count(event: { topic: string; id?: string }, answer: Answer, arrived: number): Promise<void> | undefined;
  /**
   * For node:http adapters: sends `answer` to a request whose body was left unread (over the
   * limit, a refused caller), then reads and drops the rest of the body within the core's bounds
   * before the connection closes, so that a client still sending can read the answer.
   */
  answerUnread(req: any, res: any, answer: Answer): void;
  /**
   * For node:http adapters that write their own answer to such a request: reads and drops what
   * the client still sends within the core's bounds, then calls `end` (which ends the answer).
   */
  linger(req: any, end: () => void): void;
  /** The exchange without any runtime: what the adapters call. */
  /**
   * `arrived`: when the adapter first saw the request, on `performance.now()` (the failure
   * streak's 5 s count from it; now by default). `keep`: given the promise of a shared store's
   * count, for runtimes that end a request's work with its answer (`ctx.waitUntil`).
   */
  process(request: { method: string; body: Body; headers: HeadersLike; peer?: string; tooLarge?: boolean; arrived?: number; keep?: (promise: Promise<unknown>) => void }): Promise<Answer>;
}

/** The parts of node:http's IncomingMessage and ServerResponse the handler uses. */
export interface NodeRequest {
  method?: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  resume(): unknown;
  /** The connection, for its `remoteAddress` (the `sources` allow-list). */
  socket?: { remoteAddress?: string };
}
export interface NodeResponse {
  writeHead(status: number, headers?: Record<string, string>): NodeResponse;
  end(body?: string): unknown;
}

/** For `express.json({ verify: keepRawBody })`: keeps the exact bytes as `req.rawBody` for the webhook middleware. */
export function keepRawBody(req: object, res: unknown, buffer: Uint8Array): void;

/** A bounded in-memory seen-store (the default): the last `max` (10,000) handled keys, the oldest forgotten first. */
export function createMemoryStore(options?: { max?: number }): SeenStore & { readonly size: number; claim(key: string, terms?: Terms): Claim; done(key: string, terms?: Terms): void; release(key: string): void };

/** `http.createServer(createNodeHandler({ secret, onEvent }))`. */
export function createNodeHandler(options: ReceiverOptions): (req: NodeRequest, res: NodeResponse) => void;

/** `app.post('/hooks', expressMiddleware({ secret, onEvent }))`. */
export function expressMiddleware(options: ReceiverOptions): (req: any, res: any, next: (error?: unknown) => void) => void;

/** `return handleRequest(request, { secret, onEvent })` in a fetch handler; calls without a `seen` of their own share one in-memory store. */
export function handleRequest(request: Request, options: ReceiverOptions, peer?: string): Promise<Response>;

/**
 * Delivers a scenario over real HTTP with `fetch`, driven by the same sender state machine:
 * signed requests, Commerce Layer's retries and breaker, each call aborted after the policy's
 * timeout (5 s). Waits between retries and events are compressed by `timeScale` (0.001 turns
 * 15 s into 15 ms). `target` replaces the origin of every callback URL, or per host.
 */
export function simulateLive(
  scenario: Scenario | string,
  options?: {
    timeScale?: number;
    target?: string | Record<string, string>;
    fetch?: typeof fetch;
    onEntry?: (entry: TimelineEntry) => void;
    /** Add the report's `text`. */
    text?: boolean;
  },
): Promise<SimulationReport>;

/** Every known topic. */
export const TOPICS: readonly KnownTopic[];

/** Every known topic with its resource, event and trigger description. */
export const CATALOGUE: readonly { topic: KnownTopic; resource: string; event: string; description: string | null }[];

/** Every error code. */
export const ERROR_CODES: readonly ErrorCode[];
