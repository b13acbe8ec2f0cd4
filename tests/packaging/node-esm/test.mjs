// Runs the shared vectors through `import ... from 'clhooks'` (Node, Deno or Bun).
import * as clhooks from 'clhooks';
import { readFile } from 'node:fs/promises';
import { loadFiles, runVectors } from '../vectors.mjs';

const runtime = typeof Deno !== 'undefined' ? 'deno' : typeof Bun !== 'undefined' ? 'bun' : 'node-esm';
const root = new URL('../../../', import.meta.url);
const files = await loadFiles((path) => readFile(new URL(path, root)));
console.log(`RESULT ${JSON.stringify({ runtime, ...(await runVectors(clhooks, files)) })}`);
