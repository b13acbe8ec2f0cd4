// By hand, with idempotency on Redis shared by every instance: as twins/memory.mjs, the key
// claimed with `SET key busy NX PX lease` before the handler and recorded with `SET key done PX
// keep` after it (two round trips, as clhooks' claim and end), a taken key read with `GET` to
// tell a duplicate (200) from a copy in flight (409), a failed handler's key deleted.
import { createServer } from 'node:http';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createClient } from 'redis';

const secret = process.env.CL_WEBHOOK_SECRET;
const client = await createClient({ url: process.env.REDIS_URL }).connect();
const LEASE_MS = 45_000;
const KEEP_MS = 15_525_000;
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
    const key = `hand:seen:${createHash('sha256').update(topic).update(body).digest('hex')}`;
    try {
      if (await client.set(key, 'busy', { NX: true, PX: LEASE_MS }) === null) {
        if (await client.get(key) === 'done') return json(res, 200, { received: topic, duplicate: true });
        return res.writeHead(409).end();
      }
    } catch {
      return res.writeHead(503).end();
    }
    try {
      await handle(event);
    } catch {
      await client.del(key).catch(() => {});
      return res.writeHead(500).end();
    }
    await client.set(key, 'done', { PX: KEEP_MS }).catch(() => {});
    json(res, 200, { received: topic });
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
