// `make bench`, receiver side: requests per second of a node:http server taking signed
// deliveries on loopback (a 4 KiB document and the real 44 KB orders.place), with clhooks
// verifying and reading each one (createNodeHandler, without and with a seen-store) and, side
// by side in the same run, the receiver a user would write by hand (node:crypto createHmac +
// timingSafeEqual + JSON.parse), two steps between them (clhooks' Verifier.verify +
// JSON.parse, and Verifier.receive alone: where the difference lies) and a server that only
// reads the body and answers 200.
//
// The servers run side by side: each first takes WARMUP seconds of load (a fresh process
// compiles its JS and tiers up its wasm then; that first window is reported apart), then the
// load goes round them in WINDOW-second turns, ROUNDS times, each round starting one server
// later. A server's figures are its totals over its turns: a machine that slows down for a
// while slows every server alike, which a single run per server does not give.
//
// With BEFORE=OTHER_PKG_DIR (`make bench BEFORE=...`), the two createNodeHandler servers run
// from that package too, side by side in the same rounds, and the table says how this build
// compares with it (the package built from an earlier commit, say).
//
// Usage: node tests/bench/receiver.mjs PKG_DIR

import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const pkgDir = resolve(process.argv[2] ?? 'pkg');
const beforeDir = process.env.BEFORE ? resolve(process.env.BEFORE) : undefined;
const { sign } = await import(join(pkgDir, 'node.mjs'));
const WARMUP = 2;
const WINDOW = 0.5;
const ROUNDS = 8;
const CONCURRENCY = 32;
// Each body goes round in this many variants (trailing whitespace, a different signature and
// idempotency key each): a seen-store sees fresh deliveries, not the same one again.
const VARIANTS = 2048;

/** The package's node:http receivers from `dir`, named with `label`. */
const receivers = (dir, label = '') => ({
  [`${label}clhooks createNodeHandler (verify + topic + document)`]: `
    import { createServer } from 'node:http';
    import { createNodeHandler } from ${JSON.stringify(join(dir, 'node.mjs'))};
    const server = createServer(createNodeHandler({ secret: 'bench-secret', seen: null, onEvent: () => {} }));
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`,
  // With a seen-store, as by default: every delivery's idempotency key made, claimed and
  // recorded in the core's memory store (each one fresh: it keeps fewer keys than there are
  // bodies going round).
  [`${label}clhooks createNodeHandler with the memory seen-store`]: `
    import { createServer } from 'node:http';
    import { createNodeHandler, createMemoryStore } from ${JSON.stringify(join(dir, 'node.mjs'))};
    const seen = createMemoryStore({ max: ${VARIANTS / 2} });
    const server = createServer(createNodeHandler({ secret: 'bench-secret', seen, onEvent: () => {} }));
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`,
});
const BEFORE_LABEL = 'before: ';

const servers = {
  ...receivers(pkgDir),
  ...(beforeDir ? receivers(beforeDir, BEFORE_LABEL) : {}),
  'by hand: node:crypto verify + JSON.parse': `
    import { createServer } from 'node:http';
    import { createHmac, timingSafeEqual } from 'node:crypto';
    const server = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const given = Buffer.from(String(req.headers['x-commercelayer-signature']), 'base64');
        const mac = createHmac('sha256', 'bench-secret').update(body).digest();
        if (given.length !== mac.length || !timingSafeEqual(given, mac)) return res.writeHead(401).end();
        const event = JSON.parse(body.toString('utf8'));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received: event.data.type }));
      });
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`,
  // Two steps between the two, to see where the difference is.
  'clhooks Verifier.verify + JSON.parse': `
    import { createServer } from 'node:http';
    import { Verifier } from ${JSON.stringify(join(pkgDir, 'node.mjs'))};
    const verifier = new Verifier('bench-secret');
    const server = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        try { verifier.verify(body, req.headers['x-commercelayer-signature']); } catch { return res.writeHead(401).end(); }
        const event = JSON.parse(body.toString('utf8'));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received: event.data.type }));
      });
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`,
  'clhooks Verifier.receive (verify + topic + document)': `
    import { createServer } from 'node:http';
    import { Verifier } from ${JSON.stringify(join(pkgDir, 'node.mjs'))};
    const verifier = new Verifier('bench-secret');
    const server = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        let event;
        try { event = verifier.receive(Buffer.concat(chunks), req.headers); } catch { return res.writeHead(401).end(); }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received: event.type }));
      });
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`,
  'no verification (read the body, answer 200)': `
    import { createServer } from 'node:http';
    const server = createServer((req, res) => {
      req.on('data', () => {});
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}'));
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`,
};

