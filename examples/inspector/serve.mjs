#!/usr/bin/env node
// Serves the clhooks inspector on loopback and prints its address. In the repository it serves
// the repository (the page uses pkg/, built by `make pkg`); inside the npm package, the package
// (`npx clhooks-inspector`). Nothing but these static files is served.
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const inRepo = existsSync(join(here, '../../pkg/browser.mjs')) || existsSync(join(here, '../../Cargo.toml'));
const root = inRepo ? resolve(here, '../..') : resolve(here, '..');
const page = inRepo ? '/examples/inspector/' : '/inspector/';
const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.wasm': 'application/wasm',
};

const server = createServer((req, res) => {
  let path = resolve(root, `.${decodeURIComponent(new URL(req.url, 'http://x').pathname)}`);
  if (path !== root && !path.startsWith(root + sep)) return res.writeHead(403).end();
  if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'index.html');
  if (!existsSync(path)) return res.writeHead(404).end('not found');
  res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
  res.end(readFileSync(path));
});
const port = Number(process.env.PORT ?? process.argv[2] ?? 0);
server.listen(port, '127.0.0.1', () => {
  console.log(`clhooks inspector: http://127.0.0.1:${server.address().port}${page}`);
});
