// By hand, with idempotency in a Map: as twins/plain.mjs, then a SHA-256 key of the topic and
// the body, a copy being handled answered 409 and one handled before 200 (a duplicate), the
// handled keys bounded (the oldest forgotten first), a failed handler's key freed for the retry.
import { createServer } from 'node:http';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const secret = process.env.CL_WEBHOOK_SECRET;
const MAX = 10_000;
const seen = new Map(); // key -> 'busy' | 'done', oldest first
const handle = async (_event) => {};
const json = (res, status, value) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    const topic = String(req.headers['x-commercelayer-topic']);
    const given = Buffer.from(String(req.headers['x-commercelayer-signature']), 'base64');
    const mac = createHmac('sha256', secret).update(body).digest();
    if (given.length !== mac.length || !timingSafeEqual(given, mac)) return res.writeHead(401).end();
    let event;
    try {
      event = JSON.parse(body.toString('utf8'));
    } catch {
      return res.writeHead(422).end();
    }
    const key = createHash('sha256').update(topic).update(body).digest('hex');
    const state = seen.get(key);
    if (state === 'done') return json(res, 200, { received: topic, duplicate: true });
    if (state === 'busy') return res.writeHead(409).end();
    seen.set(key, 'busy');
    try {
      await handle(event);
    } catch {
      seen.delete(key);
      return res.writeHead(500).end();
    }
    seen.delete(key);
    seen.set(key, 'done');
    if (seen.size > MAX) seen.delete(seen.keys().next().value);
    json(res, 200, { received: topic });
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
