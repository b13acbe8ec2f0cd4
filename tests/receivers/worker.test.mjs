// The worker's machine (the core's `handoff::Worker`, as the package's createWorker drives it
// through clhooks-worker.wasm) against the shared cases of tests/vectors/worker.json, and the
// queued record's reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const { createCore } = await import(new URL('pkg/core/worker-web.js', root));
const core = createCore(new WebAssembly.Module(readFileSync(new URL('pkg/clhooks-worker.wasm', root))));
const { cases } = JSON.parse(readFileSync(new URL('tests/vectors/worker.json', root), 'utf8'));

const OPTIONS = {
  max_attempts: 'maxAttempts', retry_ms: 'retryMs', retry_cap_ms: 'retryCapMs', reclaim_idle_ms: 'reclaimIdleMs',
  concurrency: 'concurrency', block_ms: 'blockMs', handler_timeout_ms: 'handlerTimeoutMs', keep_ms: 'keepMs',
  queue_timeout_ms: 'queueTimeoutMs', claim_runs: 'claimRuns',
};

/** An action as the vectors write it. */
function written([kind, ...rest]) {
  switch (kind) {
    case 'take': return { take: rest };
    case 'run': return { run: rest };
    case 'extend': return { extend: rest[0] };
    case 'settle': {
      const [job, o] = rest;
      const said = o.type === 'done' ? `done ${o.keepMs}` : o.type === 'retry' ? `retry ${o.attempts} ${o.delayMs}`
        : o.type === 'dead' ? `dead ${o.attempts} ${o.reason}` : 'release';
      return { settle: [job, said] };
    }
    case 'tell': return { tell: [rest[0] ?? null, rest[1]] };
    case 'forget': return { forget: rest[0] };
    case 'claim-run': return { claim_run: rest[0] };
    case 'end-run': return { end_run: rest };
    case 'stopped': return 'stopped';
    default: throw new Error(`an action of no known kind: ${kind}`);
  }
}

test('every shared worker case gives the same actions through the machine the package drives', () => {
  assert.ok(cases.length >= 15);
  for (const { name, config, steps } of cases) {
    const options = Object.fromEntries(Object.entries(config).map(([key, value]) => [OPTIONS[key], value]));
    let worker;
    let lastTake = 0;
    steps.forEach((step, n) => {
      worker ??= new core.Worker(options, step.at);
      const take = step.of_take ?? lastTake;
      for (const [attempts, deliveries, handlers] of step.taken ?? []) worker.taken(take, attempts, deliveries, handlers, step.at);
      if (step.taken) worker.takeEnded(take, step.at);
      if (step.take_failed) worker.takeFailed(take, step.at);
      if (step.handler) worker.handled(step.handler[0], step.handler[1], step.at);
      if (step.extended) worker.extended(step.extended[0], step.extended[1], step.at);
      if (step.settled) worker.settled(step.settled[0], step.settled[1], step.at);
      if (step.run_claimed) worker.runClaimed(step.run_claimed[0], step.run_claimed[1], step.at);
      if (step.run_claim_failed !== undefined) worker.runClaimFailed(step.run_claim_failed, step.at);
      if (step.run_ended !== undefined) worker.runEnded(step.run_ended, step.at);
      if (step.extend_failed !== undefined) worker.extendFailed(step.extend_failed);
      if (step.wake) worker.wake(step.at);
      if (step.stop !== undefined) worker.stop(step.at, step.stop);
      const actions = [];
      for (let action = worker.next(); action !== undefined; action = worker.next()) {
        if (action[0] === 'take') [, lastTake] = action;
        actions.push(written(action));
      }
      assert.deepEqual(actions, step.expect, `${name}, step ${n}`);
      if ('next_wake' in step) assert.equal(worker.wakeAt() ?? null, step.next_wake, `${name}, step ${n}: next wake-up`);
    });
    worker.free();
  }
});

test('settings that make no sense are an invalid_worker error', () => {
  for (const options of [{ maxAttempts: 0 }, { concurrency: 0 }, { reclaimIdleMs: 2 }, { keepMs: 0 }, { queueTimeoutMs: 0 }]) {
    assert.throws(() => new core.Worker(options, 0), (error) => error.code === 'invalid_worker', JSON.stringify(options));
  }
  assert.throws(() => new core.Worker({ retryMs: -1 }, 0), (error) => error.code === 'invalid_argument');
});

test('a record is read from its fields, strings or bytes, in any order; anything else is invalid_record', () => {
  const body = Uint8Array.of(123, 0, 255, 125);
  const fields = ['v', '1', 'key', 'k1', 'topic', 'orders.place', 'sig', 'c2ln', 'rcv', '1765000000123', 'attempt', '2', 'body', body];
  const expected = { key: 'k1', topic: 'orders.place', signature: 'c2ln', receivedMs: 1765000000123, attempts: 2, body };
  assert.deepEqual({ ...core.Worker.readRecord(fields) }, expected);
  const asBytes = fields.map((value) => (typeof value === 'string' ? Buffer.from(value) : value));
  assert.deepEqual({ ...core.Worker.readRecord([...asBytes.slice(12), ...asBytes.slice(0, 12), 'later', 'x']) }, expected);
  for (const [changed, says] of [[['v', '2'], 'version "2"'], [['rcv', '-1'], 'not a whole number'], [['key', Buffer.from([0xff])], 'not UTF-8']]) {
    const bad = fields.map((value, i) => (i % 2 === 1 && fields[i - 1] === changed[0] ? changed[1] : value));
    assert.throws(() => core.Worker.readRecord(bad), (error) => error.code === 'invalid_record' && error.message.includes(says), says);
  }
  assert.throws(() => core.Worker.readRecord([]), (error) => error.code === 'invalid_record');
});
