// simulateLive: a scenario delivered over real HTTP with fetch. The core's delivery driver
// (clhooks::sender::Driver, the same one `clhooks simulate --live` runs) says which calls to
// make, when to wake and what each outcome means; this only makes the calls and sleeps.
// Every call is aborted after the policy's timeout (5 s by default), which the core counts
// as a failure.

/** @typedef {import('./index.js').CallFields & { body: BodyInit }} Call */

/**
 * @param {() => typeof import('./core/sender-bindings.js')} sender the sender's module, loaded on first use
 * @param {<F extends (...args: any[]) => any>(fn: F) => F} guarded its errors made WebhookErrors
 */
export function createLive(sender, guarded) {
  /**
   * At most `max` bytes of an answer's body, however much the endpoint sends: the rest is not
   * read (the stream is cancelled). What arrived before a broken or aborted body.
   * @param {Response} response
   * @param {number} max
   */
  async function readUpTo(response, max) {
    const out = new Uint8Array(max);
    let at = 0;
    const reader = response.body ? response.body.getReader() : null;
    if (!reader) return out.subarray(0, 0);
    try {
      while (at < max) {
        const { done, value } = await reader.read();
        if (done) break;
        const n = Math.min(value.length, max - at);
        out.set(value.subarray(0, n), at);
        at += n;
      }
    } catch {
      // A broken or aborted body: what arrived.
    }
    reader.cancel().catch(() => {});
    return out.subarray(0, at);
  }

  /**
   * @param {typeof fetch} fetchImpl
   * @param {Pick<Call, 'url' | 'headers' | 'body' | 'timeoutMs'>} request
   * @param {boolean} [keepBody] also give the answer's body, as `body` (text) and `bytes`
   * @returns {Promise<Outcome & { body?: string, bytes?: Uint8Array }>}
   */
  async function call(fetchImpl, request, keepBody = false) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.min(request.timeoutMs, 2 ** 31 - 1));
    try {
      // Commerce Layer does not follow redirects: a 3xx is a failed delivery.
      const response = await fetchImpl(request.url, {
        method: 'POST', headers: request.headers, body: request.body, signal: controller.signal, redirect: 'manual',
      });
      const bytes = await readUpTo(response, sender().answerShownBytes());
      if (response.type === 'opaqueredirect') return { kind: 'status', code: 302, message: 'redirect (not followed)' };
      // The status is worded by its code, as the core words it, whatever the server sent.
      const outcome = { kind: /** @type {const} */ ('status'), code: response.status, message: sender().reasonPhrase(response.status) };
      return keepBody ? { ...outcome, body: new TextDecoder().decode(bytes), bytes } : outcome;
    } catch (error) {
      if (controller.signal.aborted) return { kind: 'timeout' };
      return { kind: 'error', message: String((error && (error.cause?.code || error.cause?.message || error.message)) || error) };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs a driver until nothing is left to do: makes the calls it hands out, tells it how each
   * ended, and sleeps as it says. `onEntries` gets the timeline entries as they come, and for
   * those a call's end gave, its outcome (with the answer's body, when `keepBody`). The
   * driver is the caller's to free.
   * @param {any} driver
   * @param {{ fetch?: typeof fetch, onEntries?: (entries: Output[], outcome?: Outcome) => void, keepBody?: boolean }} [options]
   */
  async function drive(driver, options = {}) {
    const { fetch: fetchImpl = globalThis.fetch, onEntries, keepBody = false } = options;
    const now = () => driver.now(Date.now());
    const emit = (entries, outcome = undefined) => {
      if (onEntries && entries.length) onEntries(entries, outcome);
    };
    const ended = [];
    let wake;
    /** Sleeps `ms` (null: until a call ends), or less when a call ends; says whether one did. */
    const nap = (ms) => new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms === null ? 2 ** 31 - 1 : Math.min(ms, 2 ** 31 - 1));
      wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    for (;;) {
      while (ended.length) {
        const [id, outcome] = ended.shift();
        emit(driver.complete(id, outcome, now()), outcome);
      }
      const { calls, entries } = /** @type {{ calls: Call[], entries: Output[] }} */ (driver.poll(now()));
      emit(entries);
      for (const request of calls) {
        call(fetchImpl, request, keepBody).then((outcome) => {
          ended.push([request.id, outcome]);
          if (wake) wake();
        });
      }
      const { done, sleepMs } = /** @type {{ done: boolean, sleepMs: number | null }} */ (driver.wait(now()));
      if (done) return;
      driver.woke(ended.length > 0 || await nap(sleepMs));
    }
  }

  async function simulateLive(scenario, options = {}) {
    const { timeScale = 1, target, fetch, onEntry, text = false } = options;
    const driver = new (sender().Driver)(scenario, Date.now(), timeScale, target);
    try {
      await drive(driver, { fetch, onEntries: onEntry && ((entries) => entries.forEach((entry) => onEntry(entry))) });
      return driver.report(driver.now(Date.now()), Boolean(text));
    } finally {
      driver.free();
    }
  }

  return { simulateLive: guarded(simulateLive), drive, call };
}
