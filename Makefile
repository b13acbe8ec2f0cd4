# Every check is a target here, the same on a laptop and in CI (.ci/run only calls `make test`).
# Tools are installed on first use and skipped when already present, so warm runs stay fast.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

WASM_TARGET := wasm32-unknown-unknown
WASM_BINDGEN_VERSION := $(shell sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' crates/wasm/Cargo.toml)
CARGO_BIN := $(HOME)/.cargo/bin
export PATH := $(CARGO_BIN):$(PATH)
WASM_RUNNER := CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
# The `wasm` profile (Cargo.toml): optimized for size, SHA-256 for speed.
WASM_RELEASE := target/$(WASM_TARGET)/wasm/clhooks_wasm.wasm

.PHONY: help demo test tools tool-wasm-target tool-wasm-bindgen tool-chromium lint \
        test-native test-wasm-node test-wasm-browser wasm-size pkg test-packaging test-receivers test-cli test-scale test-examples bench tool-deno tool-redis rust-receiver \
        examples-pkg inspector test-inspector fuzz

help:
	@echo "make demo   build the CLI and walk through signing, verifying and inspecting a real payload"
	@echo "make test   install what the tests need, then lint and run every test (native, wasm in Node and Chromium, the npm package in six runtimes)"
	@echo "make pkg    build the npm package into pkg/"
	@echo "make bench  measure speed and sizes, printed as a table"
	@echo "make inspector  serve the browser payload inspector on loopback and print its URL"

## Tools -----------------------------------------------------------------------------------

tools: tool-wasm-target tool-wasm-bindgen tool-chromium tool-redis

tool-wasm-target:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)

# wasm-bindgen's CLI must be exactly the version of the crate pinned in Cargo.toml.
tool-wasm-bindgen:
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (about 5 minutes on 2 cores)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force; \
	fi

tool-chromium:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing Debian's chromium and chromium-driver"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# Debian's Redis server, for the scale-out tests (started by the tests themselves, on loopback).
tool-redis:
	@if ! command -v redis-server >/dev/null; then \
	  echo "installing Debian's redis-server"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	fi

## Checks ----------------------------------------------------------------------------------

lint: tool-wasm-target
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo clippy --target $(WASM_TARGET) -p clhooks -p clhooks-wasm --lib --tests --locked -- -D warnings
	cargo clippy --target $(WASM_TARGET) -p clhooks-wasm --lib --locked --no-default-features --features receiver -- -D warnings
	cargo clippy --target $(WASM_TARGET) -p clhooks-wasm --lib --locked --no-default-features --features sender -- -D warnings
	cargo clippy --target $(WASM_TARGET) -p clhooks-wasm --lib --locked --no-default-features --features sources -- -D warnings

# The core, the bindings' native part and the CLI (its tests run the binary on loopback).
test-native:
	cargo test --workspace --locked

# The core's tests again on wasm32, in Node and in headless Chromium.
test-wasm-node: tool-wasm-target tool-wasm-bindgen
	$(WASM_RUNNER) cargo test --locked -p clhooks --target $(WASM_TARGET) --tests

test-wasm-browser: tool-wasm-target tool-wasm-bindgen tool-chromium
	WASM_BINDGEN_USE_BROWSER=1 $(WASM_RUNNER) cargo test --locked -p clhooks --target $(WASM_TARGET) --tests

test: tools lint test-native test-wasm-node test-wasm-browser test-packaging test-receivers test-cli test-scale test-examples test-inspector

## Artifacts -------------------------------------------------------------------------------

wasm-size: tool-wasm-target
	cargo build --locked --profile wasm -p clhooks-wasm --lib --target $(WASM_TARGET) --no-default-features --features receiver
	@printf 'release wasm (before wasm-bindgen): %s bytes, %s gzipped\n' \
	  "$$(wc -c < $(WASM_RELEASE))" "$$(gzip -9 -c $(WASM_RELEASE) | wc -c)"

## Fuzzing (not part of `make test`: nightly Rust, minutes per target) ---------------------

# Coverage-guided fuzzing of the signature header, topics and patterns, documents (parse,
# write back, denormalize), whole deliveries and scenarios, FUZZ_RUNS executions per target
# (nightly and cargo-fuzz installed on first use). Findings land in tests/vectors/crashers/,
# which `make test` replays on stable (tests/fuzz_crashers.rs).
FUZZ_RUNS ?= 2000000
fuzz:
	bash fuzz/run.sh $(FUZZ_RUNS)

