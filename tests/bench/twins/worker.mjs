// By hand, as a module Worker (workerd): WebCrypto's HMAC-SHA256 with the secret imported once,
// `crypto.subtle.verify` (constant time), the body decoded and parsed once, the handler, 200.
// With STORE `memory`, as twins/memory.mjs: a SHA-256 key of the topic and the body
// (`crypto.subtle.digest`) in a bounded Map of the isolate, a copy being handled answered 409,
// one handled before 200 (a duplicate), a failed handler's key freed for the retry.
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MAX = 10_000;
const seen = new Map(); // key -> 'busy' | 'done', oldest first
let key;
const handle = async (_event) => {};
const json = (status, value) => new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
const empty = (status) => new Response(null, { status });

export default {
  async fetch(request, env) {
    key ??= crypto.subtle.importKey('raw', encoder.encode(env.CL_WEBHOOK_SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    const body = new Uint8Array(await request.arrayBuffer());
    const topic = request.headers.get('x-commercelayer-topic') ?? '';
    let given;
    try {
      given = Uint8Array.from(atob(request.headers.get('x-commercelayer-signature') ?? ''), (c) => c.charCodeAt(0));
    } catch {
      return empty(401);
    }
    if (!(await crypto.subtle.verify('HMAC', await key, given, body))) return empty(401);
    let event;
    try {
      event = JSON.parse(decoder.decode(body));
    } catch {
      return empty(422);
    }
    if (env.STORE !== 'memory') {
      await handle(event);
      return json(200, { received: topic });
    }
    const named = encoder.encode(topic);
    const keyed = new Uint8Array(named.length + body.length);
    keyed.set(named);
    keyed.set(body, named.length);
    const id = [...new Uint8Array(await crypto.subtle.digest('SHA-256', keyed))].map((b) => b.toString(16).padStart(2, '0')).join('');
    const state = seen.get(id);
    if (state === 'done') return json(200, { received: topic, duplicate: true });
    if (state === 'busy') return empty(409);
    seen.set(id, 'busy');
    try {
      await handle(event);
    } catch {
      seen.delete(id);
      return empty(500);
    }
    seen.delete(id);
    seen.set(id, 'done');
    if (seen.size > MAX) seen.delete(seen.keys().next().value);
    return json(200, { received: topic });
  },
};
