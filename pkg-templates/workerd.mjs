// Cloudflare Workers (workerd): Workers forbid compiling wasm from bytes at run time, so the
// .wasm is imported as a module, compiled at deploy time, and instantiated synchronously.
import wasmModule from './clhooks.wasm';
import senderModule from './clhooks-sender.wasm';
import sourcesModule from './clhooks-sources.wasm';
import workerModule from './clhooks-worker.wasm';
import { createCore } from './core/web.js';
import { createCore as createSenderCore } from './core/sender-web.js';
import { createCore as createSourcesCore } from './core/sources-web.js';
import { createCore as createWorkerCore } from './core/worker-web.js';
import { createApi, createHost } from './api.js';

export const {
  WebhookError, WebhookEvent, Verifier, sign, verify, receive, parseTopic, matchTopic, denormalize, simulate, simulateLive, deliveryHeaders,
  TOPICS, CATALOGUE, ERROR_CODES, Webhooks, createMemoryStore, createMemoryQueue, createWorker, encodeRecord, decodeRecord, keepRawBody, createNodeHandler, expressMiddleware, handleRequest,
} = createApi(() => createCore(wasmModule), createHost(globalThis.crypto, { threshold: 2048 }),
  // Compiled at deploy time like the other; instantiated on first use only. The allow-list's
  // is for receivers that set `sources` (with forwarded: 'cf-connecting-ip').
  () => createSenderCore(senderModule), () => createSourcesCore(sourcesModule), () => createWorkerCore(workerModule));
