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
  const webhooks = given instanceof Webhooks ? given : new Webhooks(rest);
  const send = (reply, { status, body }, close = false) => {
    reply.code(status).type('application/json');
    if (close) reply.header('connection', 'close');
    return reply.send(body);
  };

  // Inside this plugin only: every body as raw bytes, up to the core's limit.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: webhooks.maxBodyBytes }, (_request, body, done) => done(null, body));

  // Step 0 (sources) before the body is read: a refused caller is not read at all.
  fastify.addHook('onRequest', (request, reply, done) => {
    let refusal;
    try {
      refusal = webhooks.refused(request.socket && request.socket.remoteAddress, request.headers);
    } catch (error) {
      refusal = undefined;
      done(error);
      return;
    }
    if (refusal) send(reply, refusal, true);
    else done();
  });

  // A body Fastify would not read (over the limit, a broken length): the core's answer to it.
  fastify.setErrorHandler(async (error, request, reply) => {
    const tooLarge = error && error.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
    const answer = await webhooks.process({ method: request.method, headers: request.headers, body: new Uint8Array(), tooLarge, unreadable: !tooLarge })
      .catch(() => ({ status: 500, body: JSON.stringify({ error: 'receiver_failed', message: String(error && error.message) }) }));
    return send(reply, answer, true);
  });

  fastify.route({
    method: METHODS,
    url: path,
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const body = request.body instanceof Uint8Array ? request.body : new Uint8Array();
      const answer = await webhooks.process({ method: request.method, headers: request.headers, body, peer: request.socket && request.socket.remoteAddress });
      return send(reply, answer);
    },
  });
}

export default clhooksFastify;