## Demo ------------------------------------------------------------------------------------

demo: examples-pkg
	cargo build --locked --release -p clhooks-cli
	@bash examples/demo.sh target/release/clhooks tests/vectors/orders-place-payload.json

## The npm package --------------------------------------------------------------------------

PKG_BUILD := target/pkg-build
WASM_OPT := node node_modules/binaryen/bin/wasm-opt
# Features wasm-bindgen's output uses; not --all-features (Node 20 then rejects the module).
# The receiver's module is optimized for size (-Os: its HMAC measures the same, make bench), the
# sender's for speed (-O3).
WASM_OPT_FLAGS := --strip-producers --strip-target-features --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# Deno's npm package lists optional binaries for other platforms that this registry does not
# serve, so no lockfile can hold it: it is installed apart, at an exact version.
DENO_VERSION := 2.9.6
DENO := target/tools/node_modules/.bin/deno
tool-deno:
	@if [ "$$($(DENO) --version 2>/dev/null | head -n1 | cut -d' ' -f2)" != "$(DENO_VERSION)" ]; then \
	  npm install --prefix target/tools --no-save --no-audit --no-fund deno@$(DENO_VERSION); \
	fi

# Two modules: what a receiver loads (clhooks.wasm: verify, receive, topics, payloads) and the
# sender's (clhooks-sender.wasm: the simulator and the delivery driver), loaded on first use.
# Each is built in a target directory of its own, so that neither rebuild undoes the other.
SENDER_TARGET_DIR := target/wasm-sender
WASM_SENDER_RELEASE := $(SENDER_TARGET_DIR)/$(WASM_TARGET)/wasm/clhooks_wasm.wasm
# A third, small one: the source-address allow-list, loaded only by receivers that set `sources`.
SOURCES_TARGET_DIR := target/wasm-sources
WASM_SOURCES_RELEASE := $(SOURCES_TARGET_DIR)/$(WASM_TARGET)/wasm/clhooks_wasm.wasm
# A fourth, for `npx clhooks` only: the sender's with the command line's bindings.
CLI_TARGET_DIR := target/wasm-cli
WASM_CLI_RELEASE := $(CLI_TARGET_DIR)/$(WASM_TARGET)/wasm/clhooks_wasm.wasm

pkg: tool-wasm-target tool-wasm-bindgen node_modules/.package-lock.json
	cargo build --locked --profile wasm -p clhooks-wasm --lib --target $(WASM_TARGET) --no-default-features --features receiver
	cargo build --locked --profile wasm -p clhooks-wasm --lib --target $(WASM_TARGET) --no-default-features --features sender \
	  --target-dir $(SENDER_TARGET_DIR)
	cargo build --locked --profile wasm -p clhooks-wasm --lib --target $(WASM_TARGET) --no-default-features --features sources \
	  --target-dir $(SOURCES_TARGET_DIR)
	cargo build --locked --profile wasm -p clhooks-wasm --lib --target $(WASM_TARGET) --no-default-features --features cli \
	  --target-dir $(CLI_TARGET_DIR)
	rm -rf $(PKG_BUILD) && mkdir -p $(PKG_BUILD)
	wasm-bindgen --target web --out-dir $(PKG_BUILD)/web $(WASM_RELEASE)
	wasm-bindgen --target web --out-dir $(PKG_BUILD)/sender-web $(WASM_SENDER_RELEASE)
	wasm-bindgen --target web --out-dir $(PKG_BUILD)/sources-web $(WASM_SOURCES_RELEASE)
	wasm-bindgen --target web --out-dir $(PKG_BUILD)/cli-web $(WASM_CLI_RELEASE)
	$(WASM_OPT) -Oz --converge --low-memory-unused $(WASM_OPT_FLAGS) $(PKG_BUILD)/web/clhooks_wasm_bg.wasm -o $(PKG_BUILD)/clhooks.wasm
	$(WASM_OPT) -O3 $(WASM_OPT_FLAGS) $(PKG_BUILD)/sender-web/clhooks_wasm_bg.wasm -o $(PKG_BUILD)/clhooks-sender.wasm
	$(WASM_OPT) -Os --converge $(WASM_OPT_FLAGS) $(PKG_BUILD)/sources-web/clhooks_wasm_bg.wasm -o $(PKG_BUILD)/clhooks-sources.wasm
	$(WASM_OPT) -Os $(WASM_OPT_FLAGS) $(PKG_BUILD)/cli-web/clhooks_wasm_bg.wasm -o $(PKG_BUILD)/clhooks-cli.wasm
	cargo run --locked -q -p clhooks-wasm --bin clhooks-types > $(PKG_BUILD)/types.d.ts
	node pkg-templates/build.mjs $(PKG_BUILD) pkg
	@for module in clhooks clhooks-sender clhooks-sources clhooks-cli; do \
	  printf '%s.wasm: %s bytes, %s gzipped\n' $$module "$$(wc -c < pkg/$$module.wasm)" "$$(gzip -9 -c pkg/$$module.wasm | wc -c)"; \
	done

