// The verify bench run inside workerd and Chromium (tests/bench/webcrypto.mjs): clhooks' wasm
// HMAC (the synchronous `verify`), the runtime's own WebCrypto with a cached key, and clhooks'
// `verifyAsync` (WebCrypto computes the tags, the core decides).

export const SIZES = [512, 4096, 65536, 1 << 20];
const SECRET = 'bench-secret-1c0994cc4e996e8c6ee5';

function body(size) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = 97 + ((i * 31 + 7) % 26);
  return bytes;
}

/** Makes the three contenders for one size; each returns a promise (or not) per call. */
export async function contenders(clhooks, size) {
  const bytes = body(size);
  const signature = clhooks.sign(bytes, SECRET);
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const verifier = new clhooks.Verifier(SECRET);
  return {
    'clhooks Verifier.verify (wasm, sync)': () => verifier.verify(bytes, signature),
    // What a receiver writes by hand: the header decoded on each call (as the node:crypto
    // baseline of bench.mjs does with Buffer.from(signature, 'base64')), the key imported once.
    'WebCrypto subtle.verify, cached key': async () => {
      const tag = Uint8Array.from(atob(signature), (c) => c.charCodeAt(0));
      if (!(await crypto.subtle.verify('HMAC', key, tag, bytes))) throw new Error('mismatch');
    },
    'clhooks Verifier.verifyAsync (WebCrypto + core)': () => verifier.verifyAsync(bytes, signature),
  };
}

/** Runs `fn` n times, awaiting each call. */
export async function repeat(fn, n) {
  for (let i = 0; i < n; i++) await fn();
}

/** How many calls make a sample of a size (larger bodies take longer). */
export const callsFor = (size) => Math.max(40, Math.round(20_000_000 / (size + 2000)));
