// Runs the shared vectors through `require('clhooks')`.
const clhooks = require('clhooks');
const { readFile } = require('node:fs/promises');
const path = require('node:path');

(async () => {
  const { loadFiles, runVectors } = await import('../vectors.mjs');
  const files = await loadFiles((file) => readFile(path.join(__dirname, '../../..', file)));
  console.log(`RESULT ${JSON.stringify({ runtime: 'node-cjs', ...(await runVectors(clhooks, files)) })}`);
})();
