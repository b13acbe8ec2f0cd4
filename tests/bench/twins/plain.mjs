// By hand, no idempotency: the body streamed in, one HMAC-SHA256 with a constant-time compare,
// one JSON parse, the handler, 200. What `equal.mjs` compares clhooks' receiver without a
// seen-store with.
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';

const secret = process.env.CL_WEBHOOK_SECRET;
const handle = (_event) => {};

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const given = Buffer.from(String(req.headers['x-commercelayer-signature']), 'base64');
    const mac = createHmac('sha256', secret).update(body).digest();
    if (given.length !== mac.length || !timingSafeEqual(given, mac)) return res.writeHead(401).end();
    let event;
    try {
      event = JSON.parse(body.toString('utf8'));
    } catch {
      return res.writeHead(422).end();
    }
    handle(event);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received: req.headers['x-commercelayer-topic'] }));
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
