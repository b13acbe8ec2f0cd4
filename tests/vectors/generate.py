#!/usr/bin/env python3
"""Generate the shared clhooks test vectors (signatures.json, topics.json, payloads.json,
receiver.json).

Why this exists: the expected values are computed here, by a small implementation written
independently of the Rust crate (Python standard library only), so the Rust, wasm and JS test
suites check the crate against something other than itself.

Run from the repository root:

    python3 tests/vectors/generate.py

It reads orders-place-payload.json (beside this script) and data/topics.tsv, writes the four
JSON files beside this script, and is deterministic: rerunning it gives identical files.

Bodies in the vectors are described by a BODY object with exactly one of
  {"utf8": text} | {"base64": b64} | {"file": name beside the vectors} |
  {"repeat": ascii text, "length": N}   (text repeated, truncated to exactly N bytes)
plus an optional "append": text (UTF-8 bytes added at the end) and an optional "flip": K (XOR
the byte at index K with 0x01, after appending).
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURE_NAME = "orders-place-payload.json"
TOPICS_TSV = REPO / "data" / "topics.tsv"

REF_SECRET = "1c0994cc4e996e8c6ee56a2198f66f3c"
REF_BODY = '{"data":{"id":"xYZkjABcde","type":"orders"}}'
REF_SIGNATURE = "dcMMllaEu7O4eft47o8+QFRvvFmxl5z+HJOtsMUzUG4="

SIG_HEADER = "X-CommerceLayer-Signature"
TOPIC_HEADER = "X-CommerceLayer-Topic"

# The Rust parser (serde_json) refuses nesting deeper than this, to keep its stack bounded; the
# JavaScript package reads bodies with the engine's JSON.parse, which has no such limit. The
# vectors stay within it (tests/payloads.rs checks the Rust limit on its own).
MAX_JSON_DEPTH = 128


# ---------------------------------------------------------------------------
# BODY spec


def decode_body(spec):
    """Bytes described by a BODY spec (the decoder every test suite implements)."""
    kinds = [k for k in ("utf8", "base64", "file", "repeat") if k in spec]
    assert len(kinds) == 1, spec
    allowed = {kinds[0], "flip", "append"} | ({"length"} if kinds[0] == "repeat" else set())
    assert set(spec) <= allowed, spec
    kind = kinds[0]
    if kind == "utf8":
        data = spec["utf8"].encode("utf-8")
    elif kind == "base64":
        data = base64.b64decode(spec["base64"], validate=True)
    elif kind == "file":
        data = (HERE / spec["file"]).read_bytes()
    else:
        unit = spec["repeat"].encode("ascii")
        n = spec["length"]
        data = (unit * (n // len(unit) + 1))[:n]
    if "append" in spec:
        data += spec["append"].encode("utf-8")
    if "flip" in spec:
        k = spec["flip"]
        assert 0 <= k < len(data), spec
        buf = bytearray(data)
        buf[k] ^= 0x01
        data = bytes(buf)
    return data


def flipped(spec, index):
    assert "flip" not in spec
    return {**spec, "flip": index}


# ---------------------------------------------------------------------------
# Signatures


def sign(body, secret):
    mac = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")


def strict_b64decode(text):
    """Standard alphabet, '=' padding required, canonical trailing bits; None when invalid."""
    if len(text) % 4 != 0 or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        return None
    if base64.b64encode(raw).decode("ascii") != text:
        return None
    return raw


def verify(body, secrets, header):
    """Reference verifier: returns "ok" or an error code."""
    if not secrets:
        return "missing_secret"
    if any(s == "" for s in secrets):
        return "empty_secret"
    if header is None or header.strip(" \t") == "":
        return "missing_signature"
    raw = strict_b64decode(header.strip(" \t"))
    if raw is None or len(raw) != 32:
        return "malformed_signature"
    for secret in secrets:
        mac = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
        if hmac.compare_digest(mac, raw):
            return "ok"
    return "signature_mismatch"


def build_signatures(fixture_bytes):
    assert sign(REF_BODY.encode("utf-8"), REF_SECRET) == REF_SIGNATURE

    ref = {"utf8": REF_BODY}
    fixture = {"file": FIXTURE_NAME}
    empty = {"utf8": ""}
    non_utf8 = {"base64": base64.b64encode(
        b"\xff\xfe\x00\x80\xc3\x28 not UTF-8, still signed").decode("ascii")}
    crlf = {"utf8": '{\r\n  "name": "Crème brûlée à la café",\r\n  "city": "東京",\r\n'
                    '  "greeting": "こんにちは世界",\r\n  "emoji": "🎉🚀"\r\n}\r\n'}
    mib = {"repeat": "clhooks 1 MiB body, repeated. ", "length": 1048576}
    uni_secret = "sécret-秘密-🔑"
    uni_body = {"utf8": '{"data":{"id":"uniSecret1","type":"customers"}}'}

    assert decode_body(non_utf8).startswith(b"\xff\xfe\x00\x80\xc3\x28")
    try:
        decode_body(non_utf8).decode("utf-8")
        raise AssertionError("non-UTF-8 body decodes as UTF-8")
    except UnicodeDecodeError:
        pass
    assert b"\r\n" in decode_body(crlf)
    assert len(decode_body(mib)) == 1048576

    def sig(spec, secret):
        return sign(decode_body(spec), secret)

    ok_bodies = [
        ("reference", ref, REF_SECRET),
        ("fixture_orders_place", fixture, REF_SECRET),
        ("empty_body", empty, REF_SECRET),
        ("non_utf8_body", non_utf8, REF_SECRET),
        ("crlf_unicode_body", crlf, REF_SECRET),
        ("one_mib_body", mib, REF_SECRET),
        ("unicode_secret", uni_body, uni_secret),
    ]

    sign_cases = [
        {"name": name, "body": body, "secret": secret, "signature": sig(body, secret)}
        for name, body, secret in ok_bodies
    ]
    sign_cases.append({"name": "empty_secret", "body": ref, "secret": "", "error": "empty_secret"})

    ok_cases = [
        {"name": name, "body": body, "secrets": [secret], "header": sig(body, secret), "expect": "ok"}
        for name, body, secret in ok_bodies
    ]

    old, new, third = "old-secret-2023", "new-secret-2024", "unrelated-secret"
    ref_sig = sig(ref, REF_SECRET)
    ok_cases += [
        {"name": "rotation_signed_by_new", "body": ref, "secrets": [old, new],
         "header": sig(ref, new), "expect": "ok"},
        {"name": "rotation_signed_by_old", "body": ref, "secrets": [old, new],
         "header": sig(ref, old), "expect": "ok"},
        {"name": "header_with_surrounding_spaces", "body": ref, "secrets": [REF_SECRET],
         "header": "  " + ref_sig + "  ", "expect": "ok"},
        {"name": "header_with_surrounding_tabs_and_spaces", "body": ref, "secrets": [REF_SECRET],
         "header": "\t " + ref_sig + " \t", "expect": "ok"},
    ]

    # A one-byte-flipped twin of every passing case.
    twins = []
    for case in ok_cases:
        n = len(decode_body(case["body"]))
        if n == 0:
            twins.append({**case, "name": case["name"] + "_plus_trailing_newline",
                          "body": {"utf8": "\n"}, "expect": "signature_mismatch"})
            continue
        twins.append({**case, "name": case["name"] + "_flipped_middle_byte",
                      "body": flipped(case["body"], n // 2), "expect": "signature_mismatch"})
        if n >= 1048576:
            twins.append({**case, "name": case["name"] + "_flipped_last_byte",
                          "body": flipped(case["body"], n - 1), "expect": "signature_mismatch"})

    reserialized = json.dumps(json.loads(fixture_bytes))
    assert reserialized.encode("utf-8") != fixture_bytes

    mac = hmac.new(REF_SECRET.encode("utf-8"), REF_BODY.encode("utf-8"), hashlib.sha256).digest()
    assert "+" in ref_sig or "/" in ref_sig
    url_safe = ref_sig.replace("+", "-").replace("/", "_")
    unpadded = ref_sig.rstrip("=")
    assert unpadded != ref_sig
    # Flip the case of the first letter; the first character is never the one whose low bits
    # must be zero, so the result is still canonical base64 of 32 bytes (a mismatch, not malformed).
    i = next(i for i, c in enumerate(ref_sig) if c.isalpha())
    case_flipped = ref_sig[:i] + ref_sig[i].swapcase() + ref_sig[i + 1:]
    assert len(strict_b64decode(case_flipped)) == 32

    failures = [
        {"name": "rotation_signed_by_third_secret", "body": ref, "secrets": [old, new],
         "header": sig(ref, third), "expect": "signature_mismatch"},
        {"name": "wrong_secret", "body": ref, "secrets": ["not-the-right-secret"],
         "header": ref_sig, "expect": "signature_mismatch"},
        {"name": "fixture_reserialized_by_json_dumps", "body": {"utf8": reserialized},
         "secrets": [REF_SECRET], "header": sig(fixture, REF_SECRET),
         "expect": "signature_mismatch"},
        {"name": "signature_letter_case_flipped", "body": ref, "secrets": [REF_SECRET],
         "header": case_flipped, "expect": "signature_mismatch"},
        # Signed with the empty key, so only an up-front secret check rejects it.
        {"name": "empty_secret", "body": ref, "secrets": [""],
         "header": sig(ref, ""), "expect": "empty_secret"},
        {"name": "empty_secret_after_a_matching_one", "body": ref, "secrets": [REF_SECRET, ""],
         "header": ref_sig, "expect": "empty_secret"},
        {"name": "no_secrets", "body": ref, "secrets": [],
         "header": ref_sig, "expect": "missing_secret"},
        {"name": "header_absent", "body": ref, "secrets": [REF_SECRET],
         "header": None, "expect": "missing_signature"},
        {"name": "header_empty", "body": ref, "secrets": [REF_SECRET],
         "header": "", "expect": "missing_signature"},
        {"name": "header_only_spaces", "body": ref, "secrets": [REF_SECRET],
         "header": "   ", "expect": "missing_signature"},
        {"name": "header_only_tabs_and_spaces", "body": ref, "secrets": [REF_SECRET],
         "header": " \t ", "expect": "missing_signature"},
        {"name": "hex_digest", "body": ref, "secrets": [REF_SECRET],
         "header": mac.hex(), "expect": "malformed_signature"},
        {"name": "not_base64", "body": ref, "secrets": [REF_SECRET],
         "header": "not base64!!", "expect": "malformed_signature"},
        {"name": "base64_of_16_bytes", "body": ref, "secrets": [REF_SECRET],
         "header": base64.b64encode(mac[:16]).decode("ascii"), "expect": "malformed_signature"},
        {"name": "base64_of_48_bytes", "body": ref, "secrets": [REF_SECRET],
         "header": base64.b64encode(mac + mac[:16]).decode("ascii"),
         "expect": "malformed_signature"},
        {"name": "unpadded_base64", "body": ref, "secrets": [REF_SECRET],
         "header": unpadded, "expect": "malformed_signature"},
        {"name": "url_safe_base64", "body": ref, "secrets": [REF_SECRET],
         "header": url_safe, "expect": "malformed_signature"},
    ]

    verify_cases = ok_cases + twins + failures
    for case in verify_cases:
        got = verify(decode_body(case["body"]), case["secrets"], case["header"])
        assert got == case["expect"], (case["name"], got)
    for case in sign_cases:
        if "signature" in case:
            assert verify(decode_body(case["body"]), [case["secret"]], case["signature"]) == "ok"

    names = [c["name"] for c in verify_cases]
    assert len(names) == len(set(names)), "duplicate verify case names"

    return {
        "about": "HMAC-SHA256 webhook signature vectors: base64(HMAC-SHA256(secret UTF-8 bytes, "
                 "raw body bytes)) as sent in X-CommerceLayer-Signature.",
        "sign": sign_cases,
        "verify": verify_cases,
    }


# ---------------------------------------------------------------------------
# Topics

SEGMENT = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


MAX_TOPIC_LEN = 128


def parse_topic(text):
    """(resource, event), or None when not `{resource}.{event}` in lowercase snake_case, in
    at most MAX_TOPIC_LEN bytes."""
    if len(text.encode("utf-8")) > MAX_TOPIC_LEN:
        return None
    parts = text.split(".")
    if len(parts) != 2 or not all(SEGMENT.fullmatch(p) for p in parts):
        return None
    return parts[0], parts[1]


def parse_pattern(text):
    """("*", "*") for `*`, else (resource|"*", event|"*"); None when invalid."""
    if len(text.encode("utf-8")) > MAX_TOPIC_LEN:
        return None
    if text == "*":
        return "*", "*"
    parts = text.split(".")
    if len(parts) != 2 or not all(p == "*" or SEGMENT.fullmatch(p) for p in parts):
        return None
    return parts[0], parts[1]


def pattern_matches(pattern, topic):
    pr, pe = pattern
    tr, te = topic
    return (pr == "*" or pr == tr) and (pe == "*" or pe == te)


def load_topics():
    lines = TOPICS_TSV.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    assert header == ["topic", "in_seed_doc", "docs_2021", "app_2024", "dashboard_2026",
                      "seed_trigger_description"], header
    rows = {}
    for line in lines[1:]:
        if not line:
            continue
        cols = line.split("\t")
        assert len(cols) == len(header), line
        topic = cols[0]
        assert parse_topic(topic) is not None, topic
        assert topic not in rows, topic
        rows[topic] = cols[5] or None
    return rows


def build_topics():
    catalogue = load_topics()
    resources = {t.split(".")[0] for t in catalogue}
    assert len(catalogue) == 188 and len(resources) == 43, (len(catalogue), len(resources))

    samples = [
        "orders.place", "orders.start_fulfilling", "orders.destroy", "shipments.create",
        "shipments.ship", "customers.create", "customer_password_resets.create",
        "imports.complete", "addresses.tagged", "authorizations.create",
    ]
    known = [{"topic": t, "description": catalogue[t]} for t in samples]
    assert any(k["description"] is None for k in known)
    assert any("`" in (k["description"] or "") for k in known)

    parse_inputs = [
        "orders.place", "shipments.ship", "customers.create", "orders.start_fulfilling",
        "shipments.create", "addresses.tagged",
        "orders.explode", "widgets.create", "order_copies2.create_v2",
        "", "orders", "orders.", ".place", "Orders.Place", "orders.place.x", "orders .place",
        " orders.place", "orders.place ", "orders..place", "orders._place", "orders.place_",
        "orders.pla__ce", "ord-ers.place", "orders.plàce", "*.place", "orders.*",
        "_orders.place", "1orders.place", "orders.place\n",
        # The length limit: 128 bytes pass, 129 do not.
        "orders." + "a" * 121, "orders." + "a" * 122, "orders." + "a" * 10_000,
    ]
    parse = []
    for text in parse_inputs:
        parsed = parse_topic(text)
        if parsed is None:
            parse.append({"input": text, "error": "invalid_topic"})
        else:
            parse.append({"input": text, "resource": parsed[0], "event": parsed[1],
                          "known": text in catalogue})
    assert not any(p.get("known") for p in parse if p["input"] in
                   ("orders.explode", "widgets.create", "order_copies2.create_v2"))

    pattern_pairs = [
        ("*", "orders.place"),
        ("*", "widgets.create"),
        ("*.*", "shipments.ship"),
        ("*.*", "order_copies.create"),
        ("orders.*", "orders.place"),
        ("orders.*", "orders.explode"),
        ("orders.*", "order_copies.create"),
        ("orders.*", "orders_x.place"),
        ("*.destroy", "shipments.destroy"),
        ("*.destroy", "shipments.ship"),
        ("*.destroy", "orders.destroyed"),
        ("orders.place", "orders.place"),
        ("orders.place", "orders.placed"),
        ("orders.place", "order.place"),
        ("orders.start_fulfilling", "orders.start_fulfilling"),
        ("orders.start_fulfilling", "orders.start"),
    ]
    invalid_patterns = ["", "**", "orders.**", "orders*", "*.*.*", "Orders.*", "orders.", ".*",
                        "*.", " orders.*", "orders. *", "*." + "a" * 127]
    patterns = []
    for pat, topic in pattern_pairs:
        p, t = parse_pattern(pat), parse_topic(topic)
        assert p is not None and t is not None, (pat, topic)
        patterns.append({"pattern": pat, "topic": topic, "matches": pattern_matches(p, t)})
    for pat in invalid_patterns:
        assert parse_pattern(pat) is None, pat
        patterns.append({"pattern": pat, "error": "invalid_topic_pattern"})
    assert any(p.get("matches") is True for p in patterns)
    assert any(p.get("matches") is False for p in patterns)

    return {
        "catalogue": {"count": len(catalogue), "resources": len(resources), "known": known},
        "parse": parse,
        "patterns": patterns,
    }, catalogue


# ---------------------------------------------------------------------------
# Payloads: denormalization and receive


def denormalize(document, max_depth=2):
    """Resolve `included` into nested objects (see the module's vectors for the rules)."""
    index = {}
    for res in document.get("included") or []:
        index[(res["type"], res["id"])] = res

    def identifier(ident, path):
        key = (ident["type"], ident["id"])
        if key not in index or path.count(key) >= max_depth:
            return {"id": ident["id"], "type": ident["type"]}
        return resource(index[key], path + [key])

    def resource(res, path):
        out = {"id": res["id"], "type": res["type"]}
        out.update(res.get("attributes") or {})
        for name, rel in (res.get("relationships") or {}).items():
            if not isinstance(rel, dict) or "data" not in rel:
                continue
            data = rel["data"]
            if data is None:
                value = None
            elif isinstance(data, list):
                value = [identifier(d, path) for d in data]
            else:
                value = identifier(data, path)
            out.pop(name, None)
            out[name] = value
        return out

    root = document["data"]
    return resource(root, [(root["type"], root["id"])])


GROWTH_ALLOWANCE = 1 << 20


def utf16_len(text):
    return len(text.encode("utf-16-le")) // 2


def weight(res):
    """A resource's weight: 1, and per attribute member (nested too) 1 + its name's length, per
    value 1 + a string's length (UTF-16 units)."""
    total = 1
    stack = []

    def members(obj):
        nonlocal total
        for name, value in obj.items():
            total += 1 + utf16_len(name)
            stack.append(value)

    attributes = res.get("attributes")
    if isinstance(attributes, dict):
        members(attributes)
    while stack:
        value = stack.pop()
        total += 1
        if isinstance(value, str):
            total += utf16_len(value)
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            members(value)
    return total


def denormalize_budget(document, max_depth=2, max_nodes=100_000, max_growth=16):
    """Which budget the expansion runs out of first ("max_nodes", "max_growth"), or None. Walks
    the same tree as denormalize(): every object (resource or identifier) counts against
    max_nodes; every copy of a resource after its first adds its weight, which may reach
    GROWTH_ALLOWANCE or max_growth times the document's total weight, whichever is more."""
    resources = [document["data"]] + list(document.get("included") or [])
    index = {}
    for position, res in enumerate(resources[1:], start=1):
        index.setdefault((res["type"], res["id"]), position)
    copies = [0] * len(resources)
    state = {"objects": 0, "growth": 0}
    limit = max(GROWTH_ALLOWANCE, max_growth * sum(weight(r) for r in resources))

    class Over(Exception):
        pass

    def count_object():
        state["objects"] += 1
        if state["objects"] > max_nodes:
            raise Over("max_nodes")

    def node(position, path):
        count_object()
        copies[position] += 1
        if copies[position] >= 2:
            state["growth"] += weight(resources[position])
            if state["growth"] > GROWTH_ALLOWANCE and state["growth"] > limit:
                raise Over("max_growth")
        for rel in (resources[position].get("relationships") or {}).values():
            data = rel.get("data", "absent") if isinstance(rel, dict) else "absent"
            if data == "absent" or data is None:
                continue
            for ident in (data if isinstance(data, list) else [data]):
                key = (ident["type"], ident["id"])
                if key in index and path.count(key) < max_depth and len(path) < 32:
                    node(index[key], path + [key])
                else:
                    count_object()

    root = document["data"]
    try:
        node(0, [(root["type"], root["id"])])
    except Over as over:
        return str(over)
    return None


def json_pointer(doc, pointer):
    """RFC 6901."""
    if pointer == "":
        return doc
    assert pointer.startswith("/"), pointer
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, list):
            doc = doc[int(token)]
        else:
            doc = doc[token]
    return doc


