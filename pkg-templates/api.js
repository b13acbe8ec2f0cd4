// The JavaScript face of clhooks. It takes the wasm core's bindings and shapes them for JS:
// the WebhookError class, event objects with a denormalize() method, the topic constants.
// Every protocol decision (signatures, topics, payload checks) is made in the core.
// The JSDoc types below are the generated ones (index.d.ts, core/web.d.ts): `tsc --checkJs`
// checks this layer against them.

// Shared by the three JS files, which ship concatenated into one module.
/** @typedef {typeof import('./core/web.js')} Core */
/** @typedef {import('./index.js').ErrorDetails} ErrorDetails */
/** @typedef {import('./index.js').EventFields} EventFields */
/** @typedef {import('./index.js').Answer} Answer */
/** @typedef {import('./index.js').Run} Run */
/** @typedef {import('./index.js').Finish} Finish */
/** @typedef {import('./index.js').Claim} Claim */
/** @typedef {import('./index.js').Outcome} Outcome */
/** @typedef {import('./index.js').Output} Output */

/** @param {Core} core */
export function createApi(core) {
  /** The one error type clhooks throws; `code` is stable (see ERROR_CODES). */
  class WebhookError extends Error {
    /**
     * @param {string} code
     * @param {string} message
     * @param {Partial<ErrorDetails>} [details]
     */
    constructor(code, message, details) {
      super(message);
      this.name = 'WebhookError';
      this.code = code;
      /** @type {number} */
      this.status = details?.status ?? 500;
      if (details && typeof details === 'object') {
        for (const [key, value] of Object.entries(details)) {
          if (!(key in this)) this[key] = value;
        }
      }
    }
  }
  core.__setErrorClass(WebhookError);

  const CATALOGUE = Object.freeze(core.catalogue().map((info) => Object.freeze(info)));
  const TOPICS = Object.freeze(CATALOGUE.map((info) => info.topic));
  const ERROR_CODES = Object.freeze(core.errorCodes());

  const maxDepthOf = (options) => (options && options.maxDepth != null ? options.maxDepth : undefined);

  /** A verified delivery. */
  const RAW = Symbol('clhooks.rawBody');

  class WebhookEvent {
    /** @type {object} The payload as the engine parsed it (set from the core's fields). */
    document;

    /** The payload with relationships resolved from `included`. */
    denormalize(options) {
      // From the bytes received when there are any: no re-serializing of `document`.
      return core.denormalize(this[RAW] ?? this.document, maxDepthOf(options));
    }
  }

  /**
   * @param {EventFields & object} fields
   * @param {any} [body] the verified raw body, kept out of sight for denormalize()
   */
  const toEvent = (fields, body) => {
    const event = Object.assign(new WebhookEvent(), fields);
    if (body !== undefined) Object.defineProperty(event, RAW, { value: body });
    return event;
  };

  class Verifier extends core.Verifier {
    receive(body, headers) {
      return toEvent(super.receive(body, headers), body);
    }
  }

  function receive(body, headers, secret) {
    if (secret instanceof core.Verifier) return toEvent(core.Verifier.prototype.receive.call(secret, body, headers), body);
    return toEvent(core.receive(body, headers, secret), body);
  }

  function denormalize(document, options) {
    return core.denormalize(document, maxDepthOf(options));
  }

  const api = {
    WebhookError,
    WebhookEvent,
    toEvent,
    Verifier,
    sign: core.sign,
    deliveryHeaders: core.deliveryHeaders,
    verify: core.verify,
    receive,
    parseTopic: core.parseTopic,
    matchTopic: core.matchTopic,
    denormalize,
    simulate: (scenario, options) => core.simulate(scenario, Boolean(options && options.text)),
    TOPICS,
    CATALOGUE,
    ERROR_CODES,
  };
  const { toEvent: _internal, ...exported } = Object.assign(api, createReceivers(api, core), createLive(core));
  return exported;
}
