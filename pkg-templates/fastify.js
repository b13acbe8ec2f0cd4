// clhooks/fastify: a Fastify plugin around the core's receiver. It only moves bytes: the raw
// body is read by a content-type parser scoped to the plugin (so the rest of the app keeps
// Fastify's JSON parsing), step 0 runs in an onRequest hook before any body is read, and every
// answer — 405, 413, 401, 400, 409, 500, 503, 200 — is the core's.
//
//   app.register(clhooksFastify, { secret, onEvent, path: '/webhooks' })
//   app.register(clhooksFastify, { webhooks, path })   (a Webhooks with routes of its own)

const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'];

/**
 * The plugin. Options: `path` (default `/webhooks`), and either `webhooks` (a `Webhooks`) or
 * the options of one (`secret`, `onEvent`, `seen`...).
 * @param {any} fastify
 * @param {any} options
 */
async function clhooksFastify(fastify, options) {
  const { path = '/webhooks', webhooks: given, ...rest } = options ?? {};
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new WebhookError('invalid_argument', 'path must be a URL path such as /webhooks', { status: 500 });
  }
  // A Webhooks from either module system (or another copy of the package) is taken as it is.
  const isWebhooks = (value) => value != null && typeof value.process === 'function' && typeof value.refused === 'function';
  if (given !== undefined && !isWebhooks(given)) {
    throw new WebhookError('invalid_argument', 'webhooks must be a Webhooks (new Webhooks({ secret }))', { status: 500 });
  }
  const webhooks = given ?? new Webhooks(rest);
  const peerOf = (request) => (request.socket ? request.socket.remoteAddress : undefined);
  const send = (reply, { status, body }) => reply.code(status).type('application/json').send(body);
  // A body Fastify left unread (over the limit, a refused caller): the core's answer, then the
  // rest of the body is dropped within the core's bounds before the connection closes.
  const sendUnread = (request, reply, answer) => {
    reply.hijack();
    webhooks.answerUnread(request.raw, reply.raw, answer);
  };

  // Inside this plugin only: every body as raw bytes, up to the core's limit.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: webhooks.maxBodyBytes }, (_request, body, done) => done(null, body));

  // Step 0 (sources) before the body is read: a refused caller is not read at all.
  const arrivals = new WeakMap();
  fastify.addHook('onRequest', (request, reply, done) => {
    // The answer's latency counts from here (the failure streak's 5 s), on the receivers' clock.
    arrivals.set(request, performance.now());
    let refusal;
    try {
      refusal = webhooks.refused(peerOf(request), request.headers);
    } catch (error) {
      refusal = undefined;
      done(error);
      return;
    }
    if (refusal) sendUnread(request, reply, refusal);
    else done();
  });

  // A body Fastify would not read (over the limit, a broken length or stream): the core's
  // answer to it. Anything else that failed is the core's failure answer.
  fastify.setErrorHandler(async (error, request, reply) => {
    const code = error && typeof error.code === 'string' ? error.code : '';
    if (!code.startsWith('FST_ERR_CTP_')) return send(reply.header('connection', 'close'), webhooks.failure(error));
    const tooLarge = code === 'FST_ERR_CTP_BODY_TOO_LARGE';
    const answer = await webhooks.process({
      method: request.method, headers: request.headers, body: new Uint8Array(), tooLarge, unreadable: !tooLarge, peer: peerOf(request), arrived: arrivals.get(request),
    }).catch((failed) => webhooks.failure(failed));
    if (tooLarge) return sendUnread(request, reply, answer);
    return send(reply.header('connection', 'close'), answer);
  });

  fastify.route({
    method: METHODS,
    url: path,
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const body = request.body instanceof Uint8Array ? request.body : new Uint8Array();
      const answer = await webhooks.process({ method: request.method, headers: request.headers, body, peer: peerOf(request), arrived: arrivals.get(request) })
        .catch((error) => webhooks.failure(error));
      return send(reply, answer);
    },
  });
}

export default clhooksFastify;
