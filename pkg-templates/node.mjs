// Node (ESM), also used by Deno and Bun: each .wasm is read from disk and compiled
// synchronously, once, when first needed; the package instantiates it (again after a failure).
import { readFileSync } from 'node:fs';
import * as nodeCrypto from 'node:crypto';
import { createCore } from './core/web.js';
import { createCore as createSenderCore } from './core/sender-web.js';
import { createCore as createSourcesCore } from './core/sources-web.js';
import { createCore as createWorkerCore } from './core/worker-web.js';
import { createApi, createHost } from './api.js';

/** A .wasm beside this file, compiled on first use and kept. */
const compiled = (name) => {
  /** @type {WebAssembly.Module | undefined} */
  let module;
  return () => (module ??= new WebAssembly.Module(readFileSync(new URL(`./${name}`, import.meta.url))));
};
const receiverModule = compiled('clhooks.wasm');
// The sender's module (simulate, simulateLive) and the allow-list's (receivers that set
// `sources`) are read and compiled on first use only.
const senderModule = compiled('clhooks-sender.wasm');
const sourcesModule = compiled('clhooks-sources.wasm');
const workerModule = compiled('clhooks-worker.wasm');

export const {
  WebhookError, WebhookEvent, Verifier, sign, verify, receive, parseTopic, matchTopic, denormalize, simulate, simulateLive, deliveryHeaders,
  TOPICS, CATALOGUE, ERROR_CODES, Webhooks, createMemoryStore, createMemoryQueue, createWorker, encodeRecord, decodeRecord, keepRawBody, createNodeHandler, expressMiddleware, handleRequest,
} = createApi(() => createCore(receiverModule()), createHost(nodeCrypto), () => createSenderCore(senderModule()),
  () => createSourcesCore(sourcesModule()), () => createWorkerCore(workerModule()));
