// Node (ESM), also used by Deno and Bun: the wasm is read from disk and compiled synchronously.
import { readFileSync } from 'node:fs';
import * as nodeCrypto from 'node:crypto';
import * as core from './core/web.js';
import * as senderCore from './core/sender-web.js';
import * as sourcesCore from './core/sources-web.js';
import { createApi, createHost } from './api.js';

core.initSync({ module: readFileSync(new URL('./clhooks.wasm', import.meta.url)) });
// The sender's module (simulate, simulateLive) is read and compiled on first use only.
const loadSender = () => {
  senderCore.initSync({ module: readFileSync(new URL('./clhooks-sender.wasm', import.meta.url)) });
  return senderCore;
};
// The allow-list's module, only for receivers that set `sources`.
const loadSources = () => {
  sourcesCore.initSync({ module: readFileSync(new URL('./clhooks-sources.wasm', import.meta.url)) });
  return sourcesCore;
};

export const {
  WebhookError, WebhookEvent, Verifier, sign, verify, receive, parseTopic, matchTopic, denormalize, simulate, simulateLive, deliveryHeaders,
  TOPICS, CATALOGUE, ERROR_CODES, Webhooks, createMemoryStore, keepRawBody, createNodeHandler, expressMiddleware, handleRequest,
} = createApi(core, createHost(nodeCrypto), loadSender, loadSources);
