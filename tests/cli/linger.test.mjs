// Both `clhooks listen`s answer a body they will not read (over the limit, or chunked) in a way
// a client that sends its whole request before reading can read: the core's lingering close.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { CLIS } from './golden.mjs';
import { tally } from '../support/eager.mjs';

/** `listen` on a free port; its port and a stop(). */
async function listen(command) {
  const child = spawn(command[0], [...command.slice(1), 'listen', '--port', '0'], {
    env: { PATH: process.env.PATH, CL_WEBHOOK_SECRET: 's' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const err = [];
  child.stderr.on('data', (c) => err.push(c));
  const exited = new Promise((ok) => child.on('close', ok));
  const port = await new Promise((ok, fail) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (match) ok(Number(match[1]));
    });
    child.on('close', () => fail(new Error(`listen ended: ${Buffer.concat(err)}`)));
  });
  return { port, stop: () => (child.kill(), exited) };
}

for (const [name, command] of Object.entries(CLIS)) {
  describe(`${name} listen`, () => {
    test('20 of 20 clients that send 6 MiB before reading read the 413, and a chunked body its refusal', { timeout: 120_000 }, async () => {
      const server = await listen(command);
      try {
        assert.deepEqual(await tally({ port: server.port }), { 413: 20 });
        assert.deepEqual(await tally({ port: server.port, chunked: true, count: 5 }), { 411: 5 });
      } finally {
        await server.stop();
      }
    });
  });
}
