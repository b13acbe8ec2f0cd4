// A client that writes its whole request before it reads a byte of the answer, as Python's
// http.client does: the one that sees ECONNRESET instead of a 413 when a server closes with the
// body still unread. Used against every receiver that can refuse a body early.
import { connect } from 'node:net';

/**
 * Sends `POST path` with `body` (a Buffer) whole, then reads the answer. The socket is paused
 * from the start, so nothing is read until every byte has been written (or writing failed).
 * Resolves `{ status, body, error }`: `status` 0 and `error` set (`ECONNRESET`, `EPIPE`,
 * `timeout`...) when no answer could be read. Bounded by `timeoutMs`.
 * @param {{ port: number, path?: string, headers?: Record<string, string>, body: Buffer, chunked?: boolean, timeoutMs?: number }} request
 * @returns {Promise<{ status: number, body: string, error: string | null }>}
 */
export function sendWhole({ port, path = '/webhooks', headers = {}, body, chunked = false, timeoutMs = 15_000 }) {
  const lines = [`POST ${path} HTTP/1.1`, 'host: 127.0.0.1', 'content-type: application/json'];
  lines.push(chunked ? 'transfer-encoding: chunked' : `content-length: ${body.length}`);
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
  const payload = chunked
    ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
    : body;
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.pause();
    const chunks = [];
    let error = null;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      const at = text.indexOf('\r\n\r\n');
      resolve({ status: match ? Number(match[1]) : 0, body: at < 0 ? '' : text.slice(at + 4), error: match ? null : error ?? 'no answer' });
    };
    const timer = setTimeout(() => {
      error = 'timeout';
      settle();
    }, timeoutMs);
    socket.on('error', (e) => {
      error ??= /** @type {NodeJS.ErrnoException} */ (e).code ?? e.message;
      // What had arrived before the reset is still read: with nothing read, it is lost.
      settle();
    });
    // Done once the answer is whole (its Content-Length, or the last chunk), or at the end: a
    // server may keep the connection open for another request.
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('latin1');
      const at = text.indexOf('\r\n\r\n');
      if (at < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, at));
      if (length ? text.length - at - 4 >= Number(length[1]) : text.endsWith('0\r\n\r\n')) settle();
    });
    socket.on('end', settle);
    socket.on('close', settle);
    socket.write(head);
    // Only once every byte is written (the server read them) does the client read.
    socket.write(payload, (e) => {
      if (e) error ??= /** @type {NodeJS.ErrnoException} */ (e).code ?? e.message;
      socket.resume();
    });
  });
}

/**
 * `count` requests of `size` bytes (over the limit) sent whole one after another; the tally
 * of their statuses (`413: 20`) and errors (`ECONNRESET: 3`).
 * @param {{ port: number, path?: string, headers?: Record<string, string>, size?: number, count?: number, chunked?: boolean }} options
 */
export async function tally({ port, path, headers, size = 6 << 20, count = 20, chunked = false }) {
  const body = Buffer.alloc(size, 0x61);
  /** @type {Record<string, number>} */
  const seen = {};
  for (let i = 0; i < count; i += 1) {
    const { status, error } = await sendWhole({ port, path, headers, body, chunked });
    const key = status ? String(status) : String(error);
    seen[key] = (seen[key] ?? 0) + 1;
  }
  return seen;
}
