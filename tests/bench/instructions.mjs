// `make bench`, instruction counts: the core's receive path on the native build (benches/
// instructions.rs), each piece under callgrind for fixed inputs, in instructions per call, against
// the committed baseline (tests/bench/instructions.json). A count that rose more than 3% over a
// baseline made with the same rustc is said so. These are the numbers to compare across commits
// (a machine's load does not move them); the wall-clock ratios of equal.mjs are the ones to
// compare against hand-written code.
//
// Usage: node tests/bench/instructions.mjs   (UPDATE=1: write the baseline from this run)

import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const baselineFile = join(root, 'tests/bench/instructions.json');
/** Calls a run makes: a claim, a thousand instructions, is run more, so that the runs' other noise (the hash tables' random seeds) averages out. */
const CALLS = { claim: 20_000 };
const calls = (piece) => CALLS[piece] ?? 200;
const ROSE = 0.03;

const built = execFileSync('cargo', ['bench', '--locked', '--bench', 'instructions', '--no-run', '--message-format=json'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const binary = built.split('\n').filter(Boolean).map((line) => JSON.parse(line))
  .find((m) => m.reason === 'compiler-artifact' && m.target?.name === 'instructions' && m.executable)?.executable;
if (!binary) throw new Error('cargo built no instructions bench');
const rustc = execFileSync('rustc', ['--version'], { encoding: 'utf8' }).trim();
const pieces = execFileSync(binary, { encoding: 'utf8' }).trim().split('\n').map((line) => {
  const [name, ...what] = line.split(': ');
  return { name, what: what.join(': ') };
});

const work = mkdtempSync(join(tmpdir(), 'clhooks-callgrind-'));
/** The instructions callgrind counted in a run of `piece`, `n` times. */
function counted(piece, n) {
  const out = join(work, `${piece}-${n}.out`);
  const run = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, binary, piece, String(n)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`callgrind failed on ${piece}: ${run.stderr}`);
  const totals = /^totals: (\d+)/m.exec(readFileSync(out, 'utf8'));
  if (!totals) throw new Error(`no totals in callgrind's output for ${piece}`);
  return Number(totals[1]);
}

const counts = {};
for (const { name } of pieces) counts[name] = Math.round((counted(name, calls(name)) - counted(name, 0)) / calls(name));
rmSync(work, { recursive: true, force: true });

let baseline = { rustc: '', counts: {} };
try {
  baseline = JSON.parse(readFileSync(baselineFile, 'utf8'));
} catch {}
const comparable = baseline.rustc === rustc;
const fmt = (n) => n.toLocaleString('en');
console.log(`\ninstructions per call on the native build (callgrind: a run of 200 calls, 20,000 claims, less a run of none; ${rustc}), against tests/bench/instructions.json (${baseline.rustc || 'none'})`);
console.log('| piece | instructions a call | baseline | change |');
console.log('|---|---|---|---|');
const rose = [];
for (const { name, what } of pieces) {
  const before = baseline.counts[name];
  let change = 'no baseline';
  if (before !== undefined && !comparable) change = 'baseline of another rustc: not compared';
  else if (before !== undefined) {
    const ratio = counts[name] / before - 1;
    change = `${ratio >= 0 ? '+' : ''}${(ratio * 100).toFixed(1)}%`;
    if (ratio > ROSE) {
      change += ` ROSE more than ${ROSE * 100}%`;
      rose.push(name);
    }
  }
  console.log(`| ${what} | ${fmt(counts[name])} | ${before === undefined ? '' : fmt(before)} | ${change} |`);
}
if (rose.length) console.log(`\n${rose.join(', ')}: more than ${ROSE * 100}% over the baseline. Find why, or write a new baseline with UPDATE=1 if it is the price of a change.`);
if (process.env.UPDATE === '1') {
  writeFileSync(baselineFile, `${JSON.stringify({ rustc, counts }, null, 2)}\n`);
  console.log(`\nbaseline written: ${baselineFile.slice(root.length + 1)}`);
}
