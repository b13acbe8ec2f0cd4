// Node (CommonJS): wasm-bindgen's Node glue reads and instantiates the wasm synchronously.
'use strict';
const core = require('./core/node.cjs');
const { createApi, createHost } = require('./api.cjs');

module.exports = createApi(core, createHost(require('node:crypto')));
