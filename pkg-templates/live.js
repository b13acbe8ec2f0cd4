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
   * @param {typeof fetch} fetchImpl
   * @param {Call} request
   * @returns {Promise<Outcome>}
   */
  async function call(fetchImpl, request) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.min(request.timeoutMs, 2 ** 31 - 1));
    try {
      // Commerce Layer does not follow redirects: a 3xx is a failed delivery.
      const response = await fetchImpl(request.url, {
        method: 'POST', headers: request.headers, body: request.body, signal: controller.signal, redirect: 'manual',
      });
      await response.arrayBuffer().catch(() => {});
      if (response.type === 'opaqueredirect') return { kind: 'status', code: 302, message: 'redirect (not followed)' };
      return { kind: 'status', code: response.status, message: response.statusText || '' };
    } catch (error) {
      if (controller.signal.aborted) return { kind: 'timeout' };
      return { kind: 'error', message: String((error && (error.cause?.code || error.message)) || error) };
    } finally {
      clearTimeout(timer);
    }
  }

  async function simulateLive(scenario, options = {}) {
    const { timeScale = 1, target, fetch: fetchImpl = globalThis.fetch, onEntry, text = false } = options;
    const driver = new (sender().Driver)(scenario, Date.now(), timeScale, target);
    const now = () => driver.now(Date.now());
    const emit = (entries) => {
      if (onEntry) for (const entry of entries) onEntry(entry);
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
    try {
      for (;;) {
        while (ended.length) {
          const [id, outcome] = ended.shift();
          emit(driver.complete(id, outcome, now()));
        }
        const { calls, entries } = /** @type {{ calls: Call[], entries: Output[] }} */ (driver.poll(now()));
        emit(entries);
        for (const request of calls) {
          call(fetchImpl, request).then((outcome) => {
            ended.push([request.id, outcome]);
            if (wake) wake();
          });
        }
        const { done, sleepMs } = /** @type {{ done: boolean, sleepMs: number | null }} */ (driver.wait(now()));
        if (done) break;
        driver.woke(ended.length > 0 || await nap(sleepMs));
      }
      return driver.report(now(), Boolean(text));
    } finally {
      driver.free();
    }
  }

  return { simulateLive: guarded(simulateLive) };
}
