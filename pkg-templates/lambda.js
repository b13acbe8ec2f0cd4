// clhooks/lambda: AWS Lambda behind API Gateway (REST, payload v1; HTTP API, payload v2) or a
// Function URL. It only moves bytes: the event's method, headers (any case, multi-value ones
// each kept) and body (decoded when `isBase64Encoded`) go to the core's receiver, and its
// answer comes back as the proxy result. Step 0 (sources) uses the caller's address API
// Gateway reports.

/** The request in an API Gateway or Function URL event. */
function requestOf(event) {
  if (event === null || typeof event !== 'object') {
    throw new WebhookError('invalid_argument', 'a Lambda handler takes an API Gateway or Function URL event', { status: 500 });
  }
  const context = event.requestContext ?? {};
  const method = String((context.http && context.http.method) ?? event.httpMethod ?? '');
  const peer = (context.http && context.http.sourceIp) ?? (context.identity && context.identity.sourceIp) ?? undefined;
  // Payload v1 has both maps (multiValueHeaders holds every value); v2 joins values with commas.
  const headers = [];
  const multi = event.multiValueHeaders;
  // Some tools send an empty multiValueHeaders beside the headers: then the headers it is.
  if (multi && typeof multi === 'object' && Object.keys(multi).length > 0) {
    for (const [name, values] of Object.entries(multi)) {
      for (const value of Array.isArray(values) ? values : [values]) if (value != null) headers.push([name, String(value)]);
    }
  } else if (event.headers && typeof event.headers === 'object') {
    for (const [name, value] of Object.entries(event.headers)) if (value != null) headers.push([name, String(value)]);
  }
  const raw = event.body ?? '';
  // The whole body is in the event already: the core measures it against its limit.
  const body = event.isBase64Encoded === true ? base64Bytes(String(raw)) : String(raw);
  return { method, headers, body, peer };
}

/** A base64 body as bytes (with Buffer where there is one). */
function base64Bytes(text) {
  if (typeof Buffer === 'function') {
    const buffer = Buffer.from(text, 'base64');
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/**
 * A Lambda handler: `export const handler = createLambdaHandler({ secret, onEvent })`, or with a
 * `Webhooks` that has routes of its own. It answers `{ statusCode, headers, body }`.
 * @param {any} options
 */
export function createLambdaHandler(options) {
  // A Webhooks from either module system (or another copy of the package) is taken as it is.
  const given = options != null && typeof options.process === 'function' && typeof options.refused === 'function';
  const webhooks = given ? options : new Webhooks(options);
  return async (event) => {
    const arrived = performance.now();
    // A shared store's failure-streak count, finished before the handler returns: Lambda freezes
    // the environment then.
    const kept = [];
    const request = { ...requestOf(event), arrived, keep: (promise) => kept.push(promise) };
    let answer;
    try {
      answer = await webhooks.process(request);
    } catch (error) {
      // The core's failure answer (500), as every other adapter gives, rather than a 502.
      answer = webhooks.failure(error);
    }
    await Promise.all(kept);
    return { statusCode: answer.status, headers: { 'content-type': 'application/json' }, body: answer.body, isBase64Encoded: false };
  };
}
