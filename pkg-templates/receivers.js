// Receivers: node:http, Express and fetch-style handlers around the core's `receive`. They
// only move bytes and statuses; verification, topics, the status of each error and the
// idempotency key all come from the core.

const DEFAULT_MAX_BODY = 5 * 1024 * 1024;
const JSON_HEADERS = { 'content-type': 'application/json' };

export function createReceivers(api) {
  const { Verifier, WebhookError, matchTopic } = api;

  /** A bounded in-memory seen-store: the oldest keys are forgotten first. */
  function createMemoryStore({ max = 10_000 } = {}) {
    const keys = new Set();
    return {
      has: (key) => keys.has(key),
      add: (key) => {
        keys.delete(key);
        keys.add(key);
        while (keys.size > max) keys.delete(keys.values().next().value);
      },
      get size() {
        return keys.size;
      },
    };
  }

  const answer = (status, body) => ({ status, body: JSON.stringify(body) });

  /** Routes verified deliveries to handlers by topic pattern, with idempotency. */
  class Webhooks {
    constructor(options = {}) {
      const { secret, onEvent, maxBodyBytes = DEFAULT_MAX_BODY, seen, duplicates = 'skip', onError } = options;
      this.verifier = secret instanceof Verifier ? secret : new Verifier(secret);
      this.maxBodyBytes = maxBodyBytes;
      this.seen = seen === undefined ? createMemoryStore() : seen;
      if (duplicates !== 'skip' && duplicates !== 'mark') {
        throw new WebhookError('invalid_argument', "duplicates must be 'skip' or 'mark'");
      }
      this.duplicates = duplicates;
      this.onError = onError;
      this.routes = [];
      // Deliveries being handled, by idempotency key: a retry arriving meanwhile waits for the
      // first one's outcome instead of running the handlers a second time.
      this.inFlight = new Map();
      if (onEvent) this.on('*', onEvent);
    }

    /** Calls `handler(event)` for every verified event whose topic matches `pattern`. */
    on(pattern, handler) {
      matchTopic(pattern, 'orders.place'); // throws invalid_topic_pattern now, not at the first delivery
      this.routes.push({ pattern, handler });
      return this;
    }

    /**
     * The whole exchange, runtime-free: `{ method, body (bytes), headers }` in,
     * `{ status, body }` out. Only throws for a bug in a handler setup, never for a request.
     */
    async process({ method, body, headers, tooLarge = false }) {
      if (method !== 'POST') return answer(405, { error: 'method_not_allowed' });
      if (tooLarge) return answer(413, { error: 'payload_too_large', limit: this.maxBodyBytes });
      let event;
      try {
        event = this.verifier.receive(body, headers);
      } catch (error) {
        if (!(error instanceof WebhookError)) throw error;
        return answer(error.status, { error: error.code, message: error.message });
      }
      const key = event.idempotencyKey;
      let duplicate = this.seen ? Boolean(await this.seen.has(key)) : false;
      const earlier = this.inFlight.get(key);
      if (!duplicate && earlier) duplicate = await earlier;
      if (duplicate && this.duplicates === 'skip') {
        return answer(200, { received: event.topic, duplicate: true });
      }
      event.duplicate = duplicate;
      let settle;
      const handled = new Promise((resolve) => {
        settle = resolve;
      });
      if (!earlier) this.inFlight.set(key, handled);
      try {
        for (const { pattern, handler } of this.routes) {
          if (matchTopic(pattern, event.topic)) await handler(event);
        }
        if (this.seen) await this.seen.add(key);
        settle(true);
      } catch (error) {
        settle(false);
        if (this.onError) this.onError(error, event);
        // A 5xx, so Commerce Layer tries again later.
        return answer(500, { error: 'handler_failed' });
      } finally {
        if (this.inFlight.get(key) === handled) this.inFlight.delete(key);
      }
      return answer(200, duplicate ? { received: event.topic, duplicate: true } : { received: event.topic });
    }

    /** A `node:http` request listener: `http.createServer(webhooks.nodeHandler())`. */
    nodeHandler() {
      return (req, res) => {
        const reply = ({ status, body }) => {
          res.writeHead(status, JSON_HEADERS).end(body);
        };
        if (req.method !== 'POST') {
          req.resume();
          return reply(answer(405, { error: 'method_not_allowed' }));
        }
        readRaw(req, this.maxBodyBytes).then(
          ({ body, tooLarge }) => this.process({ method: 'POST', body, headers: req.headers, tooLarge }).then(reply),
          () => reply(answer(400, { error: 'body_unreadable' })),
        ).catch(() => reply(answer(500, { error: 'handler_failed' })));
      };
    }

    /**
     * Express middleware. It reads the raw body itself, or takes the Buffer that express.raw()
     * left in req.body; if a JSON parser already consumed the body it answers 500 and says how
     * to fix the setup, rather than failing every signature.
     */
    express() {
      return (req, res, next) => {
        const reply = ({ status, body }) => res.status(status).set(JSON_HEADERS).send(body);
        const send = (body, tooLarge = false) =>
          this.process({ method: req.method, body, headers: req.headers, tooLarge }).then(reply).catch(next);
        if (req.method !== 'POST') return send(new Uint8Array());
        if (req.rawBody instanceof Uint8Array) return send(req.rawBody, req.rawBody.length > this.maxBodyBytes);
        if (req.body instanceof Uint8Array) return send(req.body, req.body.length > this.maxBodyBytes);
        if (typeof req.body === 'string') return send(req.body, req.body.length > this.maxBodyBytes);
        if (req.readableEnded || req._body === true || (req.body && typeof req.body === 'object' && Object.keys(req.body).length)) {
          return reply(answer(500, {
            error: 'body_not_raw',
            message: 'A body parser (such as express.json()) read the request before clhooks, so the raw bytes the '
              + 'signature covers are gone. Mount the clhooks middleware before express.json(), or give its route '
              + "express.raw({ type: '*/*' }), or keep the bytes with express.json({ verify: keepRawBody }).",
          }));
        }
        readRaw(req, this.maxBodyBytes).then(({ body, tooLarge }) => send(body, tooLarge), next);
      };
    }

    /** For fetch runtimes (Workers, Deno, Bun, Node 18+): a Request in, a Response out. */
    async fetch(request) {
      const reply = ({ status, body }) => new Response(body, { status, headers: JSON_HEADERS });
      if (request.method !== 'POST') return reply(answer(405, { error: 'method_not_allowed' }));
      const { body, tooLarge } = await readStream(request.body, this.maxBodyBytes);
      return reply(await this.process({ method: 'POST', body, headers: request.headers, tooLarge }));
    }
  }

  /**
   * Reads a fetch body up to `max` bytes; past that it keeps reading to the end (so the client
   * gets the 413 instead of a reset connection) but keeps nothing.
   */
  async function readStream(stream, max) {
    const chunks = [];
    let size = 0;
    if (stream) {
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.length;
        if (size <= max) chunks.push(value);
      }
    }
    return collected(chunks, size, max);
  }

  /** The body from its chunks, or nothing when it went over `max`. */
  function collected(chunks, size, max) {
    const tooLarge = size > max;
    const body = new Uint8Array(tooLarge ? 0 : size);
    let offset = 0;
    for (const chunk of tooLarge ? [] : chunks) {
      body.set(chunk, offset);
      offset += chunk.length;
    }
    return { body, tooLarge };
  }

  /** Reads a Node request stream up to `max` bytes; past that, drains it and says so. */
  function readRaw(req, max) {
    return new Promise((resolve, reject) => {
      const chunks = [];
      let size = 0;
      req.on('data', (chunk) => {
        size += chunk.length;
        if (size <= max) chunks.push(chunk);
      });
      req.on('end', () => resolve(collected(chunks, size, max)));
      req.on('error', reject);
    });
  }

  // handleRequest may get a new options object on every request (they are often written
  // inline): without a store of their own they share this one, so duplicates are still seen.
  const sharedSeen = createMemoryStore();
  const cache = new WeakMap();
  const webhooksFor = (options) => {
    let webhooks = cache.get(options);
    if (!webhooks) {
      webhooks = new Webhooks(options.seen === undefined ? { ...options, seen: sharedSeen } : options);
      cache.set(options, webhooks);
    }
    return webhooks;
  };

  /** For `express.json({ verify: keepRawBody })`: keeps the exact bytes beside the parsed body. */
  function keepRawBody(req, _res, buffer) {
    req.rawBody = buffer;
  }

  return {
    Webhooks,
    createMemoryStore,
    keepRawBody,
    createNodeHandler: (options) => new Webhooks(options).nodeHandler(),
    expressMiddleware: (options) => new Webhooks(options).express(),
    handleRequest: (request, options) => webhooksFor(options).fetch(request),
  };
}