// A 4 KiB JSON:API document and the real 44 KB orders.place, signed as Commerce Layer would.
const padding = 'x'.repeat(4096 - 87);
const bodies = [
  Buffer.from(`{"data":{"id":"wBXVhZOmXO","type":"orders","attributes":{"status":"placed","note":"${padding}"}}}`),
  readFileSync(join(process.env.ROOT ?? join(pkgDir, '..'), 'tests/vectors/orders-place-payload.json')),
];
const headersOf = (body) => ({
  'content-type': 'application/vnd.api+json',
  'content-length': body.length,
  'x-commercelayer-signature': sign(body, 'bench-secret'),
  'x-commercelayer-topic': 'orders.place',
});
/** The body's variants with their headers: variant i ends in i written in spaces and newlines. */
const variantsOf = (body) => Array.from({ length: VARIANTS }, (_, i) => {
  const tail = Buffer.from(i.toString(2).padStart(11, '0').replace(/0/g, ' ').replace(/1/g, '\n'));
  const variant = Buffer.concat([body, tail]);
  return { body: variant, headers: headersOf(variant) };
});

// Each server also answers a line on stdin with its CPU time so far (µs): the CPU a request
// costs the server, apart from the load generator sharing the machine's cores.
const CPU_PROBE = `
    process.stdin.on('data', () => { const { user, system } = process.cpuUsage(); process.stdout.write(\`\${user + system}\\n\`); });`;

function startServer(code) {
  const child = spawn('node', ['--input-type=module', '-e', code + CPU_PROBE], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((ok) => child.stdout.once('data', (d) => ok({ child, port: Number(String(d).trim()) })));
}

/** The server's CPU time so far, in µs. */
function cpuOf(child) {
  return new Promise((ok) => {
    child.stdout.once('data', (d) => ok(Number(String(d).trim())));
    child.stdin.write('cpu\n');
  });
}

/** Load on `port` for `seconds`, through `agent`'s keep-alive connections, the variants in turn. */
async function load(port, agent, variants, seconds) {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  let next = 0;
  const one = () => new Promise((ok) => {
    const { body, headers } = variants[next++ % variants.length];
    const req = request({ host: '127.0.0.1', port, path: '/hooks', method: 'POST', agent, headers }, (res) => {
      if (res.statusCode !== 200) errors++;
      res.resume();
      res.on('end', ok);
    });
    req.on('error', () => { errors++; ok(); });
    req.end(body);
  });
  const worker = async () => {
    while (performance.now() < deadline) {
      await one();
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { ms: performance.now() - started, errors, done };
}

for (const body of bodies) {
  const variants = variantsOf(body);
  console.log(`\nreceiver on loopback: ${body.length}-byte signed deliveries (+${variants[0].body.length - body.length} bytes of whitespace, ${VARIANTS} variants), ${CONCURRENCY} keep-alive connections; `
    + `${WARMUP} s of warm-up each, then ${ROUNDS} turns of ${WINDOW} s each, side by side`);
  const running = [];
  for (const [name, code] of Object.entries(servers)) {
    const { child, port } = await startServer(code);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const first = await load(port, agent, variants, WARMUP);
    running.push({ name, child, port, agent, first, ms: 0, done: 0, errors: first.errors, cpu: 0 });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const server of [...running.slice(round % running.length), ...running.slice(0, round % running.length)]) {
      const before = await cpuOf(server.child);
      const { ms, errors, done } = await load(server.port, server.agent, variants, WINDOW);
      server.cpu += await cpuOf(server.child) - before;
      server.ms += ms;
      server.done += done;
      server.errors += errors;
    }
  }
  for (const server of running) {
    server.agent.destroy();
    server.child.kill();
    if (server.errors) console.log(`  ${server.name}: ${server.errors} requests did not get 200`);
  }
  const rps = (s) => s.done / (s.ms / 1000);
  const firstRps = (s) => s.first.done / (s.first.ms / 1000);
  const perRequest = (s) => s.cpu / s.done;
  const hand = running.find((s) => s.name === 'by hand: node:crypto verify + JSON.parse');
  console.log(`  ${''.padEnd(56)} ${'requests/s'.padStart(20)} ${'server CPU per request'.padStart(26)} ${`first ${WARMUP} s: requests/s`.padStart(26)}`);
  for (const server of running) {
    const speed = `${rps(server).toFixed(0)} (${(rps(server) / rps(hand)).toFixed(2)}×)`;
    const cost = `${perRequest(server).toFixed(1)} µs (${(perRequest(server) / perRequest(hand)).toFixed(2)}×)`;
    const warming = `${firstRps(server).toFixed(0)} (${(firstRps(server) / firstRps(hand)).toFixed(2)}×)`;
    console.log(`  ${server.name.padEnd(56)} ${speed.padStart(20)} ${cost.padStart(26)} ${warming.padStart(26)}`);
  }
  if (beforeDir) {
    console.log(`  this build against ${beforeDir}, same rounds:`);
    for (const before of running.filter((s) => s.name.startsWith(BEFORE_LABEL))) {
      const after = running.find((s) => s.name === before.name.slice(BEFORE_LABEL.length));
      console.log(`    ${after.name.padEnd(54)} ${(rps(after) / rps(before)).toFixed(3)}× the requests/s, ${(perRequest(after) / perRequest(before)).toFixed(3)}× the CPU per request`);
    }
  }
}
