// The Rust `clhooks` and the npm package's `npx clhooks` against one set of golden outputs
// (tests/vectors/cli.json, cases in cases.json): same standard output, same errors, same exit
// statuses, same answers from `listen`, same requests from `send`, `replay` and
// `simulate --live`.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CASES, CLIS, GOLDENS_FILE, outcome, stopRedis } from './golden.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const shipped = join(root, 'pkg/scenarios');

const goldens = JSON.parse(readFileSync(GOLDENS_FILE, 'utf8'));
after(stopRedis);

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

// The sample scenarios the package ships as files (pointed at its payloads/) run as their
// built-in copies do, in both command lines.
describe('the package\'s scenarios/ are the built-in scenarios', { concurrency: 4 }, () => {
  test('are shipped', () => assert.deepEqual(existsSync(shipped) && readdirSync(shipped).sort(), readdirSync(join(root, 'examples/scenarios')).sort()));
  for (const file of existsSync(shipped) ? readdirSync(shipped) : []) {
    for (const [name, command] of Object.entries(CLIS)) {
      test(`${name}: simulate scenarios/${file}`, async () => {
        const fromFile = await outcome(command, { args: ['simulate', join(shipped, file)] });
        assert.equal(fromFile.exit, 0, fromFile.stderr);
        assert.deepEqual(fromFile, await outcome(command, { args: ['simulate', file.replace(/\.json$/, '')] }));
      });
    }
  }
});

// `npx clhooks dead-letters` where no redis (nor ioredis) package is installed beside the project
// or the package: it says what to install, and exits 2.
test('npx clhooks dead-letters without a Redis client package says what to install', async () => {
  const { cpSync, mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { spawnSync } = await import('node:child_process');
  const alone = mkdtempSync(join(tmpdir(), 'clhooks-alone-'));
  try {
    cpSync(join(root, 'pkg'), join(alone, 'clhooks'), { recursive: true });
    const run = spawnSync(process.execPath, [join(alone, 'clhooks/cli.mjs'), 'dead-letters', 'list', '--redis', 'redis://127.0.0.1:1'],
      { cwd: alone, encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stderr, 'error[usage]: npx clhooks dead-letters talks to Redis with the redis package (or ioredis): npm install redis\n');
  } finally {
    rmSync(alone, { recursive: true, force: true });
  }
});
