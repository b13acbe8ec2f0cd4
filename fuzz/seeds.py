#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target, fuzz/corpus/<target>/, from the shared vectors
(tests/vectors/*.json) and the example scenarios, in each target's input format (see
fuzz/checks.rs). Deterministic; run it again after the vectors change. The seeds stay small (the
fixture payload is the one large input, used twice): a fuzzer starts from their shapes, not their
bulk."""

import base64
import hashlib
import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
CORPUS = ROOT / "fuzz" / "corpus"
FIXTURE = (VECTORS / "orders-place-payload.json").read_bytes()
# The largest body taken from a vector (the fixture aside): the fuzzers' max_len is far larger.
MAX_SEED = 4096


def body(spec):
    """A vector's body, as tests/common/mod.rs reads it; None for a generated bulk body."""
    if "utf8" in spec:
        data = spec["utf8"].encode()
    elif "base64" in spec:
        data = base64.b64decode(spec["base64"])
    elif "file" in spec:
        data = FIXTURE
    else:
        return None
    data += spec.get("append", "").encode()
    if "flip" in spec:
        data = bytearray(data)
        data[spec["flip"]] ^= 1
        data = bytes(data)
    return data


def slug(text):
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")[:60]


def write(target, name, data, seen):
    digest = hashlib.sha1(data).hexdigest()
    if digest in seen:
        return
    seen.add(digest)
    (CORPUS / target / f"{slug(name)}-{digest[:8]}").write_bytes(data)


def request(headers, data):
    head = "\n".join(f"{name}: {value}" for name, value in headers)
    return head.encode() + b"\n\n" + data


def main():
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    targets = ["signature_header", "topic", "document", "receive", "scenario"]
    seen = {target: set() for target in targets}
    for target in targets:
        (CORPUS / target).mkdir(parents=True)

    signatures = json.loads((VECTORS / "signatures.json").read_text())
    for case in signatures["verify"]:
        data = body(case["body"])
        if data is None or len(data) > MAX_SEED:
            continue
        write("signature_header", case["name"], (case.get("header") or "").encode() + b"\0" + data,
              seen["signature_header"])

    topics = json.loads((VECTORS / "topics.json").read_text())
    for case in topics["parse"]:
        if len(case["input"]) <= 512:
            write("topic", case["input"] or "empty", case["input"].encode(), seen["topic"])
    for case in topics["patterns"]:
        text = case["pattern"] + ("\n" + case["topic"] if "topic" in case else "")
        if len(text) <= 512:
            write("topic", text.replace("\n", " ") or "empty", text.encode(), seen["topic"])
    for known in topics["catalogue"]["known"][::12]:
        write("topic", known["topic"], known["topic"].encode(), seen["topic"])

    payloads = json.loads((VECTORS / "payloads.json").read_text())
    write("document", "fixture", FIXTURE, seen["document"])
    for case in payloads["denormalize"]:
        write("document", case["name"], json.dumps(case["document"]).encode(), seen["document"])
    fixture_request = False
    for case in payloads["receive"]:
        data = body(case["body"])
        if data is None:
            continue
        if data != FIXTURE or "flip" in case["body"]:
            if len(data) > MAX_SEED:
                continue
            write("document", case["name"], data, seen["document"])
        elif fixture_request:
            continue
        fixture_request = True
        write("receive", case["name"], request(case["headers"], data), seen["receive"])
    receiver = json.loads((VECTORS / "receiver.json").read_text())
    for case in receiver["requests"]:
        data = body(case["body"])
        if data is None or len(data) > MAX_SEED:
            continue
        write("receive", case["name"], request(case["headers"], data), seen["receive"])

    for path in sorted((ROOT / "examples" / "scenarios").glob("*.json")):
        write("scenario", path.stem, path.read_bytes(), seen["scenario"])
    for name, scenario in SCENARIOS.items():
        write("scenario", name, json.dumps(scenario, separators=(",", ":")).encode(), seen["scenario"])

    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    for target in targets:
        print(f"{target}: {len(list((CORPUS / target).iterdir()))} seeds")
    print(f"{total} bytes in all")


HOOK = {"id": "w1", "topic": "orders.place", "callback_url": "https://example.com/hooks", "shared_secret": "s"}
SCENARIOS = {
    "minimal": {"webhooks": [HOOK], "events": [{"at_ms": 0, "topic": "orders.place"}]},
    "policy_and_script": {
        "seed": 3, "start_ms": 0,
        "policy": {"timeout_ms": 100, "max_retries": 3, "breaker_threshold": 4, "notice_after": 2,
                   "backoff_ms": [10, 20], "last_callbacks": 2, "content_type": "application/json"},
        "webhooks": [HOOK, dict(HOOK, id="w2", topic="orders.*".replace("*", "approve"))],
        "endpoints": {"https://example.com/hooks": {"script": [500, "timeout", "error", 200], "failure_rate": 0.5,
                                                    "timeout_rate": 0.25, "failure_status": 503,
                                                    "outages": [{"from_ms": 5, "to_ms": 50}],
                                                    "latency_ms": 10, "latency_jitter_ms": 5}},
        "events": [{"at_ms": 0, "topic": "orders.place", "count": 5, "every_ms": 7},
                   {"at_ms": 3, "topic": "orders.approve", "payload": {"data": {"id": "o1", "type": "orders"}}}],
        "actions": [{"at_ms": 20, "webhook": "w1", "_disable": True},
                    {"at_ms": 40, "webhook": "w1", "_enable": True, "_reset_circuit": True, "credential": "integration"}],
        "imports": [{"at_ms": 1, "for_ms": 10}],
    },
    "include_resources": {
        "webhooks": [dict(HOOK, include_resources=["customer", "line_items.sku"])],
        "events": [{"at_ms": 0, "topic": "orders.place", "payload": {
            "data": {"id": "o1", "type": "orders", "attributes": {"number": 1},
                     "relationships": {"customer": {"data": {"id": "c1", "type": "customers"}}}},
            "included": [{"id": "c1", "type": "customers", "attributes": {"email": "a@b.c"}}]}}],
    },
}

if __name__ == "__main__":
    main()
