// Browsers and other ESM runtimes: the wasm is fetched beside this file and compiled
// asynchronously (top-level await), so the module is ready once imported.
import * as core from './core/web.js';
import * as senderCore from './core/sender-web.js';
import * as sourcesCore from './core/sources-web.js';
import { createApi, createHost } from './api.js';

// The three modules, fetched and compiled side by side: simulate() and a receiver's `sources` are
// synchronous, and a page cannot compile a module synchronously on first use.
await Promise.all([
  core.default({ module_or_path: new URL('./clhooks.wasm', import.meta.url) }),
  senderCore.default({ module_or_path: new URL('./clhooks-sender.wasm', import.meta.url) }),
  sourcesCore.default({ module_or_path: new URL('./clhooks-sources.wasm', import.meta.url) }),
]);

export const {
  WebhookError, WebhookEvent, Verifier, sign, verify, receive, parseTopic, matchTopic, denormalize, simulate, simulateLive, deliveryHeaders,
  TOPICS, CATALOGUE, ERROR_CODES, Webhooks, createMemoryStore, keepRawBody, createNodeHandler, expressMiddleware, handleRequest,
} = createApi(core, createHost(globalThis.crypto, { threshold: 2048 }), () => senderCore, () => sourcesCore);
