// Node (CommonJS): wasm-bindgen's Node glue reads and instantiates the wasm synchronously.
'use strict';
const core = require('./core/node.cjs');
const { createApi, createHost } = require('./api.cjs');

// The sender's module (simulate, simulateLive) is required, and so compiled, on first use only.
// The allow-list's module, only for receivers that set `sources`.
module.exports = createApi(core, createHost(require('node:crypto')), () => require('./core/sender-node.cjs'),
  () => require('./core/sources-node.cjs'));
