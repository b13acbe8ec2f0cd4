// Node (CommonJS): wasm-bindgen's Node glue reads and instantiates the wasm synchronously.
'use strict';
const core = require('./core/node.cjs');
const { createApi } = require('./api.cjs');

module.exports = createApi(core);
