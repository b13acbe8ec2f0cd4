#!/usr/bin/env node
// `npx clhooks`: the clhooks command line on the package's WebAssembly core, for Node users
// without Rust. Its arguments are parsed by the Rust CLI's own grammar (clap, compiled into the
// wasm: crates/args), and every decision and every word of output comes from the core
// (`clhooks::command`), so it prints what the Rust `clhooks` prints. This file only
// reads files, standard input, the environment, sockets and the clock. Its module,
// clhooks-cli.wasm, is the sender's with the command line's bindings: no receiver loads it.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createCore } from './core/cli-web.js';
import { createLive } from './api.js';

const core = createCore(readFileSync(new URL('./clhooks-cli.wasm', import.meta.url)));
const live = createLive(() => core, (fn) => fn);

/** How the command ends: its exit status (what it said was printed already). */
class Exit extends Error {
  constructor(code) {
    super(`exit ${code}`);
    this.exitCode = code;
  }
}

const colourOf = (stream) => core.useColour(Boolean(stream.isTTY), process.env.NO_COLOR, process.env.TERM);

/** Writes to a stream and resolves once it is flushed (a pipe may be slower than the exit). */
const write = (stream, text) => new Promise((resolve, reject) => {
  if (!text) resolve();
  else stream.write(text, (error) => (error ? reject(error) : resolve()));
});
// A reader that went away (`| head`) is reported, not thrown as an unhandled 'error' event.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

/** @returns {Promise<never>} */
async function fail(failure) {
  await write(process.stderr, `${core.failureLine(failure, colourOf(process.stderr))}\n`).catch(() => {});
  throw new Exit(failure.exit);
}

/** Prints what a command printed, then reports its failure, if any. */
async function printed({ stdout, failure }) {
  await out(stdout);
  if (failure) await fail(failure);
}

/** Writes to standard output; a write that fails (a closed pipe) is the command's failure. */
async function out(text) {
  try {
    await write(process.stdout, text);
  } catch (error) {
    await fail({ code: 'io', message: reason(error), exit: 2 });
  }
}

/** Runs `fn`, reporting a failure the core threw (a plain `{code, message, exit}`). */
async function guard(fn) {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof Exit) throw error;
    if (error && typeof error.code === 'string' && typeof error.exit === 'number') return fail(error);
    // An error the core threw (a WebhookError, or the plain Error of a module used alone).
    const code = error instanceof Error ? /** @type {{ code?: unknown }} */ (error).code : undefined;
    if (typeof code === 'string' && /^[a-z_]+$/.test(code)) return fail(core.coreFailure(code, error.message));
    throw error;
  }
}

// ---- arguments ------------------------------------------------------------------------------

/** What the OS said, as the Rust CLI words it (Rust prints the C library's text). */
const OS_ERRORS = {
  ENOENT: 'No such file or directory (os error 2)',
  EACCES: 'Permission denied (os error 13)',
  EISDIR: 'Is a directory (os error 21)',
  ENOTDIR: 'Not a directory (os error 20)',
  ELOOP: 'Too many levels of symbolic links (os error 40)',
  EPERM: 'Operation not permitted (os error 1)',
  EADDRINUSE: 'Address already in use (os error 98)',
  EADDRNOTAVAIL: 'Cannot assign requested address (os error 99)',
  EPIPE: 'Broken pipe (os error 32)',
  ENAMETOOLONG: 'File name too long (os error 36)',
  ECONNREFUSED: 'Connection refused (os error 111)',
};
const reason = (error) => OS_ERRORS[error.code] ?? error.message;

/** A file's bytes, or standard input's for none or `-`. */
async function input(file) {
  const stdin = file == null || file === '-';
  try {
    return readFileSync(stdin ? 0 : file);
  } catch (error) {
    return fail({ code: 'io', message: `cannot read ${stdin ? 'standard input' : file}: ${reason(error)}`, exit: 2 });
  }
}

// ---- the secrets ------------------------------------------------------------------------------

function secrets(args) {
  const file = args.secret_file;
  let text;
  if (file != null) {
    try {
      text = readFileSync(file);
    } catch (error) {
      return fail({ code: 'io', message: `cannot read ${file}: ${reason(error)}`, exit: 2 });
    }
  }
  return guard(() => core.commandSecrets(args.secret ?? [], file, text, process.env.CL_WEBHOOK_SECRET));
}

