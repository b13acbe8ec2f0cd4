// `make bench`, receiver side: requests per second of a node:http server taking signed
// deliveries on loopback (a 4 KiB document and the real 44 KB orders.place), with clhooks
// verifying and reading each one (createNodeHandler) and, side by side in the same run, the
// receiver a user would write by hand (node:crypto createHmac + timingSafeEqual + JSON.parse),
// two steps between them (clhooks' Verifier.verify + JSON.parse, and Verifier.receive alone:
// where the difference lies) and a server that only reads the body and answers 200. Each
// round starts one server later, so that none always runs first on a machine still warming.
//
// Usage: node tests/bench/receiver.mjs PKG_DIR

import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const pkgDir = resolve(process.argv[2] ?? 'pkg');
const { sign } = await import(join(pkgDir, 'node.mjs'));
const SECONDS = 3;
const CONCURRENCY = 32;
const ROUNDS = 3;

const servers = {
  'clhooks createNodeHandler (verify + topic + document)': `
    import { createServer } from 'node:http';
    import { createNodeHandler } from ${JSON.stringify(join(pkgDir, 'node.mjs'))};
    const server = createServer(createNodeHandler({ secret: 'bench-secret', seen: null, onEvent: () => {} }));
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`,
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

async function load(port, body) {
  const headers = headersOf(body);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  let errors = 0;
  const one = () => new Promise((ok) => {
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
  agent.destroy();
  return { rps: done / ((performance.now() - started) / 1000), errors, done };
}

for (const body of bodies) {
  console.log(`\nreceiver on loopback: ${body.length}-byte signed deliveries, ${CONCURRENCY} keep-alive connections, ${SECONDS} s each, best of ${ROUNDS}`);
  const results = {};
  const cpu = {};
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts one server later, so that no server always runs first.
    const order = Object.entries(servers);
    for (const [name, code] of [...order.slice(round), ...order.slice(0, round)]) {
      const { child, port } = await startServer(code);
      const before = await cpuOf(child);
      const { rps, errors, done } = await load(port, body);
      const perRequest = (await cpuOf(child) - before) / done;
      child.kill();
      if (errors) console.log(`  ${name}: ${errors} requests did not get 200`);
      results[name] = Math.max(results[name] ?? 0, rps);
      cpu[name] = Math.min(cpu[name] ?? Infinity, perRequest);
    }
  }
  const hand = 'by hand: node:crypto verify + JSON.parse';
  console.log(`  ${''.padEnd(56)} ${'requests/s'.padStart(20)} ${'server CPU per request'.padStart(26)}`);
  for (const [name, rps] of Object.entries(results)) {
    const speed = `${rps.toFixed(0)} (${(rps / results[hand]).toFixed(2)}×)`;
    const cost = `${cpu[name].toFixed(1)} µs (${(cpu[name] / cpu[hand]).toFixed(2)}×)`;
    console.log(`  ${name.padEnd(56)} ${speed.padStart(20)} ${cost.padStart(26)}`);
  }
}
