#!/usr/bin/env bash
# The clhooks walkthrough behind `make demo`. First a real captured orders.place delivery:
# signed, verified, tampered with and refused, and read back with its relationships resolved.
# Then the live part: a simulated Commerce Layer sender delivers over HTTP on loopback to the
# Node receiver example (examples/node-receiver) and to `clhooks listen`, which plays a flaky
# endpoint that needs retries and a dead one whose circuit opens at 30 failures and recovers
# after _reset_circuit.
# Usage: examples/demo.sh CLHOOKS_BINARY PAYLOAD_FILE
set -euo pipefail

clhooks=$1
payload=$2
secret=demo-shared-secret-1c0994cc4e996e8c
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

bold=$'\e[1m' green=$'\e[32m' red=$'\e[31m' dim=$'\e[2m' off=$'\e[0m'
[ -t 1 ] || { bold='' green='' red='' dim='' off=''; }
step() { printf '\n%s== %s ==%s\n' "$bold" "$1" "$off"; }
show() { printf '%s$ %s%s\n' "$dim" "$*" "$off"; "$@"; }
refused() {
  printf '%s$ %s%s\n' "$dim" "$*" "$off"
  if "$@" 2>"$work/err"; then echo "${red}unexpectedly accepted${off}"; exit 1; fi
  printf '%srefused%s  %s\n' "$red" "$off" "$(cat "$work/err")"
}

step "A real orders.place delivery ($(wc -c < "$payload") bytes)"
show "$clhooks" topic orders.place

step "Commerce Layer signs the raw body with the webhook's shared secret"
printf '%s$ %s%s\n' "$dim" "$clhooks sign --secret $secret $payload" "$off"
signature=$("$clhooks" sign --secret "$secret" "$payload")
echo "$signature"

step "The receiver verifies it (X-CommerceLayer-Signature)"
printf '%s' "$green"; show "$clhooks" verify --secret "$secret" --signature "$signature" "$payload"; printf '%s' "$off"

step "During a secret rotation both secrets are accepted"
printf '%s' "$green"
show "$clhooks" verify --secret new-secret-after-rotation --secret "$secret" --signature "$signature" "$payload"
printf '%s' "$off"

step "One byte changed: the order total edited in transit"
sed 's/"total_amount_cents": 16000/"total_amount_cents": 1600/' "$payload" > "$work/tampered.json"
cmp -s "$payload" "$work/tampered.json" && { echo "the tamper did not change the body"; exit 1; }
refused "$clhooks" verify --secret "$secret" --signature "$signature" "$work/tampered.json"

step "The body parsed and re-serialized (a JSON body parser ran first)"
tr -d '\n ' < "$payload" > "$work/reserialized.json"
refused "$clhooks" verify --secret "$secret" --signature "$signature" "$work/reserialized.json"

step "The wrong webhook's secret"
refused "$clhooks" verify --secret some-other-webhook --signature "$signature" "$payload"

step "A hex digest where Commerce Layer sends base64"
hex=$(printf '%s' "$signature" | base64 -d | od -An -tx1 | tr -d ' \n')
refused "$clhooks" verify --secret "$secret" --signature "$hex" "$payload"

step "The same check from the npm package, without Rust (npx clhooks: same flags, same output)"
printf '%s' "$green"; show node "$(dirname "$0")/node-receiver/node_modules/clhooks/cli.mjs" verify --secret "$secret" --signature "$signature" "$payload"; printf '%s' "$off"

step "The payload, summarized"
show "$clhooks" inspect --topic orders.place "$payload" | sed -n '1,/^$/p'

step "Relationships resolved from included: a line item of the order"
printf '%s$ %s%s\n' "$dim" "$clhooks inspect --json --pointer /line_items/2 $payload  # a few of its fields" "$off"
"$clhooks" inspect --json --pointer /line_items/2 "$payload" |
  grep -E '^  "(id|type|sku_code|name|quantity|formatted_total_amount)"'
echo "${dim}... (clhooks inspect --json prints the whole denormalized order)${off}"

# Starts a server in the background, logging to $work/NAME.log; sets $address to where it listens.
serve() {
  local name=$1; shift
  "$@" > "$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do grep -q '^listening on' "$work/$name.log" 2>/dev/null && break; sleep 0.05; done
  address=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$work/$name.log" | head -n 1)
  [ -n "$address" ] || { cat "$work/$name.log"; exit 1; }
}

step "Live: two receivers on loopback"
serve receiver env PORT=0 CL_WEBHOOK_SECRET=secret-healthy node "$(dirname "$0")/node-receiver/server.mjs"
receiver=$address
echo "the Node receiver example (examples/node-receiver): $receiver"
# /flaky fails the first two deliveries, /dead the first 30: on purpose.
serve listener "$clhooks" listen --port 0 --secret secret-flaky --secret secret-dead \
  --route /flaky=fail-first:2 --route /dead=fail-first:30
listener=$address
echo "clhooks listen, misbehaving on purpose: $listener"

step "Live: Commerce Layer's sender delivers a scenario to them (3 h of retries compressed to seconds)"
scenario=$(dirname "$0")/scenarios/demo-live.json
echo "${dim}\$ $clhooks simulate --live $scenario --target receiver.localhost=$receiver --target listener.localhost=$listener --time-scale 0.0002${off}"
"$clhooks" simulate --live "$scenario" --target "receiver.localhost=$receiver" --target "listener.localhost=$listener" \
  --time-scale 0.0002 | grep -vE ' (retry [0-9]+ at|published → (placed|approved|shipped|flaky|dead))' || true

step "What the Node receiver handled"
sed -n '2,$p' "$work/receiver.log" | sed -E 's/^/  /'

step "What clhooks listen saw"
sed -n '2,9p' "$work/listener.log" | sed -E 's/^/  /'
echo "  ${dim}... $(($(wc -l < "$work/listener.log") - 1)) deliveries in all${off}"