const oneSecret = async (args) => guard(async () => core.commandOneSecret(await secrets(args)));

// ---- live runs ------------------------------------------------------------------------------

/**
 * Drives a run over HTTP, printing its timeline as it goes (`lines(from, colour, outcome)`
 * words the entries from `from` on, `outcome` the call's whose end gave them), with a
 * progress line on a terminal; `keepBody`: the outcomes carry the answers' bodies.
 * @param {any} driver
 * @param {(from: number, colour: boolean, outcome?: object) => { lines: string[], next: number }} [lines]
 * @param {boolean} [keepBody]
 */
async function drive(driver, lines = (from, colour) => driver.lines(from, colour), keepBody = false) {
  const colour = colourOf(process.stdout);
  const started = Date.now();
  const terminal = Boolean(process.stderr.isTTY);
  let next = 0;
  let shownProgress = false;
  const clear = () => {
    if (shownProgress) process.stderr.write('\r\x1b[2K');
    shownProgress = false;
  };
  const progress = () => {
    if (terminal && Date.now() - started >= core.progressAfterMs()) {
      process.stderr.write(`\r\x1b[2K${driver.progress(Date.now(), started)}`);
      shownProgress = true;
    }
  };
  const timer = setInterval(progress, 250);
  try {
    await guard(() => live.drive(driver, {
      keepBody,
      onEntries: (_, outcome) => {
        const { lines: said, next: after } = lines(next, colour, outcome);
        next = after;
        if (said.length) {
          clear();
          process.stdout.write(`${said.join('\n')}\n`);
        }
      },
    }));
  } finally {
    clearInterval(timer);
    clear();
  }
}

/**
 * A scenario file as the core's scenario JSON, its payload files read beside it; or, when
 * there is no such file, the built-in scenario of that name.
 */
async function scenarioOf(path, contentType) {
  let file;
  try {
    file = readFileSync(path === '-' ? 0 : path);
  } catch (error) {
    file = { missing: error.code === 'ENOENT', reason: reason(error) };
  }
  return guard(() => core.commandReadScenario(path, file, (name) => {
    const file = core.commandBeside(path, name);
    try {
      return [file, readFileSync(file)];
    } catch (error) {
      throw { code: 'io', message: `cannot read ${file}: ${reason(error)}`, exit: 2 };
    }
  }, contentType ?? undefined));
}

// ---- the commands ---------------------------------------------------------------------------

