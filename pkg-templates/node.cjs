// Node (CommonJS): each .wasm is read from disk and compiled synchronously, once, when first
// needed; the package instantiates it (again after a failure).
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { createApi, createHost } = require('./api.cjs');

/** A module's factory and its .wasm beside this file, compiled on first use and kept. */
const loader = (glue, name) => {
  let module;
  return () => {
    module = module || new WebAssembly.Module(readFileSync(join(__dirname, name)));
    return require(glue).createCore(module);
  };
};

// The sender's module (simulate, simulateLive) and the allow-list's (receivers that set
// `sources`) are read and compiled on first use only.
module.exports = createApi(loader('./core/web.cjs', 'clhooks.wasm'), createHost(require('node:crypto')),
  loader('./core/sender-web.cjs', 'clhooks-sender.wasm'), loader('./core/sources-web.cjs', 'clhooks-sources.wasm'),
  loader('./core/worker-web.cjs', 'clhooks-worker.wasm'));
