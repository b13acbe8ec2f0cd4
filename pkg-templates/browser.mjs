// Browsers and other ESM runtimes: the wasm is fetched beside this file and compiled
// asynchronously (top-level await), so the module is ready once imported.
import { createCore } from './core/web.js';
import { createCore as createSenderCore } from './core/sender-web.js';
import { createCore as createSourcesCore } from './core/sources-web.js';
import { createApi, createHost } from './api.js';

/** A .wasm beside this file, fetched and compiled. */
const compile = async (name) => {
  const response = await fetch(new URL(`./${name}`, import.meta.url));
  if (!response.ok) throw new Error(`clhooks: cannot fetch ${name}: ${response.status} ${response.statusText}`);
  return WebAssembly.compile(await response.arrayBuffer());
};
// The three modules, fetched and compiled side by side: simulate() and a receiver's `sources` are
// synchronous, and a page cannot compile a module synchronously on first use.
const [receiverModule, senderModule, sourcesModule] = await Promise.all(
  ['clhooks.wasm', 'clhooks-sender.wasm', 'clhooks-sources.wasm'].map(compile),
);

export const {
  WebhookError, WebhookEvent, Verifier, sign, verify, receive, parseTopic, matchTopic, denormalize, simulate, simulateLive, deliveryHeaders,
  TOPICS, CATALOGUE, ERROR_CODES, Webhooks, createMemoryStore, createMemoryQueue, createWorker, encodeRecord, decodeRecord, keepRawBody, createNodeHandler, expressMiddleware, handleRequest,
} = createApi(() => createCore(receiverModule), createHost(globalThis.crypto, { threshold: 2048 }),
  () => createSenderCore(senderModule), () => createSourcesCore(sourcesModule));
