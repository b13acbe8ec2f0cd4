// The Rust `clhooks` and the npm package's `npx clhooks` against one set of golden outputs
// (tests/vectors/cli.json, cases in cases.json): same standard output, same errors, same exit
// statuses, same answers from `listen`, same requests from `send`, `replay` and
// `simulate --live`.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { CASES, CLIS, GOLDENS_FILE, outcome } from './golden.mjs';

const goldens = JSON.parse(readFileSync(GOLDENS_FILE, 'utf8'));

test('every case has a golden, and every golden a case', () => {
  assert.deepEqual(Object.keys(goldens).sort(), CASES.map((c) => c.name).sort());
});

for (const [name, command] of Object.entries(CLIS)) {
  describe(`${name}: ${command.at(-1)}`, { concurrency: 4 }, () => {
    test('is built', () => assert.ok(existsSync(command.at(-1)), `${command.at(-1)} is missing: make pkg cli`));
    for (const kase of CASES) {
      test(kase.name, async () => {
        assert.deepEqual(await outcome(command, kase), goldens[kase.name]);
      });
    }
  });
}
