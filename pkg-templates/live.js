// simulateLive: a scenario delivered over real HTTP with fetch, driven by the core's sender
// state machine (the same decisions as `clhooks simulate --live`). Waits between retries and
// scheduled events are compressed by `timeScale`; every call is aborted after the policy's
// timeout (5 s by default), which the core counts as a failure.

export function createLive(core) {
  const origin = (url) => {
    const match = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url);
    return match ? match[0] : url;
  };

  /** `target`: one origin for every callback URL, or `{ host: origin }` per callback host. */
  function retarget(url, target) {
    if (!target) return url;
    const own = origin(url);
    const host = own.replace(/^[^:]+:\/\//, '').replace(/:\d+$/, '');
    const to = typeof target === 'string' ? target : target[host];
    return to ? `${origin(to)}${url.slice(own.length)}` : url;
  }

  async function call(fetchImpl, attempt, timeoutMs) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      // Commerce Layer does not follow redirects: a 3xx is a failed delivery.
      const response = await fetchImpl(attempt.url, {
        method: 'POST', headers: attempt.headers, body: attempt.body, signal: controller.signal, redirect: 'manual',
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
    const { timeScale = 1, target, fetch: fetchImpl = globalThis.fetch, onEntry } = options;
    const parsed = typeof scenario === 'string' ? JSON.parse(scenario) : structuredClone(scenario);
    for (const webhook of Array.isArray(parsed.webhooks) ? parsed.webhooks : []) {
      if (webhook && typeof webhook.callback_url === 'string') webhook.callback_url = retarget(webhook.callback_url, target);
    }
    let skipped = 0;
    const now = () => Date.now() + skipped;
    const start = now();
    const sender = new core.LiveSender(parsed, start);
    const emit = (entries) => {
      if (onEntry) for (const entry of entries) onEntry(entry);
    };
    // Each webhook has at most one call in flight (the core hands out no more), but calls to
    // different webhooks run side by side, as Commerce Layer's would.
    const inFlight = new Set();
    let wake;
    /** Sleeps `ms`, or less when a call ends; says whether a call ended it. */
    const nap = (ms) => new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    try {
      for (;;) {
        emit(sender.runScheduled(now()));
        for (let attempt = sender.poll(now()); attempt; attempt = sender.poll(now())) {
          emit([attempt.entry]);
          const call_ = call(fetchImpl, attempt, sender.timeoutMs).then((outcome) => {
            emit(sender.complete(attempt.id, outcome, now()));
            inFlight.delete(call_);
            if (wake) wake();
          });
          inFlight.add(call_);
        }
        const due = sender.nextDueAfter(now());
        if (due === undefined && inFlight.size === 0) break;
        const wait = due === undefined ? Infinity : Math.max(0, due - now());
        // Waits are compressed only while no call is out: a call takes real time, and so does
        // everything that happens meanwhile, or a quick answer would look like a timeout.
        const compress = inFlight.size === 0;
        const real = compress ? wait * timeScale : wait;
        const woken = await nap(Number.isFinite(real) ? real : 2 ** 31 - 1);
        if (compress && !woken) skipped += wait - real;
      }
      return sender.report(start, now());
    } finally {
      sender.free();
    }
  }

  return { simulateLive };
}
