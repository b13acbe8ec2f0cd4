// Refusals are readable: every node:http adapter that answers before it has read the body (413
// over the limit, 403 to a refused caller) reads and drops the rest within the core's bounds
// before it closes, so that a client that writes its whole request first (Python's
// http.client) reads the answer instead of ECONNRESET. And the bounds hold: a client that
// never stops sending, or stops without finishing, is closed.
// Run with `node --test tests/receivers/` after `make pkg`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const root = new URL('../../', import.meta.url);
const { Webhooks } = await import(new URL('pkg/node.mjs', root));
const { default: clhooksFastify } = await import(new URL('pkg/fastify.mjs', root));
const { tally } = await import(new URL('tests/support/eager.mjs', root));
const require = createRequire(import.meta.url);
const express = require(fileURLToPath(new URL('node_modules/express', root)));
const Fastify = require(fileURLToPath(new URL('node_modules/fastify', root)));

/** Resolves when `socket` closes, reset or not. */
const closed = (socket) => new Promise((resolve) => socket.on('close', resolve));

/** A running server on loopback for each adapter, `close()`d after. */
const adapters = {
  'node:http': async (webhooks) => {
    const server = createServer(webhooks.nodeHandler());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { http: server, port: server.address().port, close: () => new Promise((r) => server.close(r)) };
  },
  Express: async (webhooks) => {
    const app = express();
    app.post('/other', (_req, res) => res.send('other'));
    app.use('/webhooks', webhooks.express());
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { http: server, port: server.address().port, close: () => new Promise((r) => server.close(r)) };
  },
  Fastify: async (webhooks) => {
    const app = Fastify();
    app.register(clhooksFastify, { webhooks, path: '/webhooks' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { http: app.server, port: app.server.address().port, close: () => app.close() };
  },
};

for (const [name, start] of Object.entries(adapters)) {
  test(`${name}: 20 of 20 clients that send 6 MiB before reading read the 413`, { timeout: 120_000 }, async () => {
    const webhooks = new Webhooks({ secret: 's', onEvent: () => {} });
    const server = await start(webhooks);
    try {
      assert.deepEqual(await tally({ port: server.port }), { 413: 20 });
      // Without a Content-Length the limit is found while reading: the rest is dropped alike.
      assert.deepEqual(await tally({ port: server.port, chunked: true, count: 5 }), { 413: 5 });
    } finally {
      await server.close();
    }
  });

  test(`${name}: a caller refused before its body is read reads the 403`, { timeout: 60_000 }, async () => {
    const webhooks = new Webhooks({ secret: 's', onEvent: () => {}, sources: { allow: ['192.0.2.1'] } });
    const server = await start(webhooks);
    try {
      assert.deepEqual(await tally({ port: server.port, count: 5 }), { 403: 5 });
    } finally {
      await server.close();
    }
  });

  test(`${name}: lingering ends at the core's bounds in bytes and in time`, { timeout: 60_000 }, async () => {
    // A small limit, so the byte bound (the limit plus the core's extra) is reached quickly.
    const webhooks = new Webhooks({ secret: 's', onEvent: () => {}, maxBodyBytes: 1024 });
    const server = await start(webhooks);
    try {
      // 1. A client that never stops sending: closed once the bound is passed, which the
      // server's side of the connection tells (what it read in all, the head included).
      const read = new Promise((resolve) => {
        server.http.once('connection', (socket) => socket.on('close', () => resolve(socket.bytesRead)));
      });
      const endless = connect({ port: server.port, host: '127.0.0.1' });
      endless.on('error', () => {});
      endless.write(`POST /webhooks HTTP/1.1\r\nhost: x\r\ncontent-length: ${2 ** 40}\r\n\r\n`);
      const chunk = Buffer.alloc(1 << 16);
      const pump = () => {
        while (!endless.destroyed && endless.write(chunk));
      };
      endless.on('drain', pump);
      pump();
      await closed(endless);
      const bytes = await read;
      assert.ok(bytes > webhooks.receiver.lingerBytes, `closed after reading ${bytes} bytes, under the bound`);
      assert.ok(bytes < webhooks.receiver.lingerBytes + (4 << 20), `still read after ${bytes} bytes`);

      // 2. A client that stops half-way: closed after the core's time bound.
      const stalled = connect({ port: server.port, host: '127.0.0.1' });
      stalled.on('error', () => {});
      const started = Date.now();
      stalled.write(`POST /webhooks HTTP/1.1\r\nhost: x\r\ncontent-length: 4096\r\n\r\n`);
      const answer = [];
      stalled.on('data', (c) => answer.push(c));
      await closed(stalled);
      const waited = Date.now() - started;
      assert.match(Buffer.concat(answer).toString(), /^HTTP\/1\.1 413 /);
      assert.ok(waited >= webhooks.receiver.lingerMs - 50, `closed after ${waited} ms`);
    } finally {
      await server.close();
    }
  });
}
