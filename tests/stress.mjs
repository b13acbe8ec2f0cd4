// `make stress`: the network-facing test files (receivers, scale-out, examples, the command
// lines' listen) run ROUNDS times in a row while a second process keeps one core busy, then a
// table of runs, failures and the slowest test of each. A test that fails one run in twenty is
// a bug (a race, an unbounded wait, a port reused): this is where it shows. The log of every
// failed run is kept under target/stress/.
//
// Usage: [NODES="path/to/node ..."] node tests/stress.mjs [rounds]   (after the builds `make
// stress` depends on). As in `make test`, the receivers' tests run on every Node at once.

import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.argv[2] ?? 10);
const logs = join(root, 'target/stress');
rmSync(logs, { recursive: true, force: true });
mkdirSync(logs, { recursive: true });

const node = process.execPath;
const nodes = [node, ...(process.env.NODES ?? '').split(/\s+/).filter(Boolean).map((p) => resolve(root, p))];
const tap = ['--test', '--test-reporter=tap'];
const files = (dir) => [`tests/${dir}/*.test.mjs`];
/** Each suite: a command run from the root; node:test suites report each test's time. */
const suites = [
  { name: `receivers (${nodes.length} Nodes at once)`, args: [...tap, ...files('receivers')], nodes },
  { name: 'scale', args: [...tap, '--test-concurrency=1', ...files('scale')] },
  { name: 'cli (listen, goldens)', args: [...tap, ...files('cli')] },
  { name: 'examples', args: ['tests/examples/run.mjs'] },
  { name: 'examples (next.js)', args: [...tap, 'tests/examples/nextjs.test.mjs'] },
  { name: 'docs (every code block)', args: ['tests/docs/run.mjs'] },
];

/** Runs `node args` through a shell (for the globs), on every one of `on` at once; their output and exit status. */
async function run(args, on = [node]) {
  const started = performance.now();
  const runs = await Promise.all(on.map((binary) => runOne(binary, args)));
  return {
    status: runs.every((r) => r.status === 0) ? 0 : 1,
    output: runs.map((r, i) => `# on ${on[i]}\n${r.output}`).join('\n'),
    ms: performance.now() - started,
  };
}

function runOne(binary, args) {
  return new Promise((done) => {
    const started = performance.now();
    const child = spawn('bash', ['-c', `exec "${binary}" ${args.join(' ')}`], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => out.push(c));
    child.on('close', (status) => done({ status, output: Buffer.concat(out).toString(), ms: performance.now() - started }));
  });
}

/** The tests of a TAP report with their times, files and suites of files left out. */
function timings(output) {
  const lines = output.split('\n');
  const found = [];
  lines.forEach((line, i) => {
    const test = /^\s*(?:not )?ok \d+ - (.*)$/.exec(line);
    if (!test || /\.m?js$/.test(test[1])) return;
    for (let j = i + 1; j < Math.min(i + 6, lines.length); j += 1) {
      const ms = /duration_ms: ([\d.]+)/.exec(lines[j]);
      if (ms) {
        found.push({ name: test[1].replace(/ # .*$/, ''), ms: Number(ms[1]) });
        break;
      }
    }
  });
  return found;
}

// The second process: one core kept busy for as long as the rounds take.
const busy = spawn(node, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    busy.kill();
    process.exit(1);
  });
}
const stats = suites.map((suite) => ({ ...suite, runs: 0, failures: 0, slowest: { name: '-', ms: 0 }, wall: [] }));
try {
  for (let round = 1; round <= rounds; round += 1) {
    for (const suite of stats) {
      const { status, output, ms } = await run(suite.args, suite.nodes);
      suite.runs += 1;
      suite.wall.push(ms);
      const tests = suite.args.includes('--test') ? timings(output) : [{ name: suite.args.at(-1), ms }];
      for (const t of tests) if (t.ms > suite.slowest.ms) suite.slowest = t;
      const ok = status === 0;
      if (!ok) {
        suite.failures += 1;
        const file = join(logs, `${suite.name.replace(/\W+/g, '-')}-round-${round}.log`);
        writeFileSync(file, output);
        const failed = output.split('\n').filter((l) => /^\s*not ok |^FAIL /.test(l)).slice(0, 10);
        console.log(`round ${round}: ${suite.name} FAILED (log: ${file.slice(root.length + 1)})\n  ${failed.join('\n  ')}`);
      } else {
        console.log(`round ${round}: ${suite.name} ok in ${(ms / 1000).toFixed(1)} s`);
      }
    }
  }
} finally {
  busy.kill();
}

const rows = [['suite', 'runs', 'failures', 'slowest run', 'slowest test', 'its time']];
for (const s of stats) {
  rows.push([s.name, String(s.runs), String(s.failures), `${(Math.max(...s.wall) / 1000).toFixed(1)} s`, s.slowest.name.slice(0, 70),
    `${(s.slowest.ms / 1000).toFixed(2)} s`]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
console.log(`\n${rounds} rounds, one core kept busy by a second process\n`);
for (const [i, row] of rows.entries()) {
  console.log(`| ${row.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`);
  if (i === 0) console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
}
const failures = stats.reduce((n, s) => n + s.failures, 0);
console.log(`\n${failures} failures in ${stats.reduce((n, s) => n + s.runs, 0)} runs`);
process.exitCode = failures ? 1 : 0;
