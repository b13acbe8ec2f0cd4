// Host crypto: the runtime's own HMAC-SHA256 where it beats the WebAssembly one — node:crypto
// (OpenSSL, with SHA extensions) on large bodies, WebCrypto in Workers and browsers. It only
// computes tags: the core decodes the header, compares in constant time and picks the error
// (verifyTags, and the `tags` of receive), exactly as with its own keys — except verifyAsync
// with one secret, where the core decodes the header and WebCrypto's own verify compares (in
// constant time too) before the core names a mismatch. The thresholds are
// the crossovers `make bench` measures (its verify tables in Node, workerd and Chromium).

/**
 * @typedef {object} Host
 * @property {(secrets: string[]) => any} keys the secrets, keyed once
 * @property {number} threshold bodies of at least this many bytes use the host's HMAC
 * @property {((keys: any, body: ArrayBufferView | string) => Uint8Array) | undefined} digest synchronous tags, back to back
 * @property {((keys: any, body: ArrayBufferView | string) => Promise<Uint8Array>) | undefined} digestAsync asynchronous tags
 * @property {((body: ArrayBufferView | string) => Uint8Array) | undefined} sha256 the SHA-256 of a body, synchronously
 * @property {((body: ArrayBufferView | string) => Promise<Uint8Array>) | undefined} sha256Async the same, asynchronously
 * @property {((keys: any, body: ArrayBufferView | string, tag: Uint8Array) => Promise<boolean | undefined> | undefined) | undefined} matchAsync
 *   with a single key, whether `tag` is the body's HMAC (WebCrypto's verify); `undefined` with several
 */

/**
 * The host of a runtime: node:crypto (`createHmac`) or WebCrypto (`crypto.subtle`); `null` when
 * there is neither.
 * @param {any} crypto node:crypto, or globalThis.crypto
 * @param {{ threshold?: number }} [options] for WebCrypto: the body size from which it is used
 * @returns {Host | null}
 */
export function createHost(crypto, options = {}) {
  /** Tags back to back; one tag as it is (node:crypto's Buffer is already a Uint8Array). */
  const concat = (tags) => {
    if (tags.length === 1) return tags[0] instanceof Uint8Array ? tags[0] : new Uint8Array(tags[0]);
    const out = new Uint8Array(tags.length * 32);
    tags.forEach((tag, i) => out.set(new Uint8Array(tag), i * 32));
    return out;
  };
  if (crypto && typeof crypto.createHmac === 'function' && typeof crypto.createSecretKey === 'function') {
    return {
      keys: (secrets) => secrets.map((secret) => crypto.createSecretKey(secret, 'utf8')),
      // Below this the wasm HMAC is faster: no per-call objects to make (make bench: about 1 KiB).
      threshold: 1024,
      digest: (keys, body) => (keys.length === 1
        ? crypto.createHmac('sha256', keys[0]).update(body).digest()
        : concat(keys.map((key) => crypto.createHmac('sha256', key).update(body).digest()))),
      digestAsync: undefined,
      matchAsync: undefined,
      sha256: (body) => crypto.createHash('sha256').update(body).digest(),
      sha256Async: undefined,
    };
  }
  const subtle = crypto && crypto.subtle;
  if (subtle && typeof subtle.importKey === 'function') {
    const encoder = new TextEncoder();
    const bytesOf = (body) => (typeof body === 'string' ? encoder.encode(body) : body);
    return {
      keys: (secrets) => {
        const handle = { ready: null, pending: null };
        handle.pending = Promise.all(secrets.map((secret) => subtle.importKey(
          'raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'],
        ))).then((keys) => {
          handle.ready = keys;
          return keys;
        });
        handle.pending.catch(() => {}); // a failure surfaces where the keys are awaited
        return handle;
      },
      // The wasm HMAC is faster on small bodies (make bench: below about 2 KiB in Chromium and
      // in workerd, where each WebCrypto call costs a turn of the loop); the entry says where.
      threshold: options.threshold ?? 0,
      digest: undefined,
      digestAsync: (handle, body) => {
        const bytes = bytesOf(body);
        const sign = (keys) => (keys.length === 1
          ? subtle.sign('HMAC', keys[0], bytes).then((tag) => new Uint8Array(tag))
          : Promise.all(keys.map((key) => subtle.sign('HMAC', key, bytes))).then(concat));
        // Keys resolved once are used at once: no extra turn of the loop per call.
        return handle.ready ? sign(handle.ready) : handle.pending.then(sign);
      },
      sha256: undefined,
      sha256Async: (body) => subtle.digest('SHA-256', bytesOf(body)).then((digest) => new Uint8Array(digest)),
      // With one secret, WebCrypto compares a tag the core decoded itself (in constant time).
      matchAsync: (handle, body, tag) => {
        const verify = (keys) => (keys.length === 1 ? subtle.verify('HMAC', keys[0], tag, bytesOf(body)) : undefined);
        return handle.ready ? verify(handle.ready) : handle.pending.then(verify);
      },
    };
  }
  return null;
}