# The packed package installed into tests/packaging/* and run in Node ESM and CJS, Deno, Bun,
# workerd and Chromium, plus a type-check against its .d.ts.
test-packaging: pkg tool-chromium tool-deno
	DENO=$(DENO) node tests/packaging/run.mjs

# Speed and size, printed as tables (never asserted in tests). The second wasm, built without
# SIMD into its own target directory (RUSTFLAGS, even empty, replaces .cargo/config.toml's
# flags), shows what +simd128 buys.
BENCH_NOSIMD := target/bench-nosimd
bench: pkg tool-chromium
	cargo bench --locked --bench core
	RUSTFLAGS="" cargo build --locked --profile wasm -p clhooks-wasm --lib --no-default-features --features receiver \
	  --target $(WASM_TARGET) --target-dir $(BENCH_NOSIMD)
	wasm-bindgen --target nodejs --out-dir $(BENCH_NOSIMD)/glue $(BENCH_NOSIMD)/$(WASM_TARGET)/wasm/clhooks_wasm.wasm
	node tests/bench/bench.mjs pkg $(BENCH_NOSIMD)/glue/clhooks_wasm.js
	node tests/bench/receiver.mjs pkg
	node tests/bench/webcrypto.mjs

# Receivers on several instances sharing one claim: Node processes on a real Redis (started by
# the tests on loopback), the Worker's Durable Object store in workerd.
test-scale: examples-pkg tool-redis rust-receiver
	node --test --test-concurrency=1 tests/scale/

# The axum example (its own workspace), built once for the example and scale-out tests.
rust-receiver:
	CARGO_TARGET_DIR=target/rust-receiver cargo build --locked --release --manifest-path examples/rust-receiver/Cargo.toml

# The two command lines, the Rust `clhooks` and the package's `npx clhooks`, against one set of
# golden outputs (tests/vectors/cli.json), and on a pseudo-terminal (colour, progress).
test-cli: pkg
	cargo build --locked -p clhooks-cli
	node --test tests/cli/

# The package's receivers (routing, idempotency, rotation, Express body parsers) in Node.
test-receivers: pkg
	node --test tests/receivers/

# The JS examples get the package as users do: the packed tarball, unpacked where npm puts it
# (it has no dependencies; express and wrangler come from the dev dependencies).
examples-pkg: pkg
	@rm -rf target/pack && mkdir -p target/pack
	@cd pkg && npm pack --silent --pack-destination ../target/pack >/dev/null
	@for example in node-receiver express-receiver cloudflare-worker hono-receiver nextjs-receiver; do \
	  rm -rf examples/$$example/node_modules/clhooks && mkdir -p examples/$$example/node_modules/clhooks && \
	  tar -xzf target/pack/clhooks-*.tgz -C examples/$$example/node_modules/clhooks --strip-components=1; \
	done

# Each receiver example in its real runtime, fed real signed deliveries by the CLI.
test-examples: examples-pkg rust-receiver
	cargo build --locked -p clhooks-cli
	node tests/examples/run.mjs
	node --test tests/examples/nextjs.test.mjs

# The browser payload inspector, served on loopback (Ctrl-C stops it).
inspector: pkg
	node examples/inspector/serve.mjs $${PORT:-8080}

# The inspector in headless Chromium; screenshots of each state go to screenshots/.
test-inspector: pkg tool-chromium
	cargo build --locked -p clhooks-cli
	node --test tests/inspector/
