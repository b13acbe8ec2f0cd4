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
      const response = await fetchImpl(attempt.url, {
        method: 'POST', headers: attempt.headers, body: attempt.body, signal: controller.signal,
      });
      await response.arrayBuffer().catch(() => {});
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
    try {
      for (;;) {
        emit(sender.runScheduled(now()));
        const attempt = sender.poll(now());
        if (attempt) {
          emit([attempt.entry]);
          const outcome = await call(fetchImpl, attempt, sender.timeoutMs);
          emit(sender.complete(attempt.id, outcome, now()));
          continue;
        }
        const due = sender.nextDue();
        if (due === undefined) break;
        const wait = Math.max(0, due - now());
        const real = wait * timeScale;
        await new Promise((resolve) => setTimeout(resolve, real));
        skipped += wait - real;
      }
      return sender.report(start, now());
    } finally {
      sender.free();
    }
  }

  return { simulateLive };
}
