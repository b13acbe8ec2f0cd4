// Runs one snippet that exports a handler instead of starting a server — a Next.js route
// (`export async function POST(request)`) or an AWS Lambda function (`export const handler`) —
// and hands it the deliveries the docs runner gives as JSON on standard input, as Next.js or API
// Gateway would. Prints one line: the answers, as JSON.
//
// Usage: node tests/docs/drive.mjs next|lambda SNIPPET < deliveries.json
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [kind, file] = process.argv.slice(2);
const deliveries = JSON.parse(readFileSync(0, 'utf8'));
const snippet = await import(pathToFileURL(file).href);
const answers = [];
for (const { body, headers } of deliveries) {
  const bytes = Buffer.from(body, 'base64');
  if (kind === 'next') {
    const response = await snippet.POST(new Request('http://127.0.0.1/api/webhooks', { method: 'POST', headers, body: bytes }));
    answers.push({ status: response.status, body: await response.text() });
  } else {
    // An API Gateway HTTP API (payload 2.0) event, its body base64-encoded as for binary types.
    const event = {
      version: '2.0', rawPath: '/webhooks', headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
      requestContext: { http: { method: 'POST', path: '/webhooks', sourceIp: '127.0.0.1' } },
      body: bytes.toString('base64'), isBase64Encoded: true,
    };
    const result = await snippet.handler(event, {});
    answers.push({ status: result.statusCode, body: result.body });
  }
}
process.stdout.write(`${JSON.stringify(answers)}\n`);
