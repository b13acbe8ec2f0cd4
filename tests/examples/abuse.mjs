// The flood every receiver must take: valid deliveries (some sent twice at once, some again
// later as Commerce Layer's retries), forged ones (another secret, a tampered body, no
// signature), oversized bodies, bodies trickled a byte at a time and one endless body, all at
// once over 32 connections. What must hold: no forged delivery accepted, no valid one lost
// (a 409 "in flight" is retried, as Commerce Layer does), every valid one handled exactly once,
// answers in bounded time while the tricklers hold their connections, and the server's peak
// memory bounded.

import { connect } from 'node:net';
import { readFileSync } from 'node:fs';

const VALID = 240;
const FORGED = 60;
const CONCURRENCY = 32;

/** The server's peak resident memory in MB (Linux), or null. */
function peakMb(pid) {
  if (!pid) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kb) ? Math.round(kb / 1024) : null;
  } catch {
    return null;
  }
}

/** A raw connection to the server's host and port. */
function socketTo(url) {
  const { hostname, port } = new URL(url);
  return connect({ host: hostname, port: Number(port) });
}

/**
 * Sends a request head and then trickles its body a byte every `everyMs`; resolves with the
 * status line's code when an answer comes, or 0 when `stop()` is called first.
 */
function trickle(url, headers, length, everyMs) {
  const socket = socketTo(url);
  const { pathname } = new URL(url);
  let timer;
  const answered = new Promise((resolve) => {
    let text = '';
    socket.on('data', (d) => {
      text += d;
      const code = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      if (code) resolve(Number(code));
    });
    socket.on('error', () => resolve(0));
    socket.on('close', () => resolve(0));
  });
  socket.write(`POST ${pathname} HTTP/1.1\r\nhost: x\r\ncontent-length: ${length}\r\n`
    + `${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n{`);
  timer = setInterval(() => socket.write(' '), everyMs);
  return { answered, stop: () => { clearInterval(timer); socket.destroy(); } };
}

/**
 * Writes a chunked body as fast as the socket takes it. Resolves with the status code, or with
 * `closed` when the server closed the connection (a server that answers early and closes may
 * reset it before the answer is read), or with 0 when it still reads after `ms`.
 */
