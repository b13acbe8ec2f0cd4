// Which way a delivery takes into the core: the short one (the values written into its memory,
// `receiveWritten` then `outlineWritten` or `receiveOutlined`) for a Uint8Array or text read
// whole, the long one (`receive`) for anything else and for every refusal. The core's exports
// are counted by wrapping the module's instance before the package loads: written.test.mjs
// checks both ways give the same, this checks that the short one is taken where it should be.
// Run with `node --test tests/receivers/` after `make pkg`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const calls = new Map();
const Instance = WebAssembly.Instance;
WebAssembly.Instance = class extends Instance {
  constructor(module, imports) {
    super(module, imports);
    const exports = {};
    for (const [name, value] of Object.entries(super.exports)) {
      exports[name] = typeof value !== 'function' ? value : (...args) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return value(...args);
      };
    }
    Object.defineProperty(this, 'exports', { value: Object.freeze(exports) });
  }
};

const root = new URL('../../', import.meta.url);
const { Verifier, Webhooks, createMemoryStore, sign } = await import(new URL('pkg/node.mjs', root));

/** The calls of the named exports that `run` made. */
function counted(names, run) {
  calls.clear();
  run();
  return Object.fromEntries(names.map((name) => [name, calls.get(name) ?? 0]));
}

const secret = 'taken-secret';
const small = new Uint8Array(Buffer.from('{"data":{"id":"o1","type":"orders","attributes":{}}}'));
const large = new Uint8Array(Buffer.from(`{"data":{"id":"o1","type":"orders","attributes":{"n":"${'x'.repeat(5000)}"}}}`));
const headersOf = (body, topic = 'orders.place') => ({ 'x-commercelayer-signature': sign(body, secret), 'x-commercelayer-topic': topic });

test('Verifier.receive takes the short way for bytes and text, the long way otherwise', () => {
  const verifier = new Verifier(secret);
  const names = ['verifier_receiveWritten', 'outlineWritten', 'verifier_receive'];
  const short = { verifier_receiveWritten: 1, outlineWritten: 1, verifier_receive: 0 };
  assert.deepEqual(counted(names, () => verifier.receive(small, headersOf(small))), short, 'a small body, written');
  assert.deepEqual(counted(names, () => verifier.receive(large, headersOf(large))), short, 'a large body, its tags written');
  const text = Buffer.from(small).toString();
  assert.deepEqual(counted(names, () => verifier.receive(text, headersOf(small))), short, 'text');
  assert.deepEqual(counted(names, () => verifier.receive(small.slice().buffer, headersOf(small))),
    { verifier_receiveWritten: 0, outlineWritten: 0, verifier_receive: 1 }, 'an ArrayBuffer');
  assert.deepEqual(counted(names, () => verifier.receive(small, headersOf(small, ' orders.place '))),
    { verifier_receiveWritten: 0, outlineWritten: 0, verifier_receive: 1 }, 'a topic with spaces around it (the core trims it)');
  assert.throws(() => counted([], () => verifier.receive(small, headersOf(small, 'skus.create'))), { code: 'topic_mismatch' });
  assert.equal(calls.get('verifier_receive'), 1, 'a refusal is given by the long way');
});

test('a receiver takes the short way with no store and with its memory store, claiming in the core', async () => {
  const names = ['receiver_receiveWritten', 'receiver_receiveOutlined', 'receiver_receiveOutlinedInMemory', 'receiver_receive', 'memorystore_claim'];
  const through = async (seen, body) => {
    const webhooks = new Webhooks({ secret, seen, onEvent: () => {} });
    calls.clear();
    const answer = await webhooks.process({ method: 'POST', body, headers: headersOf(body) });
    assert.equal(answer.status, 200);
    return Object.fromEntries(names.map((name) => [name, calls.get(name) ?? 0]));
  };
  assert.deepEqual(await through(null, small), {
    receiver_receiveWritten: 1, receiver_receiveOutlined: 1, receiver_receiveOutlinedInMemory: 0, receiver_receive: 0, memorystore_claim: 0,
  });
  assert.deepEqual(await through(createMemoryStore(), large), {
    receiver_receiveWritten: 1, receiver_receiveOutlined: 0, receiver_receiveOutlinedInMemory: 1, receiver_receive: 0, memorystore_claim: 0,
  });
  const store = { claim: () => 'fresh', done: () => {}, release: () => {} };
  assert.deepEqual(await through(store, small), {
    receiver_receiveWritten: 1, receiver_receiveOutlined: 1, receiver_receiveOutlinedInMemory: 0, receiver_receive: 0, memorystore_claim: 0,
  });
  assert.deepEqual(await through(null, small.slice().buffer), {
    receiver_receiveWritten: 0, receiver_receiveOutlined: 0, receiver_receiveOutlinedInMemory: 0, receiver_receive: 1, memorystore_claim: 0,
  });
});
