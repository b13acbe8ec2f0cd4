#!/usr/bin/env bash
# The clhooks walkthrough behind `make demo`: a real captured orders.place delivery signed,
# verified, tampered with and refused, and read back with its relationships resolved.
# Usage: examples/demo.sh CLHOOKS_BINARY PAYLOAD_FILE
set -euo pipefail

clhooks=$1
payload=$2
secret=demo-shared-secret-1c0994cc4e996e8c
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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

step "The payload, summarized"
show "$clhooks" inspect --topic orders.place "$payload" | sed -n '1,/^$/p'

step "Relationships resolved from included: the order's customer and a line item"
show "$clhooks" inspect --json --pointer /customer "$payload"
printf '%s$ %s%s\n' "$dim" "$clhooks inspect --json --pointer /line_items/2 $payload  # a few of its fields" "$off"
"$clhooks" inspect --json --pointer /line_items/2 "$payload" |
  grep -E '^  "(id|type|sku_code|name|quantity|formatted_total_amount)"' 
echo "${dim}... (clhooks inspect --json prints the whole denormalized order)${off}"