const commands = {
  async sign(args) {
    const secret = await oneSecret(args);
    await printed(core.commandSign(await input(args.file), secret));
  },

  async verify(args) {
    const all = await secrets(args);
    await printed(core.commandVerify(await input(args.file), args.signature, all));
  },

  async topics(args) {
    await printed(core.commandTopics(args.resource, Boolean(args.json)));
  },

  async topic(args) {
    await printed(core.commandTopic(args.name));
  },

  async inspect(args) {
    const body = await input(args.file);
    await printed(await guard(() => core.commandInspect(body, {
      topic: args.topic, maxDepth: args.max_depth, json: Boolean(args.json), pointer: args.pointer,
    })));
  },

  async simulate(args) {
    const scenario = await scenarioOf(args.scenario, args.live ? args.content_type : null);
    if (!args.live) {
      await printed(core.commandSimulate(scenario, Boolean(args.json), colourOf(process.stdout)));
      return;
    }
    const driver = await guard(() => new core.Driver(scenario, Date.now(), args.time_scale, args.targets));
    try {
      await drive(driver);
      await out(driver.liveReportText(driver.now(Date.now()), Boolean(args.json)));
    } finally {
      driver.free();
    }
  },

  async send(args) {
    const secret = await oneSecret(args);
    const body = await input(args.file);
    const options = {
      body, url: args.url, secret, topic: args.topic, include: args.include ?? [], timeScale: args.time_scale,
      maxRetries: args.max_retries, contentType: args.content_type,
    };
    const driver = await guard(() => core.Driver.send(options, Date.now()));
    try {
      const hint = await guard(() => core.commandSendHint(options));
      if (hint != null) await write(process.stderr, `${hint}\n`);
      await drive(driver, (from, colour, outcome) => driver.sendLines(from, colour, args.time_scale, outcome), true);
      const failure = driver.sendResult();
      if (failure) await fail(failure);
    } finally {
      driver.free();
    }
  },

  async replay(args) {
    const secret = await oneSecret(args);
    const body = await input(args.file);
    const { headers, timeoutMs } = await guard(() => core.commandReplayHeaders(body, secret, args.topic, args.content_type));
    if (args.curl) {
      await out(core.commandCurl(args.url, headers, args.file));
      return;
    }
    if (args.topic == null) await write(process.stderr, `${core.noTopicNote()}\n`);
    const started = performance.now();
    const outcome = await live.call(globalThis.fetch, { url: args.url, headers, body, timeoutMs }, true);
    const ms = Math.round(performance.now() - started);
    await printed(await guard(() => core.commandReplayResult(outcome, ms, outcome.body ?? '')));
  },

  'dead-letters': deadLetters,

  async listen(args) {
    const all = await secrets(args);
    if (args.forwarded != null) await guard(() => core.commandForwarded(args.forwarded));
    const { Webhooks } = await import('./node.mjs');
    const sources = args.allow_sources.length
      ? { allow: args.allow_sources, proxies: args.trust_proxies, ...(args.forwarded != null ? { forwarded: args.forwarded } : {}) }
      : undefined;
    let webhooks;
    try {
      // The handler's time is the misbehaviour's: listen sets no limit on it, as the Rust one; its
      // failures on purpose are in its own log, not on standard error. A failure streak's notice
      // and the streak itself are printed with the request's line (its logger record says the
      // streak).
      webhooks = new Webhooks({
        secret: all, maxBodyBytes: args.max_body, handlerTimeoutMs: 0, ...(sources ? { sources } : {}),
        onError: (error) => {
          const request = requests.getStore();
          if (request && String(error?.code).startsWith('failure_streak')) request.notices.push([error.code, error.message]);
        },
        logger: {
          info: (record) => { const request = requests.getStore(); if (request) request.streak = record.streak; },
          warn: (record) => { const request = requests.getStore(); if (request) request.streak = record.streak; },
        },
      });
    } catch (error) {
      return fail(core.coreFailure(error.code ?? 'invalid_argument', error.message));
    }
    const rehearsal = await guard(() => new core.Rehearsal(args.fail_rate, args.slow_ms, args.routes, args.seed));
    const limits = core.listenLimits(args.header_timeout_ms, args.body_timeout_ms, args.max_connections);
    const requests = new AsyncLocalStorage();
    webhooks.on('*', (event) => {
      const request = requests.getStore();
      const act = rehearsal.delivery(request.url, event.idempotencyKey, event.topic, event.type, event.id);
      request.act = act;
      if (args.save != null) {
        try {
          mkdirSync(args.save, { recursive: true });
          writeFileSync(join(args.save, core.saveName(event.topic, event.id)), request.body);
        } catch { /* a payload that cannot be saved is still answered */ }
      }
      // `--slow-ms`: the answer waits, holding up no other request; counted late past 5 s.
      const failing = () => { if (act.fail) throw new Error(core.failingOnPurpose()); };
      if (act.slowMs > 0) return sleep(act.slowMs).then(failing);
      return failing();
    });
    const colour = colourOf(process.stdout);
    let open = 0;
    let served = 0;
    /** Connections turned away, and those that have had their one request. */
    const refused = new WeakSet();
    const used = new WeakSet();
    /**
     * An answer on a connection that closes after it, its length given (no chunking, no Date);
     * after a body left unread, once the core's lingering close has dropped the rest.
     */
    const reply = (res, status, type, body, unread = null) => {
      res.sendDate = false;
      res.writeHead(status, core.reasonPhrase(status), { 'content-type': type, 'content-length': Buffer.byteLength(body), connection: 'close' });
      if (unread) {
        res.write(body);
        webhooks.linger(unread, () => res.end());
      } else res.end(body);
    };
    /** The raw bytes of a refusal, for a socket that never became a request. */
    const refusalBytes = (name) => {
      const { status, reason, text } = core.refusal(name);
      const body = `${text}\n`;
      return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
    };
    const refuse = (req, res, name) => {
      const { status, text } = core.refusal(name);
      reply(res, status, 'text/plain; charset=utf-8', `${text}\n`, req);
    };
    const overLimit = (req) => Number(req.headers['content-length'] ?? 0) > args.max_body;
    // The head within the header timeout (Node's parser checks it every 250 ms); the body's own
    // timeout is kept below, from the end of the head.
    const server = createServer({
      maxHeaderSize: limits.maxHeadBytes, headersTimeout: timerMs(limits.headerTimeoutMs), requestTimeout: 0,
      connectionsCheckingInterval: 250,
    });
    server.on('connection', (socket) => {
      if (open >= limits.maxConnections) {
        refused.add(socket);
        socket.end(refusalBytes('too_many_connections'));
        return;
      }
      open += 1;
      socket.on('close', () => { open -= 1; });
    });
    // What Node's parser refuses, answered as the Rust listen words it.
    const parserRefusals = {
      HPE_HEADER_OVERFLOW: 'head_too_large', ERR_HTTP_REQUEST_TIMEOUT: 'head_timeout', HPE_HEADERS_TIMEOUT: 'head_timeout',
      HPE_UNEXPECTED_CONTENT_LENGTH: 'length_with_encoding', HPE_INVALID_CONTENT_LENGTH: 'bad_length',
      HPE_CR_EXPECTED: 'bare_lf', HPE_LF_EXPECTED: 'bare_lf', HPE_INVALID_EOF_STATE: 'incomplete',
    };
    server.on('clientError', (/** @type {Error & { code?: string }} */ error, socket) => {
      if (socket.writable && !refused.has(socket)) socket.end(refusalBytes(parserRefusals[error.code] ?? 'not_http'));
      else socket.destroy();
    });
    // A client waiting for `100 Continue` gets it only for a body that will be read.
    server.on('checkContinue', (req, res) => {
      if (!overLimit(req)) res.writeContinue();
      server.emit('request', req, res);
    });
    server.on('request', (req, res) => {
      const { socket } = req;
      // One request a connection (every answer closes it); none on a connection turned away.
      if (refused.has(socket)) return;
      if (used.has(socket)) {
        socket.destroy();
        return;
      }
      used.add(socket);
      // The answer's latency counts from here, on the receivers' clock.
      const arrived = performance.now();
      if (req.rawHeaders.length / 2 > limits.maxHeaders) return refuse(req, res, 'too_many_headers');
      if (req.headers['transfer-encoding'] !== undefined) return refuse(req, res, 'chunked');
      const tooLarge = overLimit(req);
      const chunks = [];
      let answered = false;
      const answer = async (unreadable) => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        const request = { url: req.url ?? '/', act: null, body: Buffer.concat(chunks), streak: undefined, notices: [] };
        // `--health-path`: the counters, not a delivery.
        if (args.health_path != null && req.method === 'GET' && core.pathOf(request.url) === args.health_path) {
          const { status, body } = await webhooks.healthAnswer();
          served += 1;
          if (args.max_requests != null && served >= args.max_requests) {
            server.close();
            res.on('finish', () => process.exit(0));
          }
          return reply(res, status, 'application/json', body);
        }
        const result = await requests.run(request, () => webhooks.process({
          method: req.method ?? 'GET', body: request.body, headers: req.headers, peer: socket.remoteAddress, tooLarge, unreadable, arrived,
        }).catch((error) => webhooks.failure(error)));
        process.stdout.write(`${core.listenLine(Date.now(), req.method ?? '', request.url, request.act, result, request.streak, colour)}\n`);
        for (const [code, message] of request.notices) process.stdout.write(`${core.streakLine(Date.now(), code, message, colour)}\n`);
        served += 1;
        const last = args.max_requests != null && served >= args.max_requests;
        if (last) server.close();
        if (last) res.on('finish', () => process.exit(0));
        reply(res, result.status, 'application/json', result.body, tooLarge ? req : null);
      };
      const timer = setTimeout(() => {
        req.pause();
        answer(true);
      }, timerMs(limits.bodyTimeoutMs));
      if (tooLarge) {
        answer(false);
        return;
      }
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => answer(false));
      req.on('error', () => answer(true));
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(args.port, args.host, () => resolve(undefined));
    }).catch((error) => fail({
      code: 'listen', message: `cannot listen on ${args.host}:${args.port}: ${reason(error)}`, exit: 2,
    }));
    const { address, port } = /** @type {import('node:net').AddressInfo} */ (server.address());
    await out(`${core.listening(address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`, all.length)}\n`);
    await new Promise(() => {});
  },
};

/**
 * A connected Redis client for `dead-letters`: the `redis` package (node-redis), or `ioredis`,
 * installed beside the project (the folder it runs in) or beside clhooks; a failure saying what to
 * install when neither is.
 */
async function redisClient(url) {
  const from = [join(process.cwd(), 'package.json'), fileURLToPath(import.meta.url)];
  for (const name of ['redis', 'ioredis']) {
    for (const base of from) {
      let path;
      try {
        path = createRequire(base).resolve(name);
      } catch {
        continue;
      }
      const module = await import(pathToFileURL(path).href);
      try {
        if (name === 'redis') {
          const client = module.createClient({ url, socket: { connectTimeout: 5_000, reconnectStrategy: false } });
          client.on('error', () => {});
          await client.connect();
          return { client, close: () => client.close?.() ?? client.quit() };
        }
        const Redis = module.default ?? module.Redis;
        const client = new Redis(url, { lazyConnect: true, connectTimeout: 5_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
        client.on('error', () => {});
        await client.connect();
        return { client, close: () => client.disconnect() };
      } catch (error) {
        await fail(core.commandRedisUnavailable(url, reason(error)));
      }
    }
  }
  return fail({ code: 'usage', message: 'npx clhooks dead-letters talks to Redis with the redis package (or ioredis): npm install redis', exit: 2 });
}

/** A dead letter of the Redis queue's API as the core reads it: `{id, fields}`. */
const asFields = ({ id, record, reason: why, error, failedAt }) => ({
  id, fields: [...Object.entries(record).flat(), 'reason', why, 'error', error, 'failed', String(failedAt)],
});

/** `dead-letters list | show ID | replay (IDS | --all)`, on the queue of `clhooks/redis`. */
async function deadLetters(args) {
  const url = await guard(() => core.commandRedisUrl(args.redis ?? undefined, process.env.REDIS_URL));
  const { action } = args;
  const ids = action.action === 'replay' ? await guard(() => core.commandReplayIds(action.ids ?? [], Boolean(action.all))) : undefined;
  const given = action.action === 'show' ? [action.id] : action.action === 'list' && action.after ? [action.after] : [];
  await guard(() => core.commandCheckIds(given));
  const { createRedisQueue } = await import('./redis.mjs');
  const { client, close } = await redisClient(url);
  try {
    const queue = createRedisQueue(client, { stream: args.stream });
    const said = async (fn) => {
      try {
        return await fn();
      } catch (error) {
        return fail(core.commandRedisUnavailable(url, reason(error)));
      }
    };
    if (action.action === 'list') {
      const letters = await said(() => queue.deadLetters({ count: action.count, after: action.after ?? undefined }));
      await printed(core.commandDeadLetters(args.stream, letters.map(asFields)));
    } else if (action.action === 'show') {
      const letter = await said(() => queue.deadLetter(action.id));
      await printed(core.commandDeadLetter(args.stream, action.id, letter && asFields(letter)));
    } else {
      const moved = await said(() => queue.replay(ids ?? undefined));
      await printed(core.commandReplayed(args.stream, moved, ids ? ids.length : undefined));
    }
  } finally {
    await Promise.resolve(close()).catch(() => {});
  }
}

/** A wait a timer can take (Node's timers overflow above 2^31 - 1 ms). */
const timerMs = (ms) => Math.min(ms, 2 ** 31 - 1);

/** Waits `ms`, however long. */
async function sleep(ms) {
  for (let left = ms; left > 0; left -= timerMs(left)) await new Promise((resolve) => setTimeout(resolve, timerMs(left)));
}

// ---- the command line -----------------------------------------------------------------------

async function main(argv) {
  let { args, said } = core.parseArgs(argv, false);
  if (said) {
    const stream = said.stderr ? process.stderr : process.stdout;
    if (colourOf(stream)) said = core.parseArgs(argv, true).said;
    await write(stream, said.text).catch(() => {});
    throw new Exit(said.exit);
  }
  await commands[args.command](args);
}

main(process.argv.slice(2)).then(
  () => { process.exitCode = 0; },
  (error) => {
    if (error instanceof Exit) {
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`${core.failureLine({ code: 'internal', message: String(error?.stack ?? error), exit: 1 }, false)}\n`);
    process.exitCode = 1;
  },
);
