// Both command lines on a terminal (a pseudo-terminal made by util-linux's `script`): colour
// there and only there, none with NO_COLOR, and a progress line on standard error while
// `send` waits for a retry.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { describe, test } from 'node:test';
import { CLIS, FIXTURE } from './golden.mjs';

const quote = (arg) => `'${arg.replaceAll("'", "'\\''")}'`;

/** Runs a command on a pseudo-terminal: everything it wrote there, and its exit status. */
function onTerminal(command, args, env = {}) {
  const line = [...command, ...args].map(quote).join(' ');
  return new Promise((ok, fail) => {
    const child = spawn('script', ['-qefc', line, '/dev/null'], {
      env: { PATH: process.env.PATH, TERM: 'xterm', ...env }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    const out = [];
    child.stdout.on('data', (c) => out.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', fail);
    child.on('close', (exit) => {
      clearTimeout(timer);
      ok({ text: Buffer.concat(out).toString(), exit });
    });
  });
}

/** A receiver answering 500 once, then 200. */
async function flaky() {
  let calls = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      calls += 1;
      res.writeHead(calls === 1 ? 500 : 200).end();
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}/hooks`, close: () => server.close() };
}

const available = spawnSync('script', ['--version']).status === 0;

for (const [name, command] of Object.entries(CLIS)) {
  describe(`${name} on a terminal`, { skip: !available && 'util-linux script is missing' }, () => {
    test('an error is coloured on a terminal', async () => {
      const { text, exit } = await onTerminal(command, ['topic', 'nope']);
      assert.equal(exit, 1);
      assert.match(text, /\x1b\[1;31merror\[invalid_topic\]:\x1b\[0m invalid topic "nope"/);
    });

    test('NO_COLOR turns colour off', async () => {
      const { text } = await onTerminal(command, ['topic', 'nope'], { NO_COLOR: '1' });
      assert.match(text, /^error\[invalid_topic\]: /m);
      assert.doesNotMatch(text, /\x1b\[/);
    });

    test('send shows a progress line while it waits, and colours its timeline', async () => {
      const server = await flaky();
      try {
        // The first retry comes 15 s after a failure: 1.5 s at this scale.
        const { text, exit } = await onTerminal(command, ['send', '--secret', 'abc', '--topic', 'orders.place',
          '--url', server.url, '--time-scale', '0.1', FIXTURE]);
        assert.equal(exit, 0, text);
        assert.match(text, /\r\x1b\[2K… 0:01 {2}1 attempt\(s\), 0 delivered, 0 dropped, next step in \d+ s of run time/);
        assert.match(text, /\x1b\[31m\+\d\d:\d\d:\d\d\.\d{3} {2}evt_1 {3}webhook {4}attempt {2}1 {2}FAIL 500/);
        assert.match(text, /\x1b\[32m\+\d\d:\d\d:\d\d\.\d{3} {2}evt_1 {3}webhook {4}delivered after 2 attempt\(s\)\x1b\[0m/);
      } finally {
        server.close();
      }
    });
  });
}
