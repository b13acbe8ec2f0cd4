//! JavaScript bindings (wasm32 only). The npm package's entrypoints wrap these.
