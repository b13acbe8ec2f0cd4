// The delivery session of the core (its `Session`, as the package's receivers drive it through the
// WebAssembly's `Receiver.session*`) against the shared cases of tests/vectors/sessions.json: the
// same inputs give the same actions, wake-ups and ends as in Rust (tests/session.rs), natively and
// on wasm32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const { createCore } = await import(new URL('pkg/core/web.js', root));
const core = createCore(new WebAssembly.Module(readFileSync(new URL('pkg/clhooks.wasm', root))));
const { cases } = JSON.parse(readFileSync(new URL('tests/vectors/sessions.json', root), 'utf8'));

const S = core.Receiver.sessionSteps();

/** The action `code` hands out, as the vectors write it. */
function written(code, receiver) {
  switch (code & 15) {
    case S.CLAIM: {
      const { leaseMs, keepMs, waitMs } = receiver.terms;
      return { claim: { lease_ms: leaseMs, keep_ms: keepMs, wait_ms: waitMs } };
    }
    case S.RUN: return { run: [code >> 8, (code & S.FLAG) !== 0] };
    case S.END: {
      const end = { end: (code & S.FLAG) !== 0 };
      // Folded: the answer the end waits for, to count, is `answer()`'s now.
      return code & S.FOLD ? { ...end, counting: receiver.answer().status } : end;
    }
    case S.TELL: return { tell: S.notices[code >> 8][0] };
    case S.ENQUEUE: return { enqueue: (code & S.FLAG) !== 0 };
    case S.COUNT: return { count: code & S.FLAG ? 'folded' : true };
    case S.ANSWER: {
      const answer = receiver.answer();
      assert.ok(Object.isFrozen(answer));
      const body = JSON.parse(answer.body);
      const status = String(answer.status);
      if (body.error) return { answer: `${status} ${body.error}` };
      if (body.duplicate) return { answer: `${status} duplicate` };
      if (body.in_flight) return { answer: `${status} in_flight` };
      assert.equal(body.received, 'orders.place');
      if (body.handed_off) return { answer: `${status} handed_off` };
      return { answer: status };
    }
    default: throw new Error(`an action of no known kind: ${code}`);
  }
}

test('every shared session case gives the same actions through the receiver the package drives', () => {
  assert.ok(cases.length >= 15);
  for (const { name, receiver: settings, handlers, store, fold, steps } of cases) {
    const options = {};
    if (settings.handler_timeout_ms !== undefined) options.handlerTimeoutMs = settings.handler_timeout_ms;
    if (settings.store_timeout_ms !== undefined) options.storeTimeoutMs = settings.store_timeout_ms;
    if (settings.duplicates) options.duplicates = settings.duplicates;
    if (settings.in_flight) options.inFlight = settings.in_flight;
    if (settings.handoff) options.handoff = settings.handoff;
    const receiver = new core.Receiver('secret', options);
    let id;
    let over = false;
    steps.forEach((step, n) => {
      let code;
      if (id === undefined) {
        id = receiver.session('orders.place', handlers, store, step.at);
        if (fold !== undefined) receiver.sessionFold(id, fold);
        code = receiver.sessionNext(id);
      } else if (step.claimed) code = receiver.sessionClaimed(id, step.claimed, step.at);
      else if (step.enqueued) code = receiver.sessionEnqueued(id, step.enqueued, step.at);
      else if (step.enqueue_failed) code = receiver.sessionEnqueueFailed(id, step.at);
      else if (step.store_failed) code = receiver.sessionStoreFailed(id, step.store_failed);
      else if (step.handler) code = receiver.sessionHandled(id, step.handler === 'ok', step.at);
      else if (step.claim_ended) code = receiver.sessionClaimEnded(id, step.claim_ended === 'ok');
      else if (step.unfolded) {
        receiver.sessionUnfolded(id);
        code = receiver.sessionNext(id);
      } else if (step.wake) code = receiver.sessionWake(id, step.at);
      const actions = [];
      for (;;) {
        if (code & S.LAST) over = true;
        if ((code & 15) === S.WAIT || (code & 15) === S.OVER) break;
        actions.push(written(code, receiver));
        if (code & S.LAST) break;
        code = receiver.sessionNext(id);
      }
      assert.deepEqual(actions, step.expect, `${name}, step ${n}`);
      if ('next_wake' in step) assert.equal(receiver.sessionWakeAt(id) ?? null, step.next_wake, `${name}, step ${n}: the next wake-up`);
      if ('over' in step) assert.equal(over, step.over, `${name}, step ${n}: over`);
    });
    // An over session is forgotten: none is left under way.
    assert.equal(receiver.sessionsUnderWay, over ? 0 : 1, name);
    receiver.free();
  }
});

test('a claim the session does not know is an invalid_argument error, and forgets the session', () => {
  const receiver = new core.Receiver('secret', {});
  const id = receiver.session('orders.place', 1, true, 0);
  assert.equal(receiver.sessionNext(id) & 15, S.CLAIM);
  assert.throws(() => receiver.sessionClaimed(id, 'maybe', 1), (error) => error.code === 'invalid_argument');
  assert.equal(receiver.sessionsUnderWay, 0);
  assert.equal(receiver.sessionNext(id), S.OVER | S.LAST, 'a number whose session is over finds nothing');
  assert.throws(() => receiver.session('not a topic', 1, true, 0), (error) => error.code === 'invalid_topic');
});