function endless(url, headers, ms) {
  const socket = socketTo(url);
  const { pathname } = new URL(url);
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    const finish = (code) => {
      if (done) return;
      done = true;
      clearTimeout(limit);
      socket.destroy();
      resolve(code);
    };
    const limit = setTimeout(() => finish(0), ms);
    const closed = () => finish(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0) || 'closed');
    socket.on('data', (d) => {
      text += d;
      const code = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      if (code) finish(Number(code));
    });
    socket.on('error', closed);
    socket.on('close', closed);
    socket.write(`POST ${pathname} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n`
      + `${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 32), Buffer.from('\r\n')]);
    const pump = () => {
      while (!done && socket.write(chunk));
    };
    socket.on('drain', pump);
    pump();
  });
}

/**
 * Floods one receiver. `handledBy(id)` is a regular expression for the server's log line when it
 * handles the event with that id (null when its log cannot be read: answers are counted then).
 * @returns {Promise<{ failures: string[], summary: string }>}
 */
export async function abuse(url, { name, pid, lines, handledBy, sign, secret, postHuge }) {
  const failures = [];
  const headersFor = (body, key = secret) => ({
    'content-type': 'application/json',
    'x-commercelayer-signature': sign(body, key),
    'x-commercelayer-topic': 'orders.place',
  });
  const doc = (id) => Buffer.from(`{"data":{"id":"${id}","type":"orders","attributes":{"n":1}}}`);

  // The requests of the flood: each `{ id, kind, body, headers }`.
  const requests = [];
  for (let i = 0; i < VALID; i++) {
    const id = `abuse-${i}`;
    const body = doc(id);
    const headers = headersFor(body);
    requests.push({ id, kind: 'valid', body, headers });
    // One in ten sent twice at once; one in twenty once more, later.
    if (i % 10 === 0) requests.push({ id, kind: 'valid', body, headers });
    if (i % 20 === 5) requests.push({ id, kind: 'retry', body, headers });
  }
  for (let i = 0; i < FORGED; i++) {
    const id = `forged-${i}`;
    const body = doc(id);
    const headers = i % 3 === 0 ? headersFor(body, 'attacker')
      : i % 3 === 1 ? headersFor(doc(`forged-original-${i}`))
        : { 'x-commercelayer-topic': 'orders.place' };
    requests.push({ id, kind: 'forged', body, headers });
  }
  // Interleaved, so duplicates and forgeries arrive among the rest; retries at the end.
  const order = requests.filter((r) => r.kind !== 'retry').sort((a, b) => (a.id < b.id ? -1 : 1));
  const retries = requests.filter((r) => r.kind === 'retry');

  // The slow and the endless, holding connections while the flood runs.
  const slow = [0, 1].map((n) => trickle(url, headersFor(doc(`slow-${n}`)), 4096, 250));
  const endlessBody = endless(url, headersFor(doc('endless')), 15_000);
  const huge = Buffer.alloc(6 * 1024 * 1024, 32);
  const hugeAnswers = Promise.all([0, 1].map(() => postHuge(url, huge, headersFor(huge))));

  const answers = new Map();
  const times = [];
  const post = async (r) => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const started = performance.now();
      let status;
      let json = {};
      try {
        const res = await fetch(url, { method: 'POST', body: r.body, headers: r.headers });
        status = res.status;
        json = await res.json().catch(() => ({}));
      } catch (e) {
        status = `error ${e.cause?.code ?? e.message}`;
      }
      times.push(performance.now() - started);
      // A copy still being handled: Commerce Layer tries again later.
      if (status === 409 && r.kind !== 'forged') {
        await new Promise((ok) => setTimeout(ok, 50));
        continue;
      }
      const list = answers.get(r.id) ?? [];
      list.push({ status, duplicate: json.duplicate === true, kind: r.kind });
      answers.set(r.id, list);
      return;
    }
  };
  const pool = async (list) => {
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < list.length) await post(list[next++]);
    }));
  };
  const started = performance.now();
  await pool(order);
  await pool(retries);
  const floodMs = performance.now() - started;
  slow.forEach((s) => s.stop());
  const endlessStatus = await endlessBody;
  const hugeStatuses = (await hugeAnswers).map((a) => a.status);
  await new Promise((ok) => setTimeout(ok, 300));

  // No forged delivery accepted.
  const accepted = [...answers].filter(([id, list]) => id.startsWith('forged') && list.some((a) => a.status >= 200 && a.status < 300));
  if (accepted.length) failures.push(`${accepted.length} forged deliveries accepted`);
  const forgedStatuses = new Set([...answers].filter(([id]) => id.startsWith('forged')).flatMap(([, l]) => l.map((a) => a.status)));
  if ([...forgedStatuses].some((s) => s !== 401)) failures.push(`forged deliveries answered ${[...forgedStatuses].join(', ')}`);
  // No valid one lost, each handled once.
  let lost = 0;
  let twice = 0;
  for (let i = 0; i < VALID; i++) {
    const list = answers.get(`abuse-${i}`) ?? [];
    if (!list.some((a) => a.status === 200)) lost++;
    if (list.filter((a) => a.status === 200 && !a.duplicate).length > 1) twice++;
  }
  if (lost) failures.push(`${lost} valid deliveries lost`);
  if (twice) failures.push(`${twice} valid deliveries answered as handled more than once`);
  let runs = 'n/a';
  if (handledBy && lines) {
    const counts = new Map();
    for (const line of lines) {
      const id = handledBy.exec(line)?.[1];
      if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const wrong = [...Array(VALID).keys()].filter((i) => counts.get(`abuse-${i}`) !== 1);
    const forgedRan = [...counts.keys()].filter((id) => /^(forged|slow|endless)/.test(id));
    runs = `${[...counts.values()].reduce((a, b) => a + b, 0)} handler runs`;
    if (wrong.length) failures.push(`${wrong.length} valid events not handled exactly once (e.g. abuse-${wrong[0]}: ${counts.get(`abuse-${wrong[0]}`) ?? 0})`);
    if (forgedRan.length) failures.push(`handlers ran for ${forgedRan.join(', ')}`);
  }
  // Bounded: answers while the tricklers and the endless body hold connections, the limits kept.
  times.sort((a, b) => a - b);
  const p99 = times[Math.floor(times.length * 0.99)] ?? 0;
  if (p99 > 3000) failures.push(`p99 answer time ${Math.round(p99)} ms`);
  if (!(endlessStatus === 'closed' || (endlessStatus >= 400 && endlessStatus < 500))) {
    failures.push(`the endless body was still read after 15 s (${endlessStatus || 'no answer'})`);
  }
  if (hugeStatuses.some((s) => s !== 413)) failures.push(`6 MiB bodies got ${hugeStatuses.join(', ')}`);
  const peak = peakMb(pid);
  if (peak !== null && peak > 400) failures.push(`peak memory ${peak} MB`);
  const summary = `${name}: ${order.length + retries.length} requests in ${Math.round(floodMs)} ms, p99 ${Math.round(p99)} ms, `
    + `0 of ${FORGED} forged accepted: ${accepted.length === 0}, ${VALID - lost}/${VALID} valid handled (${runs}), `
    + `endless ${endlessStatus}, 6 MiB ${hugeStatuses.join('/')}, peak ${peak ?? '?'} MB`;
  return { failures, summary };
}
