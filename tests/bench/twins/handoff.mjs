// By hand, handing each delivery to a Redis stream for workers: as twins/plain.mjs, then a
// SHA-256 key of the topic and the body claimed with `SET key queued NX PX keep` (a taken key is
// a duplicate, 200) and the delivery written with `XADD` (what a worker needs to verify it again:
// key, topic, signature, time, body), then 200. The handler runs on the workers.
import { createServer } from 'node:http';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createClient } from 'redis';

const secret = process.env.CL_WEBHOOK_SECRET;
const client = await createClient({ url: process.env.REDIS_URL }).connect();
const KEEP_MS = 15_525_000;
const json = (res, status, value) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    const signature = String(req.headers['x-commercelayer-signature']);
    const topic = String(req.headers['x-commercelayer-topic']);
    const given = Buffer.from(signature, 'base64');
    const mac = createHmac('sha256', secret).update(body).digest();
    if (given.length !== mac.length || !timingSafeEqual(given, mac)) return res.writeHead(401).end();
    const key = createHash('sha256').update(topic).update(body).digest('hex');
    try {
      if (await client.set(`hand:seen:${key}`, 'queued', { NX: true, PX: KEEP_MS }) === null) {
        return json(res, 200, { received: topic, duplicate: true });
      }
      await client.xAdd('hand:queue', '*', { key, topic, sig: signature, rcv: String(Date.now()), body });
    } catch {
      return res.writeHead(503).end();
    }
    json(res, 200, { received: topic, queued: true });
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
