// The delivery session of the core (its `Session`, through the package's WebAssembly) against the
// shared cases of tests/vectors/sessions.json: the same inputs give the same actions, wake-ups and
// ends as in Rust (tests/session.rs), natively and on wasm32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const { createCore } = await import(new URL('pkg/core/web.js', root));
const core = createCore(new WebAssembly.Module(readFileSync(new URL('pkg/clhooks.wasm', root))));
const { cases } = JSON.parse(readFileSync(new URL('tests/vectors/sessions.json', root), 'utf8'));

/** An action as the vectors write it. */
function written(action) {
  switch (action.kind) {
    case 'claim': return { claim: { lease_ms: action.terms.leaseMs, keep_ms: action.terms.keepMs, wait_ms: action.terms.waitMs } };
    case 'run': return { run: [action.index, action.duplicate] };
    case 'end': return { end: action.handled };
    case 'tell': return { tell: action.code };
    case 'answer': {
      const body = JSON.parse(action.answer.body);
      const status = String(action.answer.status);
      if (body.error) return { answer: `${status} ${body.error}` };
      if (body.duplicate) return { answer: `${status} duplicate` };
      if (body.in_flight) return { answer: `${status} in_flight` };
      assert.equal(body.received, 'orders.place');
      return { answer: status };
    }
    default: throw new Error(`an action of no known kind: ${JSON.stringify(action)}`);
  }
}

test('every shared session case gives the same actions through the wasm Session', () => {
  assert.ok(cases.length >= 15);
  for (const { name, receiver: settings, handlers, store, steps } of cases) {
    const options = {};
    if (settings.handler_timeout_ms !== undefined) options.handlerTimeoutMs = settings.handler_timeout_ms;
    if (settings.store_timeout_ms !== undefined) options.storeTimeoutMs = settings.store_timeout_ms;
    if (settings.duplicates) options.duplicates = settings.duplicates;
    if (settings.in_flight) options.inFlight = settings.in_flight;
    const receiver = new core.Receiver('secret', options);
    let session;
    steps.forEach((step, n) => {
      session ??= new core.Session(receiver, 'orders.place', handlers, store, step.at);
      if (step.claimed) session.claimed(step.claimed, step.at);
      else if (step.store_failed) session.storeFailed(step.store_failed);
      else if (step.handler) session.handlerEnded(step.handler === 'ok', step.at);
      else if (step.end_failed) session.endFailed();
      else if (step.wake) session.wake(step.at);
      const actions = [];
      for (let action = session.poll(); action !== undefined; action = session.poll()) actions.push(written(action));
      assert.deepEqual(actions, step.expect, `${name}, step ${n}`);
      if ('next_wake' in step) assert.equal(session.nextWake ?? null, step.next_wake, `${name}, step ${n}: the next wake-up`);
      if ('over' in step) assert.equal(session.isOver, step.over, `${name}, step ${n}: over`);
    });
    session.free();
    receiver.free();
  }
});

test('a claim the session does not know is an invalid_argument WebhookError-shaped error', () => {
  const receiver = new core.Receiver('secret', {});
  const session = new core.Session(receiver, 'orders.place', 1, true, 0);
  assert.throws(() => session.claimed('maybe', 1), (error) => error.code === 'invalid_argument');
  assert.throws(() => new core.Session(receiver, 'not a topic', 1, true, 0), (error) => error.code === 'invalid_topic');
});
