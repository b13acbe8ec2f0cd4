#!/usr/bin/env bash
# Runs every fuzz target (or those named) for N executions each, then prints a table.
#
#   bash fuzz/run.sh [N] [TARGET...]     N defaults to 2,000,000 (libFuzzer -runs=N)
#
# Installs nightly Rust and cargo-fuzz when `cargo +nightly fuzz` is missing. Each target starts
# from its committed seeds (fuzz/corpus/<target>/, read only) and from what earlier runs found
# (fuzz/work-corpus/<target>/, not committed), under a budget per input: 10 s (-timeout) and
# 2 GiB (-rss_limit_mb). A crash, timeout or out-of-memory input is copied to
# tests/vectors/crashers/<target>/, which tests/fuzz_crashers.rs replays on stable Rust; the run
# of that target then goes on, up to FUZZ_MAX_FINDINGS (3) findings. Exits 1 when anything was
# found.
#
# Environment: FUZZ_SANITIZER (none; `address` for ASan: the crate forbids unsafe code, so the
# default trades it for about twice the executions), FUZZ_NICE (10), FUZZ_MAX_FINDINGS (3).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${1:-2000000}
shift || true
ALL_TARGETS=(signature_header topic document receive scenario)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")
SANITIZER=${FUZZ_SANITIZER:-none}
NICE=(nice -n "${FUZZ_NICE:-10}")
MAX_FINDINGS=${FUZZ_MAX_FINDINGS:-3}

case $RUNS in '' | *[!0-9]*) echo "usage: bash fuzz/run.sh [executions per target] [target...]" >&2; exit 2 ;; esac

max_len() {
  case $1 in
    signature_header) echo 16384 ;;
    topic) echo 1024 ;;
    document | receive) echo 65536 ;;
    scenario) echo 4096 ;;
    *) echo "unknown target $1 (one of ${ALL_TARGETS[*]})" >&2; exit 2 ;;
  esac
}
for target in "${TARGETS[@]}"; do max_len "$target" >/dev/null; done

# Tools: skipped when `cargo +nightly fuzz` already works.
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "installing nightly Rust (cargo-fuzz builds with -Z flags)"
    rustup toolchain install nightly --profile minimal
  fi
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz (a few minutes)"
    "${NICE[@]}" cargo install cargo-fuzz --locked
  fi
fi

FLAGS=(--sanitizer "$SANITIZER" --release --debug-assertions)
echo "building the fuzz targets (sanitizer: $SANITIZER)"
"${NICE[@]}" cargo +nightly fuzz build "${FLAGS[@]}"

ROWS=()
FOUND=0
mkdir -p fuzz/artifacts
for target in "${TARGETS[@]}"; do
  work=$ROOT/fuzz/work-corpus/$target
  artifacts=$ROOT/fuzz/artifacts/$target/
  saved=$ROOT/tests/vectors/crashers/$target
  log=$ROOT/fuzz/artifacts/$target.log
  mkdir -p "$work" "$artifacts"
  : >"$log"
  marker=$(mktemp)
  remaining=$RUNS execs=0 findings=0 peak=0 slowest=0
  started=$(date +%s.%N)
  while [ "$remaining" -gt 0 ]; do
    echo "fuzzing $target: $remaining executions (log: fuzz/artifacts/$target.log)"
    status=0
    "${NICE[@]}" cargo +nightly fuzz run "${FLAGS[@]}" "$target" "$work" "$ROOT/fuzz/corpus/$target" -- \
      -runs="$remaining" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$target")" \
      -dict="$ROOT/fuzz/dicts/$target.dict" -artifact_prefix="$artifacts" -print_final_stats=1 \
      >>"$log" 2>&1 || status=$?
    # Executions of this round: the final stats, or the last status line (`#N ...`) of a crash.
    round=$(awk '/^stat::number_of_executed_units:/ {n = $2} END {print n + 0}' "$log")
    if [ "$round" -eq 0 ]; then
      round=$(grep -aoE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)
    fi
    round=${round:-0}
    peak=$(awk -v p="$peak" '/^stat::peak_rss_mb:/ {if ($2 > p) p = $2} END {print p + 0}' "$log")
    slowest=$(awk -v s="$slowest" '/^stat::slowest_unit_time_sec:/ {if ($2 > s) s = $2} END {print s + 0}' "$log")
    cat "$log" >>"$ROOT/fuzz/artifacts/$target.all.log"
    : >"$log"
    execs=$((execs + round))
    remaining=$((RUNS - execs))
    [ "$status" -eq 0 ] && break
    new=$(find "$artifacts" -maxdepth 1 -type f -newer "$marker" \
      \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | sort)
    if [ -z "$new" ]; then
      echo "cargo fuzz failed on $target without an artifact (exit $status): see fuzz/artifacts/$target.all.log" >&2
      findings=$((findings + 1))
      break
    fi
    mkdir -p "$saved"
    for file in $new; do
      cp "$file" "$saved/"
      echo "  found $(basename "$file") -> tests/vectors/crashers/$target/"
      findings=$((findings + 1))
    done
    touch "$marker"
    [ "$findings" -ge "$MAX_FINDINGS" ] && break
  done
  rm -f "$marker" "$log"
  seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  rate=$(awk -v e="$execs" -v s="$seconds" 'BEGIN {printf "%.0f", (s > 0 ? e / s : 0)}')
  ROWS+=("$(printf '%-17s %12s %9s %9s %9s %8s %9s' "$target" "$execs" "$seconds" "$rate" "$findings" "$peak" "$slowest")")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$target" "$execs" "$seconds" "$rate" \
    "$findings" "$peak" "$slowest" >>"$ROOT/fuzz/artifacts/history.tsv"
  FOUND=$((FOUND + findings))
done

echo
printf '%-17s %12s %9s %9s %9s %8s %9s\n' target executions seconds "execs/s" crashes rss_mb slowest_s
for row in "${ROWS[@]}"; do echo "$row"; done
if [ "$FOUND" -gt 0 ]; then
  echo "findings saved under tests/vectors/crashers/ (replayed by: cargo test --test fuzz_crashers)"
  exit 1
fi