def json_depth(value):
    if isinstance(value, dict):
        return 1 + max((json_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((json_depth(v) for v in value), default=0)
    return 0


def is_document(doc):
    """The shape of a webhook payload: one resource in data, resources in included, identifiers
    (or null, or a list of them) in each relationship's data; links and meta objects or null."""
    def optional_object(value):
        return value is None or isinstance(value, dict)

    def identifier(value):
        return (isinstance(value, dict) and isinstance(value.get("id"), str)
                and isinstance(value.get("type"), str))

    def relationship(value):
        if not (isinstance(value, dict) and optional_object(value.get("links"))
                and optional_object(value.get("meta"))):
            return False
        if "data" not in value or value["data"] is None:
            return True
        data = value["data"]
        return all(map(identifier, data)) if isinstance(data, list) else identifier(data)

    def resource(value):
        return (identifier(value)
                and isinstance(value.get("attributes", {}), dict)
                and optional_object(value.get("links")) and optional_object(value.get("meta"))
                and isinstance(value.get("relationships", {}), dict)
                and all(map(relationship, value.get("relationships", {}).values())))

    return (isinstance(doc, dict) and isinstance(doc.get("data"), dict) and resource(doc["data"])
            and isinstance(doc.get("included", []), list) and all(map(resource, doc.get("included", [])))
            and optional_object(doc.get("meta")) and optional_object(doc.get("links")))


def _reject_constant(name):
    raise ValueError(name)


def receive(body, headers, secrets, catalogue):
    """Reference receiver: (code, parsed document or None)."""
    def header(name):
        values = [v for k, v in headers if k.lower() == name.lower()]
        return values[0] if values else None

    code = verify(body, secrets, header(SIG_HEADER))
    if code != "ok":
        return code, None
    topic_text = header(TOPIC_HEADER)
    # A header value's surrounding whitespace is not part of it (HTTP's OWS).
    topic_text = None if topic_text is None else topic_text.strip(" \t")
    if not topic_text:
        return "missing_topic", None
    topic = parse_topic(topic_text)
    if topic is None:
        return "invalid_topic", None
    try:
        doc = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        return "invalid_json", None
    if json_depth(doc) > MAX_JSON_DEPTH:
        return "invalid_json", None
    if not is_document(doc):
        return "invalid_document", None
    if topic[0] != doc["data"]["type"]:
        return "topic_mismatch", None
    return "ok", doc


def idempotency_key(topic, body):
    """SHA-256 of the topic, a zero byte and the body's own SHA-256, in hex."""
    return hashlib.sha256(topic.encode("utf-8") + b"\0" + hashlib.sha256(body).digest()).hexdigest()


def build_denormalize_cases(fixture_doc):
    order = {"id": "ord1", "type": "orders", "links": {"self": "/api/orders/ord1"},
             "attributes": {"number": 1001, "status": "placed"}}

    def li(i, order_id="ord1", **extra):
        return {"id": f"li{i}", "type": "line_items",
                "attributes": {"sku_code": f"SKU{i}", "quantity": i},
                "relationships": {"order": {"links": {"related": f"/api/line_items/li{i}/order"},
                                            "data": {"type": "orders", "id": order_id}},
                                  **extra}}

    cases = [
        ("no_relationships",
         {"data": {"id": "c1", "type": "customers",
                   "attributes": {"email": "a@example.com", "metadata": {"tier": "gold"}}}}, None),
        ("to_one_included",
         {"data": {**order, "relationships": {
             "customer": {"links": {"self": "/api/orders/ord1/relationships/customer"},
                          "data": {"type": "customers", "id": "c1"}}}},
          "included": [{"id": "c1", "type": "customers", "attributes": {"email": "a@example.com"},
                        "links": {"self": "/api/customers/c1"}}]}, None),
        ("to_many_one_included_one_missing",
         {"data": {**order, "relationships": {
             "line_items": {"data": [{"type": "line_items", "id": "li1"},
                                     {"type": "line_items", "id": "li404"}]}}},
          "included": [{"id": "li1", "type": "line_items",
                        "attributes": {"sku_code": "SKU1", "quantity": 1}}]}, None),
        ("links_only_relationship_omitted",
         {"data": {**order, "relationships": {
             "attachments": {"links": {"related": "/api/orders/ord1/attachments"}},
             "market": {"data": {"type": "markets", "id": "m1"}}}}}, None),
        ("null_relationship_kept",
         {"data": {**order, "relationships": {"customer": {"data": None},
                                              "line_items": {"data": []}}}}, None),
        ("relationship_overrides_same_named_attribute",
         {"data": {**order,
                   "attributes": {"number": 1001, "customer": "legacy attribute value"},
                   "relationships": {"customer": {"data": {"type": "customers", "id": "c1"}}}},
          "included": [{"id": "c1", "type": "customers", "attributes": {"email": "a@example.com"}}]},
         None),
        # The primary resource is not looked up in `included` unless it is listed there.
        ("back_reference_to_root_not_in_included",
         {"data": {**order, "relationships": {
             "line_items": {"data": [{"type": "line_items", "id": "li1"},
                                     {"type": "line_items", "id": "li2"}]}}},
          "included": [li(1), li(2)]}, None),
    ]

    # order <-> line_items cycle among included resources, reached from a shipment.
    cycle_doc = {
        "data": {"id": "s1", "type": "shipments", "attributes": {"number": "1001/S/001"},
                 "relationships": {"order": {"data": {"type": "orders", "id": "ord1"}}}},
        "included": [
            {**order, "relationships": {"line_items": {"data": [
                {"type": "line_items", "id": "li1"}, {"type": "line_items", "id": "li2"}]}}},
            li(1), li(2),
        ],
    }
    cases.append(("cycle_order_line_items_default_depth", cycle_doc, None))
    cases.append(("cycle_order_line_items_max_depth_1", cycle_doc, 1))
    cases.append(("cycle_order_line_items_max_depth_3", cycle_doc, 3))

    # The root counts on the path: an order that is also listed in `included` (not valid
    # JSON:API, but it happens) is expanded once more below itself at depth 2.
    root_cycle = {
        "data": {**order, "relationships": {"line_items": {"data": [
            {"type": "line_items", "id": "li1"}]}}},
        "included": [
            {**order, "relationships": {"line_items": {"data": [
                {"type": "line_items", "id": "li1"}]}}},
            li(1),
        ],
    }
    cases.append(("cycle_through_root_listed_in_included", root_cycle, None))

    cases.append(("self_reference",
                  {"data": {**order, "relationships": {
                      "market": {"data": {"type": "markets", "id": "m1"}}}},
                   "included": [{"id": "m1", "type": "markets", "attributes": {"name": "USA"},
                                 "relationships": {"parent": {"data": {"type": "markets",
                                                                       "id": "m1"}}}}]},
                  None))
    cases.append(("self_reference_max_depth_1",
                  {"data": {**order, "relationships": {
                      "market": {"data": {"type": "markets", "id": "m1"}}}},
                   "included": [{"id": "m1", "type": "markets", "attributes": {"name": "USA"},
                                 "relationships": {"parent": {"data": {"type": "markets",
                                                                       "id": "m1"}}}}]},
                  1))

    # Graphs whose expansion outgrows the input: every resource relates to every other.
    def complete(n, text, kind="things"):
        def thing(i):
            return {"id": str(i), "type": kind, "attributes": {"text": text},
                    "relationships": {"all": {"data": [{"id": str(j), "type": kind}
                                                       for j in range(n) if j != i]}}}
        return {"data": thing(0), "included": [thing(i) for i in range(1, n)]}

    limited = [
        # 1.3 KB that makes over 100,000 objects.
        ("complete_graph_of_6_too_many_objects", complete(6, "x" * 40), None, "max_nodes"),
        # 2 KB whose copies would pass 16 times its size long before 100,000 objects.
        ("complete_graph_of_5_big_attributes_grows_too_much", complete(5, "y" * 400), None, "max_growth"),
        # The same graph expanded once per path: 4 + 4·3 + … copies, within the allowance.
        ("complete_graph_of_5_max_depth_1_fits", complete(5, "z" * 1_000), 1, None),
        # Non-ASCII text weighs its UTF-16 length in every runtime.
        ("complete_graph_of_5_astral_text_grows_too_much", complete(5, "\U0001F600" * 200), None, "max_growth"),
    ]

    out = []
    for name, doc, depth in cases:
        case = {"name": name, "document": doc}
        if depth is not None:
            case["max_depth"] = depth
            case["expected"] = denormalize(doc, depth)
        else:
            case["expected"] = denormalize(doc)
        assert denormalize_budget(doc, depth or 2) is None, name
        out.append(case)
    for name, doc, depth, over in limited:
        assert denormalize_budget(doc, depth or 2) == over, (name, denormalize_budget(doc, depth or 2))
        case = {"name": name, "document": doc}
        if depth is not None:
            case["max_depth"] = depth
        if over is None:
            case["expected"] = denormalize(doc, depth or 2)
        else:
            case["error"] = "denormalize_limit"
            case["limit"] = over
        out.append(case)

    # Hand-checked spot values, so a bug in denormalize() above cannot pass unnoticed.
    by = {c["name"]: c.get("expected") for c in out}
    assert by["no_relationships"] == {"id": "c1", "type": "customers", "email": "a@example.com",
                                      "metadata": {"tier": "gold"}}
    assert by["to_many_one_included_one_missing"]["line_items"] == [
        {"id": "li1", "type": "line_items", "sku_code": "SKU1", "quantity": 1},
        {"id": "li404", "type": "line_items"}]
    assert "attachments" not in by["links_only_relationship_omitted"]
    assert by["links_only_relationship_omitted"]["market"] == {"id": "m1", "type": "markets"}
    assert by["null_relationship_kept"]["customer"] is None
    assert by["null_relationship_kept"]["line_items"] == []
    assert by["relationship_overrides_same_named_attribute"]["customer"]["email"] == "a@example.com"
    assert by["back_reference_to_root_not_in_included"]["line_items"][1]["order"] == {
        "id": "ord1", "type": "orders"}
    d2 = by["cycle_order_line_items_default_depth"]
    assert d2["order"]["line_items"][0]["order"]["line_items"][0]["order"] == {
        "id": "ord1", "type": "orders"}
    assert d2["order"]["line_items"][0]["order"]["number"] == 1001
    d1 = by["cycle_order_line_items_max_depth_1"]
    assert d1["order"]["line_items"][0]["order"] == {"id": "ord1", "type": "orders"}
    rc = by["cycle_through_root_listed_in_included"]
    assert rc["line_items"][0]["order"]["line_items"][0]["order"] == {"id": "ord1", "type": "orders"}
    sr = by["self_reference"]
    assert sr["market"]["parent"]["parent"] == {"id": "m1", "type": "markets"}
    assert by["self_reference_max_depth_1"]["market"]["parent"] == {"id": "m1", "type": "markets"}

    assert denormalize_budget(fixture_doc) is None
    full = {"name": "fixture_orders_place", "document": fixture_doc,
            "expected": denormalize(fixture_doc)}
    out.append(full)
    return out


def build_payloads(fixture_bytes, catalogue):
    fixture_doc = json.loads(fixture_bytes)
    secret = REF_SECRET
    fixture = {"file": FIXTURE_NAME}
    fix_sig = sign(fixture_bytes, secret)
    n_included = len(fixture_doc["included"])

    fixture_pointers = {
        "/id": "wBXVhZOmXO",
        "/type": "orders",
        "/number": 28030653,
        "/status": "placed",
        "/customer_email": "bolaji@commercelayer.io",
        "/customer/email": "bolaji@commercelayer.io",
        "/market/name": "USA",
        "/shipping_address/full_name": "Ayo Bolaji",
        "/payment_source/metadata/card/brand": "wire-transfer",
        "/line_items/2/sku_code": "EMUG12OZFFFFFF000000XXXX",
        "/line_items/0/sku_code": None,
        "/shipments/0/number": "28030653/S/001",
        "/shipments/0/shipping_method/name": "Express Delivery",
    }

    def signed(spec, topic="orders.place", sig_name=SIG_HEADER, topic_name=TOPIC_HEADER):
        h = [[sig_name, sign(decode_body(spec), secret)]]
        if topic is not None:
            h.append([topic_name, topic])
        return h

    def utf8(text):
        return {"utf8": text}

    destroy_body = utf8('{"data":{"id":"abc","type":"orders","attributes":{"number":null}}}')
    non_utf8_json = {"base64": base64.b64encode(
        b'{"data":{"id":"x","type":"orders","attributes":{"name":"\xff\xfe"}}}').decode("ascii")}

    cases = [
        {"name": "fixture_orders_place", "body": fixture,
         "headers": [[SIG_HEADER, fix_sig], [TOPIC_HEADER, "orders.place"]]},
        {"name": "fixture_lowercase_header_names", "body": fixture,
         "headers": [["x-commercelayer-signature", fix_sig],
                     ["x-commercelayer-topic", "orders.place"]]},
        {"name": "fixture_mixed_case_headers_with_content_type", "body": fixture,
         "headers": [["Content-Type", "application/vnd.api+json"],
                     ["User-Agent", "Faraday v1.10.0"],
                     ["X-COMMERCELAYER-TOPIC", "orders.place"],
                     ["x-CommerceLayer-signature", fix_sig]]},
        {"name": "fixture_unknown_well_formed_topic", "body": fixture,
         "headers": [[SIG_HEADER, fix_sig], [TOPIC_HEADER, "orders.explode"]]},
        {"name": "destroy_document_only_id", "body": destroy_body,
         "headers": signed(destroy_body, "orders.destroy")},
        {"name": "fixture_signature_missing", "body": fixture,
         "headers": [[TOPIC_HEADER, "orders.place"]]},
        {"name": "fixture_signature_malformed", "body": fixture,
         "headers": [[SIG_HEADER, "not base64!!"], [TOPIC_HEADER, "orders.place"]]},
        {"name": "fixture_tampered", "body": flipped(fixture, len(fixture_bytes) // 2),
         "headers": [[SIG_HEADER, fix_sig], [TOPIC_HEADER, "orders.place"]]},
        {"name": "fixture_wrong_secret", "body": fixture,
         "headers": [[SIG_HEADER, sign(fixture_bytes, "another-secret")],
                     [TOPIC_HEADER, "orders.place"]]},
        {"name": "fixture_topic_missing", "body": fixture, "headers": [[SIG_HEADER, fix_sig]]},
        {"name": "fixture_topic_uppercase", "body": fixture,
         "headers": [[SIG_HEADER, fix_sig], [TOPIC_HEADER, "Orders.Place"]]},
        {"name": "fixture_topic_other_resource", "body": fixture,
         "headers": [[SIG_HEADER, fix_sig], [TOPIC_HEADER, "shipments.ship"]]},
        {"name": "not_json_text", "body": utf8("not json"), "headers": signed(utf8("not json"))},
        {"name": "truncated_json", "body": utf8("{"), "headers": signed(utf8("{"))},
        {"name": "non_utf8_body", "body": non_utf8_json, "headers": signed(non_utf8_json)},
    ]
    for suffix, text in [
        ("top_level_array", "[]"),
        ("empty_object", "{}"),
        ("data_null", '{"data":null}'),
        ("data_empty_array", '{"data":[]}'),
        ("data_without_id", '{"data":{"type":"orders"}}'),
        ("data_without_type", '{"data":{"id":"x"}}'),
        ("attributes_null", '{"data":{"id":"x","type":"orders","attributes":null}}'),
        ("relationships_an_array", '{"data":{"id":"x","type":"orders","relationships":[]}}'),
        ("relationship_null", '{"data":{"id":"x","type":"orders","relationships":{"customer":null}}}'),
        ("relationship_id_a_number",
         '{"data":{"id":"x","type":"orders","relationships":{"customer":{"data":{"id":1,"type":"customers"}}}}}'),
        ("to_many_item_a_string",
         '{"data":{"id":"x","type":"orders","relationships":{"line_items":{"data":["li1"]}}}}'),
        ("relationship_data_a_string",
         '{"data":{"id":"x","type":"orders","relationships":{"customer":{"data":"c1"}}}}'),
        ("included_null", '{"data":{"id":"x","type":"orders"},"included":null}'),
        ("included_item_a_string", '{"data":{"id":"x","type":"orders"},"included":["c1"]}'),
        ("included_item_without_id", '{"data":{"id":"x","type":"orders"},"included":[{"type":"customers"}]}'),
        ("meta_a_string", '{"data":{"id":"x","type":"orders"},"meta":"m"}'),
        ("data_id_is_a_number", '{"data":{"id":1,"type":"orders"}}'),
        ("data_is_a_string", '{"data":"orders"}'),
        ("data_is_a_resource_array", '{"data":[{"id":"x","type":"orders"}]}'),
    ]:
        cases.append({"name": "invalid_document_" + suffix, "body": utf8(text),
                      "headers": signed(utf8(text))})
    # Check order: signature, then topic header, then JSON, then topic vs data.type.
    cases += [
        {"name": "precedence_tampered_body_and_no_topic",
         "body": flipped(fixture, len(fixture_bytes) // 2), "headers": [[SIG_HEADER, fix_sig]]},
        {"name": "precedence_no_signature_and_invalid_topic", "body": fixture,
         "headers": [[TOPIC_HEADER, "Orders.Place"]]},
        {"name": "precedence_invalid_topic_and_invalid_json", "body": utf8("not json"),
         "headers": signed(utf8("not json"), "Orders.Place")},
        {"name": "precedence_invalid_json_and_other_resource_topic", "body": utf8("{"),
         "headers": signed(utf8("{"), "shipments.ship")},
        {"name": "precedence_invalid_document_and_other_resource_topic",
         "body": utf8('{"data":{"type":"orders"}}'),
         "headers": signed(utf8('{"data":{"type":"orders"}}'), "shipments.ship")},
    ]

    expected_codes = {
        "fixture_orders_place": "ok",
        "fixture_lowercase_header_names": "ok",
        "fixture_mixed_case_headers_with_content_type": "ok",
        "fixture_unknown_well_formed_topic": "ok",
        "destroy_document_only_id": "ok",
        "fixture_signature_missing": "missing_signature",
        "fixture_signature_malformed": "malformed_signature",
        "fixture_tampered": "signature_mismatch",
        "fixture_wrong_secret": "signature_mismatch",
        "fixture_topic_missing": "missing_topic",
        "fixture_topic_uppercase": "invalid_topic",
        "fixture_topic_other_resource": "topic_mismatch",
        "not_json_text": "invalid_json",
        "truncated_json": "invalid_json",
        "non_utf8_body": "invalid_json",
        "precedence_tampered_body_and_no_topic": "signature_mismatch",
        "precedence_no_signature_and_invalid_topic": "missing_signature",
        "precedence_invalid_topic_and_invalid_json": "invalid_topic",
        "precedence_invalid_json_and_other_resource_topic": "invalid_json",
        "precedence_invalid_document_and_other_resource_topic": "invalid_document",
    }

    receive_cases = []
    for case in cases:
        case = {"name": case["name"], "body": case["body"], "headers": case["headers"],
                "secrets": [secret]}
        body = decode_body(case["body"])
        code, doc = receive(body, case["headers"], case["secrets"], catalogue)
        want = expected_codes.get(case["name"], "invalid_document")
        assert code == want, (case["name"], code, want)
        case["expect"] = code
        if code == "ok":
            topic = [v for k, v in case["headers"] if k.lower() == TOPIC_HEADER.lower()][0]
            den = denormalize(doc)
            if case["name"] == "destroy_document_only_id":
                pointers = {"": {"id": "abc", "type": "orders", "number": None},
                            "/number": None}
            else:
                pointers = fixture_pointers
            for ptr, value in pointers.items():
                assert json_pointer(den, ptr) == value, (case["name"], ptr)
            case.update({"topic": topic, "type": doc["data"]["type"], "id": doc["data"]["id"],
                         "included": len(doc.get("included") or []),
                         "idempotency_key": idempotency_key(topic.strip(), body),
                         "denormalized": pointers})
        receive_cases.append(case)

    ok = {c["name"]: c for c in receive_cases if c["expect"] == "ok"}
    assert ok["fixture_orders_place"]["included"] == n_included == 14
    assert ok["destroy_document_only_id"]["included"] == 0
    names = [c["name"] for c in receive_cases]
    assert len(names) == len(set(names))

    return {"receive": receive_cases, "denormalize": build_denormalize_cases(fixture_doc)}


# ---------------------------------------------------------------------------
# receiver.json: whole HTTP exchanges, request in, status and error code out


RECEIVER_SECRETS = ["new-secret", "old-secret"]
RECEIVER_ROUTES = ["orders.*", "*.destroy", "*"]
MAX_BODY_BYTES = 5 * 1024 * 1024


def http_status(code):
    """The status a receiver answers a refused request with (the reference for every receiver)."""
    if code in ("missing_signature", "malformed_signature", "signature_mismatch"):
        return 401
    if code in ("empty_secret", "missing_secret"):
        return 500
    return 400


def exchange(method, spec, headers, catalogue, seen):
    """Reference receiver for one request: (status, error code or None, duplicate, key or None)."""
    if method != "POST":
        return 405, "method_not_allowed", False, None
    body = decode_body(spec)
    if len(body) > MAX_BODY_BYTES:
        return 413, "payload_too_large", False, None
    code, doc = receive(body, headers, RECEIVER_SECRETS, catalogue)
    if code != "ok":
        return http_status(code), code, False, None
    topic = [v for k, v in headers if k.lower() == TOPIC_HEADER.lower()][0].strip()
    key = idempotency_key(topic, body)
    duplicate = key in seen
    seen.add(key)
    return 200, None, duplicate, key


def routes_of(topic):
    resource, event = topic.split(".")
    out = []
    for i, pattern in enumerate(RECEIVER_ROUTES):
        if pattern == "*":
            out.append(i)
            continue
        r, e = pattern.split(".")
        if r in ("*", resource) and e in ("*", event):
            out.append(i)
    return out


def build_receiver(fixture_bytes, catalogue):
    fixture = {"file": FIXTURE_NAME}
    # Distinct bodies for distinct deliveries, so cases do not see each other as duplicates.
    variant = lambda n: {"file": FIXTURE_NAME, "append": "\n" * n}
    destroy = {"utf8": '{"data":{"id":"o2","type":"orders","attributes":{}}}'}

    def signed(spec, secret="new-secret", topic="orders.place", lower=False):
        sig_name, topic_name = (SIG_HEADER.lower(), TOPIC_HEADER.lower()) if lower else (SIG_HEADER, TOPIC_HEADER)
        h = [["Content-Type", "application/vnd.api+json"], [sig_name, sign(decode_body(spec), secret)]]
        if topic is not None:
            h.append([topic_name, topic])
        return h

    hex_sig = hmac.new(b"new-secret", decode_body(variant(9)), hashlib.sha256).hexdigest()
    not_json = {"utf8": '{"data": nope'}
    not_doc = {"utf8": '{"meta":{"note":"no data"}}'}
    huge = {"repeat": " ", "length": 6 * 1024 * 1024}
    raw = [
        ("a signed orders.place", "POST", fixture, signed(fixture)),
        ("the same delivery again: a duplicate", "POST", fixture, signed(fixture)),
        ("signed with the previous secret during a rotation", "POST", variant(1), signed(variant(1), "old-secret")),
        ("header names in lowercase", "POST", variant(2), signed(variant(2), lower=True)),
        ("orders.destroy goes to two more routes", "POST", destroy, signed(destroy, topic="orders.destroy")),
        ("another webhook's secret", "POST", variant(3), signed(variant(3), "attacker")),
        ("a tampered body", "POST", dict(variant(4), flip=100), signed(variant(4))),
        ("no signature header", "POST", variant(5), [["X-CommerceLayer-Topic", "orders.place"]]),
        ("a hex digest for a signature", "POST", variant(9),
         [[SIG_HEADER, hex_sig], [TOPIC_HEADER, "orders.place"]]),
        ("a signature that is not base64", "POST", variant(6), [[SIG_HEADER, "not base64!"], [TOPIC_HEADER, "orders.place"]]),
        ("no topic header", "POST", variant(7), signed(variant(7), topic=None)),
        ("a malformed topic", "POST", variant(8), signed(variant(8), topic="Orders.Place")),
        ("a topic about another resource", "POST", variant(10), signed(variant(10), topic="shipments.ship")),
        ("a body that is not JSON", "POST", not_json, signed(not_json)),
        ("JSON that is not a JSON:API document", "POST", not_doc, signed(not_doc)),
        ("a GET", "GET", {"utf8": ""}, []),
        ("a signed PUT", "PUT", variant(11), signed(variant(11))),
        ("a body over the 5 MiB limit", "POST", huge, signed({"utf8": "x"})),
    ]
    seen = set()
    requests = []
    for name, method, spec, headers in raw:
        status, error, duplicate, key = exchange(method, spec, headers, catalogue, seen)
        case = {"name": name, "method": method, "headers": headers, "body": spec,
                "expect": {"status": status, "error": error, "duplicate": duplicate}}
        if status == 200 and not duplicate:
            # What the handlers get: the routes the topic matches, and the delivery's key.
            topic = [v for k, v in headers if k.lower() == TOPIC_HEADER.lower()][0]
            case["expect"]["routes"] = routes_of(topic)
            case["expect"]["idempotency_key"] = key
        requests.append(case)

    # In order, on one receiver whose handler fails when the case says so: a failed delivery is
    # not recorded, so its retry runs; once handled, it is a duplicate.
    retried = variant(12)
    sequence = [
        {"name": "the handler fails", "body": retried, "headers": signed(retried), "handler": "fail",
         "expect": {"status": 500, "error": "handler_failed", "duplicate": False}},
        {"name": "the retry runs the handler again", "body": retried, "headers": signed(retried), "handler": "ok",
         "expect": {"status": 200, "error": None, "duplicate": False}},
        {"name": "the next retry is a duplicate", "body": retried, "headers": signed(retried), "handler": "ok",
         "expect": {"status": 200, "error": None, "duplicate": True}},
    ]
    return {
        "secrets": RECEIVER_SECRETS,
        "routes": RECEIVER_ROUTES,
        "max_body_bytes": MAX_BODY_BYTES,
        "requests": requests,
        "sequence": sequence,
    }


# ---------------------------------------------------------------------------


def write_json(name, value):
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    (HERE / name).write_text(text, encoding="utf-8", newline="\n")
    return len(text.encode("utf-8"))


# Commerce Layer's published delivery addresses ("commercelayer" in an allow-list).
COMMERCE_LAYER_IPS = ["54.246.59.198", "99.81.212.137", "54.74.119.33",
                      "3.220.172.67", "34.202.177.238", "52.0.55.171"]


def reference_admits(sources, peer, headers):
    """Reference allow-list: 'ok', 'forbidden_source' or 'invalid_source'."""
    import ipaddress

    def address(text):
        text = text.strip()
        if text.startswith("["):
            inside, _, rest = text[1:].partition("]")
            if rest and not (rest.startswith(":") and rest[1:].isdigit() and int(rest[1:]) < 65536):
                return None
            text = inside
        elif text.count(":") == 1:
            host, _, port = text.partition(":")
            if not (port.isdigit() and int(port) < 65536):
                return None
            text = host
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return None
        if ip.version == 6 and ip.ipv4_mapped:
            return ip.ipv4_mapped
        return ip

    def network(text):
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            return None
        if net.version == 6 and net.network_address.ipv4_mapped and net.prefixlen >= 96:
            return ipaddress.ip_network(f"{net.network_address.ipv4_mapped}/{net.prefixlen - 96}")
        return net

    entries = []
    for entry in sources["allow"]:
        entries += COMMERCE_LAYER_IPS if entry.strip().lower() == "commercelayer" else [entry]
    allow = [network(e) for e in entries]
    proxies = [network(p) for p in sources.get("proxies", [])]
    if None in allow or None in proxies:
        return "invalid_source"
    inside = lambda ip, nets: ip is not None and any(ip.version == n.version and ip in n for n in nets)
    header = lambda name: next((v for k, v in headers if k.lower() == name.lower()), None)
    forwarded = sources.get("forwarded")
    caller = address(peer) if peer is not None else None
    if forwarded and forwarded.lower() == "x-forwarded-for":
        if caller is not None and inside(caller, proxies):
            for hop in reversed([h.strip() for h in (header("X-Forwarded-For") or "").split(",") if h.strip()]):
                hop_ip = address(hop)
                if hop_ip is None:
                    caller = None
                    break
                caller = hop_ip
                if not inside(hop_ip, proxies):
                    break
    elif forwarded:
        if caller is None or inside(caller, proxies):
            value = header(forwarded)
            caller = address(value) if value is not None else None
    return "ok" if inside(caller, allow) else "forbidden_source"


def build_sources():
    """Allow-list cases: who may deliver to a receiver with `sources` set."""
    cl = {"allow": ["commercelayer"]}
    behind = {"allow": ["commercelayer"], "proxies": ["10.0.0.0/8", "127.0.0.1"], "forwarded": "x-forwarded-for"}
    worker = {"allow": ["commercelayer"], "forwarded": "cf-connecting-ip"}
    raw = [
        ("published_address", cl, "54.246.59.198", []),
        ("published_address_with_port", cl, "52.0.55.171:44312", []),
        ("published_address_ipv4_mapped", cl, "::ffff:3.220.172.67", []),
        ("loopback_refused", cl, "127.0.0.1", []),
        ("no_peer_refused", cl, None, []),
        ("header_ignored_without_trust", cl, "127.0.0.1", [["X-Forwarded-For", "54.246.59.198"]]),
        ("cidr_block", {"allow": ["10.0.0.0/8"]}, "10.200.3.4", []),
        ("cidr_block_outside", {"allow": ["10.0.0.0/8"]}, "11.0.0.1", []),
        ("ipv6_block", {"allow": ["2001:db8::/32"]}, "[2001:db8::7]:443", []),
        ("ipv6_outside", {"allow": ["2001:db8::/32"]}, "2001:db9::1", []),
        ("trusted_proxy_names_caller", behind, "10.1.1.1", [["X-Forwarded-For", "54.74.119.33"]]),
        ("trusted_proxy_chain", behind, "127.0.0.1", [["x-forwarded-for", "6.6.6.6, 54.74.119.33, 10.9.9.9"]]),
        ("trusted_proxy_spoofed_last_hop", behind, "127.0.0.1", [["X-Forwarded-For", "54.74.119.33, 6.6.6.6"]]),
        ("trusted_proxy_junk_hop", behind, "127.0.0.1", [["X-Forwarded-For", "54.74.119.33, junk"]]),
        ("trusted_proxy_without_header", behind, "127.0.0.1", []),
        ("untrusted_peer_header_ignored", behind, "8.8.8.8", [["X-Forwarded-For", "54.74.119.33"]]),
        ("platform_header", worker, None, [["CF-Connecting-IP", "34.202.177.238"]]),
        ("platform_header_other", worker, None, [["cf-connecting-ip", "34.202.177.239"]]),
        ("platform_header_from_untrusted_peer", worker, "34.202.177.239", [["CF-Connecting-IP", "34.202.177.238"]]),
        ("invalid_prefix", {"allow": ["10.0.0.0/33"]}, "10.0.0.1", []),
        ("invalid_entry", {"allow": ["example.com"]}, "10.0.0.1", []),
    ]
    cases = []
    for name, sources, peer, headers in raw:
        cases.append({"name": name, "sources": sources, "peer": peer, "headers": headers,
                      "expect": reference_admits(sources, peer, headers)})
    return {"cases": cases}


# ---------------------------------------------------------------------------
# bad-inputs.json: what a hostile sender or a careless user passes, and the one code every
# surface (Rust, the CLI, the package in each runtime) answers it with


BAD_SECRET = "bad-secret"


def build_bad_inputs(fixture_bytes, catalogue):
    doc = '{"data":{"id":"o1","type":"orders","attributes":{}}}'
    good = {"utf8": doc}
    good_sig = sign(doc.encode(), BAD_SECRET)
    cases = []

    def add(name, kind, expect, **fields):
        cases.append({"name": name, "class": kind, "expect": expect, **fields})

    # Signatures: the header as a hostile or careless sender writes it.
    def sig_case(name, signature, body=good, secrets=(BAD_SECRET,)):
        add(name, "signature", verify(decode_body(body), list(secrets), signature),
            op="verify", body=body, secrets=list(secrets), signature=signature)

    raw = hmac.new(BAD_SECRET.encode(), doc.encode(), hashlib.sha256).digest()
    sig_case("an empty signature", "")
    sig_case("a blank signature", " \t ")
    sig_case("the hex digest instead of base64", raw.hex())
    sig_case("base64 of 31 bytes", base64.b64encode(raw[:31]).decode())
    sig_case("base64 of 33 bytes", base64.b64encode(raw + b"\0").decode())
    sig_case("the URL-safe alphabet", base64.urlsafe_b64encode(raw).decode().replace("=", ""))
    sig_case("no padding", base64.b64encode(raw).decode().rstrip("="))
    sig_case("16 KiB of base64", "A" * (1 << 14))
    sig_case("non-ASCII in the header", "é" + good_sig[1:])
    sig_case("a NUL in the header", good_sig[:10] + "\0" + good_sig[11:])
    sig_case("another webhook's secret", sign(doc.encode(), "other"))
    sig_case("an empty secret", good_sig, secrets=("",))
    sig_case("no secret at all", good_sig, secrets=())
    sig_case("a body changed by one bit", good_sig, body={"utf8": doc, "flip": 5})
    sig_case("a body re-serialized with spaces", good_sig, body={"utf8": doc.replace(":", ": ")})
    sig_case("a megabyte body under a 512-byte body's signature", good_sig, body={"repeat": "x", "length": 1 << 20})

    # Topics and patterns.
    for name, text in [
        ("an empty topic", ""), ("a lone dot", "."), ("no event", "orders."),
        ("uppercase", "ORDERS.PLACE"), ("a space inside", "orders.pl ace"), ("three parts", "orders.place.now"),
        ("a NUL at the end", "orders.place\0"), ("a newline at the end", "orders.place\n"),
        ("accented letters", "ördérs.place"), ("129 bytes", "orders." + "a" * 122),
        ("128 bytes", "orders." + "a" * 121), ("16 KiB", "orders." + "a" * (1 << 14)),
        ("a right-to-left override", "orders.\u202eplace"),
    ]:
        add(f"topic: {name}", "topic", "ok" if parse_topic(text) else "invalid_topic", op="topic", input=text)
    for name, text in [
        ("two stars", "**"), ("three parts", "orders.*.*"), ("a star and nothing", "*."),
        ("a star glued to a word", "orders.place*"), ("a leading space", " *"),
        ("16 KiB", "*." + "a" * (1 << 14)),
    ]:
        add(f"pattern: {name}", "pattern", "ok" if parse_pattern(text) else "invalid_topic_pattern",
            op="pattern", input=text)

    # Documents: what the body holds once the signature passed.
    def doc_case(name, body):
        data = decode_body(body)
        try:
            value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
            expect = "ok" if json_depth(value) <= MAX_JSON_DEPTH and is_document(value) else (
                "invalid_json" if json_depth(value) > MAX_JSON_DEPTH else "invalid_document")
        except (UnicodeDecodeError, ValueError):
            expect = "invalid_json"
        add(f"document: {name}", "document", expect, op="document", body=body)

    doc_case("empty", {"utf8": ""})
    doc_case("invalid UTF-8", {"base64": base64.b64encode(b'{"data":"\xff"}').decode()})
    doc_case("a byte-order mark first", {"base64": base64.b64encode(b"\xef\xbb\xbf" + doc.encode()).decode()})
    doc_case("null", {"utf8": "null"})
    doc_case("an array", {"utf8": "[]"})
    doc_case("data is a list", {"utf8": '{"data":[]}'})
    doc_case("data is null", {"utf8": '{"data":null}'})
    doc_case("an id that is a number", {"utf8": '{"data":{"id":1,"type":"orders"}}'})
    doc_case("no type", {"utf8": '{"data":{"id":"o1"}}'})
    doc_case("attributes that are a list", {"utf8": '{"data":{"id":"o1","type":"orders","attributes":[]}}'})
    doc_case("a relationship's id that is a number",
             {"utf8": '{"data":{"id":"o1","type":"orders","relationships":{"customer":{"data":{"id":7,"type":"customers"}}}}}'})
    doc_case("included that is an object", {"utf8": '{"data":{"id":"o1","type":"orders"},"included":{}}'})
    doc_case("an included entry that is a string", {"utf8": '{"data":{"id":"o1","type":"orders"},"included":["x"]}'})
    doc_case("trailing garbage", {"utf8": doc + "x"})
    doc_case("NaN", {"utf8": '{"data":{"id":"o1","type":"orders","attributes":{"n":NaN}}}'})
    doc_case("100 levels of nesting in an attribute", {"utf8": '{"data":{"id":"o1","type":"orders","attributes":{"a":'
                                                             + "[" * 100 + "]" * 100 + "}}}"})

    # Denormalize: graphs whose expansion would outgrow any budget.
    def graph(n, text):
        def thing(i):
            return {"id": str(i), "type": "things", "attributes": {"text": text},
                    "relationships": {"all": {"data": [{"id": str(j), "type": "things"} for j in range(n) if j != i]}}}
        return {"data": thing(0), "included": [thing(i) for i in range(1, n)]}

    def chain(n):
        def link(i):
            return {"id": str(i), "type": "links",
                    "relationships": {"next": {"data": {"id": str(i + 1), "type": "links"}}}}
        return {"data": link(0), "included": [link(i) for i in range(1, n)]}

    for name, document, depth in [
        ("a complete graph of 7", graph(7, "x"), None),
        ("a complete graph of 5 with 1 KB attributes", graph(5, "y" * 1000), None),
        ("a complete graph of 5, each resource once per path", graph(5, "z" * 1000), 1),
        ("a chain of 300 resources (cut at 32 levels)", chain(300), None),
        ("max_depth 0", graph(3, "x"), 0),
    ]:
        over = denormalize_budget(document, 2 if depth is None else depth)
        case = {"op": "denormalize", "document": document}
        if depth is not None:
            case["max_depth"] = depth
        add(f"denormalize: {name}", "denormalize", "denormalize_limit" if over else "ok", **case)

    # Whole deliveries through receive (signature, topic, document, resource type).
    def delivery(name, body, headers):
        code, _ = receive(decode_body(body), headers, [BAD_SECRET], catalogue)
        add(f"receive: {name}", "receive", code, op="receive", body=body, headers=headers, secrets=[BAD_SECRET])

    signed = lambda body, topic="orders.place": [[SIG_HEADER, sign(decode_body(body), BAD_SECRET)], [TOPIC_HEADER, topic]]
    delivery("no headers at all", good, [])
    delivery("only a topic", good, [[TOPIC_HEADER, "orders.place"]])
    delivery("a signature and no topic", good, [[SIG_HEADER, good_sig]])
    delivery("an 8 KiB topic", good, signed(good, "orders." + "a" * (1 << 13)))
    delivery("a topic about another resource", good, signed(good, "shipments.ship"))
    delivery("a topic with surrounding spaces", good, signed(good, "  orders.place  "))
    delivery("header names in odd case", good, [["x-COMMERCELAYER-signature", good_sig], ["X-CommerceLayer-TOPIC", "orders.place"]])
    not_json = {"utf8": "{nope"}
    delivery("a signed body that is not JSON", not_json, signed(not_json))
    type_huge = {"utf8": '{"data":{"id":"o1","type":"' + "a" * 16_384 + '"}}'}
    delivery("a signed body whose type is 16 KiB", type_huge, signed(type_huge))
    delivery("the real orders.place under orders.cancel", {"file": FIXTURE_NAME}, signed({"file": FIXTURE_NAME}, "orders.cancel"))

    # Scenarios: a few hundred bytes that ask for any amount of work.
    hook = {"id": "w", "topic": "orders.place", "callback_url": "https://w.example/hooks", "shared_secret": "s"}

    def scenario(name, expect, value=None, text=None):
        add(f"simulate: {name}", "scenario", expect, op="simulate",
            scenario=text if text is not None else json.dumps(value))

    scenario("not JSON", "invalid_scenario", text="{")
    scenario("webhooks that are not a list", "invalid_scenario", {"webhooks": 1})
    scenario("two million events", "invalid_scenario",
             {"webhooks": [hook], "events": [{"at_ms": 0, "topic": "orders.place", "count": 2_000_000}]})
    scenario("1,200,000 deliveries", "invalid_scenario",
             {"webhooks": [hook, {**hook, "id": "v"}], "events": [{"at_ms": 0, "topic": "orders.place", "count": 600_000}]})
    scenario("a million 4 KB payloads", "invalid_scenario",
             {"webhooks": [hook], "events": [{"at_ms": 0, "topic": "orders.place", "count": 1_000_000, "every_ms": 1,
                                              "payload": {"data": {"id": "o", "type": "orders", "attributes": {"x": "y" * 4000}}}}]})
    scenario("a failure rate of 2", "invalid_scenario",
             {"webhooks": [hook], "endpoints": {"https://w.example/hooks": {"failure_rate": 2}}})
    scenario("a callback URL that is not https", "invalid_callback_url", {"webhooks": [{**hook, "callback_url": "ftp://w.example/"}]})
    scenario("an include path Commerce Layer refuses", "invalid_include_path", {"webhooks": [{**hook, "include_resources": ["a"]}]})
    scenario("one webhook id twice", "duplicate_webhook_id", {"webhooks": [hook, hook]})
    scenario("a webhook id of 3,500 bytes (held by every timeline entry)", "invalid_scenario",
             {"webhooks": [{**hook, "id": "w" * 3500}], "events": [{"at_ms": 0, "topic": "orders.place"}]})
    scenario("an event payload about another resource", "topic_mismatch",
             {"webhooks": [hook], "events": [{"at_ms": 0, "topic": "orders.place", "payload": {"data": {"id": "s", "type": "shipments"}}}]})
    scenario("a billion retries and a breaker at 30: it opens", "ok",
             {"policy": {"max_retries": 1_000_000_000}, "webhooks": [hook],
              "endpoints": {"https://w.example/hooks": {"failure_rate": 1}}, "events": [{"at_ms": 0, "topic": "orders.place", "count": 3}]})
    scenario("2,000 events in the same millisecond to a slow endpoint", "ok",
             {"webhooks": [hook], "endpoints": {"https://w.example/hooks": {"latency_ms": 80}},
              "events": [{"at_ms": 0, "topic": "orders.place", "count": 2_000, "every_ms": 0}]})

    by_class = {}
    for case in cases:
        by_class[case["class"]] = by_class.get(case["class"], 0) + 1
    assert len(cases) >= 60, len(cases)
    assert len({c["name"] for c in cases}) == len(cases), "names are unique"
    return {"secret": BAD_SECRET, "cases": cases, "classes": by_class}


def main():
    fixture_bytes = (HERE / FIXTURE_NAME).read_bytes()
    topics, catalogue = build_topics()
    payloads = build_payloads(fixture_bytes, catalogue)
    outputs = {
        "signatures.json": build_signatures(fixture_bytes),
        "topics.json": topics,
        "payloads.json": payloads,
        "receiver.json": build_receiver(fixture_bytes, catalogue),
        "sources.json": build_sources(),
        "bad-inputs.json": build_bad_inputs(fixture_bytes, catalogue),
    }
    for name, value in outputs.items():
        size = write_json(name, value)
        print(f"wrote {name} ({size} bytes)")


if __name__ == "__main__":
    main()
