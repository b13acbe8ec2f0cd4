// Headless Chromium (Debian's, driven by playwright-core) and a loopback file server, shared by
// the packaging tests, the inspector tests and the WebCrypto bench.

import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';

const CONTENT_TYPES = {
  '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** Debian's Chromium, headless, with nothing that reaches the network on its own. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * Serves the files under `root` on a free loopback port (`pages` answers some paths itself);
 * resolves to the server, whose `url` is its origin.
 * @param {string} root
 * @param {Record<string, string>} [pages] HTML by path
 */
export async function serveFiles(root, pages = {}) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (pages[path] !== undefined) return res.writeHead(200, { 'content-type': 'text/html' }).end(pages[path]);
    const file = resolve(root, `.${path}`);
    if (!file.startsWith(root)) return res.writeHead(403).end();
    let bytes;
    try {
      bytes = readFileSync(file);
    } catch {
      return res.writeHead(404).end();
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' }).end(bytes);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  server.url = `http://127.0.0.1:${server.address().port}`;
  return server;
}
