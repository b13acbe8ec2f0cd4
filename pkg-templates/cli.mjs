#!/usr/bin/env node
// `npx clhooks`: the clhooks command line on the package's WebAssembly core, for Node users
// without Rust. It takes the Rust `clhooks`'s flags (its grammar, SPEC, is read off the
// Rust CLI's definition at build time) and prints the same: every decision and every word of
// output comes from the core (`clhooks::command`, through clhooks-cli.wasm). This file only
// reads files, standard input, the environment, sockets and the clock. Its module,
// clhooks-cli.wasm, is the sender's with the command line's bindings: no receiver loads it.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { AsyncLocalStorage } from 'node:async_hooks';
import { dirname, join } from 'node:path';
import { createCore } from './core/cli-web.js';
import { createLive } from './api.js';

/** @type {any} */
const SPEC = __SPEC__;

const core = createCore(readFileSync(new URL('./clhooks-cli.wasm', import.meta.url)));
const live = createLive(() => core, (fn) => fn);

/** A command line failure: `{code, message, exit}`, as the core words them. */
class Exit extends Error {
  constructor(code) {
    super(`exit ${code}`);
    this.exitCode = code;
  }
}

const colourOf = (stream) => core.useColour(Boolean(stream.isTTY), process.env.NO_COLOR, process.env.TERM);

/** Writes to a stream and resolves once it is flushed (a pipe may be slower than the exit). */
const write = (stream, text) => new Promise((resolve) => {
  if (!text) resolve();
  else stream.write(text, () => resolve());
});

/** @returns {Promise<never>} */
async function fail(failure) {
  await write(process.stderr, `${core.failureLine(failure, colourOf(process.stderr))}\n`);
  throw new Exit(failure.exit);
}

/** Prints what a command printed, then reports its failure, if any. */
async function printed({ stdout, failure }) {
  await write(process.stdout, stdout);
  if (failure) await fail(failure);
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
};
const reason = (error) => OS_ERRORS[error.code] ?? error.message;

/** A file's bytes, or standard input's for none or `-`. */
async function input(file) {
  const stdin = !file || file === '-';
  try {
    return readFileSync(stdin ? 0 : file);
  } catch (error) {
    return fail({ code: 'io', message: `cannot read ${stdin ? 'standard input' : file}: ${reason(error)}`, exit: 2 });
  }
}

/** A usage error, worded as clap words it (the usage line only where clap shows one). */
const usageError = async (line, usage, tip) => {
  const parts = [`error: ${line}\n`];
  if (tip) parts.push(`\n  tip: ${tip}\n`);
  if (usage) parts.push(`\n${usage.trimEnd()}\n`);
  await write(process.stderr, `${parts.join('')}\nFor more information, try '--help'.\n`);
  throw new Exit(2);
};
const unexpected = (token, usage) => usageError(`unexpected argument '${token}' found`, usage,
  token.startsWith('-') ? `to pass '${token}' as a value, use '-- ${token}'` : undefined);

const shown = (arg) => (arg.positional ? `<${arg.value}>` : `--${arg.long} <${arg.value}>`);

const INT_RANGE = { u16: 65535n, u32: 4294967295n, u64: 18446744073709551615n };

/** A value of an option's type, or the reason clap gives for refusing it. */
function typed(arg, text) {
  if (arg.kind === 'string') return { value: text };
  if (arg.kind === 'f64') {
    const ok = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)$/i.test(text);
    return ok ? { value: Number(text.replace(/^([+-]?)inf(inity)?$/i, '$1Infinity')) } : { error: 'invalid float literal' };
  }
  if (text === '') return { error: 'cannot parse integer from empty string' };
  if (!/^\+?\d+$/.test(text)) return { error: 'invalid digit found in string' };
  const n = BigInt(text);
  if (n > INT_RANGE.u64) return { error: 'number too large to fit in target type' };
  if (n > INT_RANGE[arg.kind]) return { error: `${text} is not in 0..=${INT_RANGE[arg.kind]}` };
  return { value: Number(n) };
}

/** The command's arguments by id, read as clap reads them; prints help and exits on -h. */
async function parse(command, argv) {
  const byLong = new Map(command.args.filter((a) => a.long).map((a) => [a.long, a]));
  const positionals = command.args.filter((a) => a.positional);
  const values = new Map();
  const given = new Set();
  let rest = false;
  let position = 0;
  const set = async (arg, text) => {
    if (given.has(arg.id) && !arg.multiple) {
      await usageError(`the argument '${arg.positional ? `<${arg.value}>` : `--${arg.long}${arg.kind === 'flag' ? '' : ` <${arg.value}>`}`}' cannot be used multiple times`, command.usage);
    }
    given.add(arg.id);
    if (arg.kind === 'flag') return values.set(arg.id, true);
    const { value, error } = typed(arg, text);
    if (error !== undefined) await usageError(`invalid value '${text}' for '${shown(arg)}': ${error}`);
    if (arg.multiple) values.set(arg.id, [...(values.get(arg.id) ?? []), value]);
    else values.set(arg.id, value);
  };
  for (let i = 0; i < argv.length; i += 1) {
    const token = argv[i];
    if (!rest && token === '--') {
      rest = true;
    } else if (!rest && (token === '-h' || token === '--help')) {
      await write(process.stdout, token === '-h' ? command.help : command.longHelp);
      throw new Exit(0);
    } else if (!rest && token.startsWith('--')) {
      const [name, inline] = token.slice(2).split(/=(.*)/s);
      const arg = byLong.get(name);
      if (!arg) await unexpected(token.split('=')[0], command.usage);
      if (arg.kind === 'flag') {
        if (inline !== undefined) await usageError(`unexpected value '${inline}' for '--${arg.long}' found; no more were expected`, command.usage);
        await set(arg);
      } else if (inline !== undefined) {
        await set(arg, inline);
      } else {
        const next = argv[i + 1];
        if (next === undefined || (next.startsWith('-') && next !== '-')) {
          const known = next !== undefined && (next === '-h' || next === '--help' || byLong.has(next.slice(2).split('=')[0]));
          if (next !== undefined && !known) await unexpected(next, command.usage);
          await usageError(`a value is required for '${shown(arg)}' but none was supplied`);
        }
        i += 1;
        await set(arg, next);
      }
    } else if (!rest && token.startsWith('-') && token !== '-') {
      await unexpected(token, command.usage);
    } else {
      const arg = positionals[position];
      if (!arg) await unexpected(token, command.usage);
      position += 1;
      await set(arg, token);
    }
  }
  const missing = command.args.filter((a) => a.required && !given.has(a.id));
  const unmet = command.args.filter((a) => given.has(a.id)).flatMap((a) => a.requires).filter((id) => !given.has(id));
  const lacking = [...missing, ...command.args.filter((a) => unmet.includes(a.id))];
  if (lacking.length) {
    const list = lacking.map((a) => `  ${a.kind === 'flag' ? `--${a.long}` : shown(a)}`).join('\n');
    await usageError(`the following required arguments were not provided:\n${list}`, command.usage);
  }
  for (const arg of command.args) {
    if (!values.has(arg.id) && arg.default !== null) {
      values.set(arg.id, arg.kind === 'flag' ? arg.default === 'true' : typed(arg, arg.default).value);
    }
  }
  return Object.fromEntries(values);
}

// ---- the secrets ------------------------------------------------------------------------------

function secrets(args) {
  const file = args.secret_file;
  let text;
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      return fail({ code: 'io', message: `cannot read ${file}: ${reason(error)}`, exit: 2 });
    }
  }
  return guard(() => core.commandSecrets(args.secret ?? [], file, text, process.env.CL_WEBHOOK_SECRET));
}

const oneSecret = async (args) => guard(async () => core.commandOneSecret(await secrets(args)));

// ---- live runs ------------------------------------------------------------------------------

/** Drives a run over HTTP, printing its timeline as it goes, with a progress line on a terminal. */
async function drive(driver) {
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
      onEntries: () => {
        const { lines, next: after } = driver.lines(next, colour);
        next = after;
        if (lines.length) {
          clear();
          process.stdout.write(`${lines.join('\n')}\n`);
        }
      },
    }));
  } finally {
    clearInterval(timer);
    clear();
  }
}

/** A scenario file as the core's scenario JSON, its payload files read beside it. */
async function scenarioOf(path) {
  const text = await input(path);
  return guard(() => core.commandReadScenario(text, (name) => {
    const file = join(dirname(path), name);
    try {
      return [file, readFileSync(file)];
    } catch (error) {
      throw { code: 'io', message: `cannot read ${file}: ${reason(error)}`, exit: 2 };
    }
  }));
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
    const scenario = await scenarioOf(args.scenario);
    if (!args.live) {
      await printed(core.commandSimulate(scenario, Boolean(args.json), colourOf(process.stdout)));
      return;
    }
    let json = scenario;
    if (args.content_type !== undefined) {
      const value = JSON.parse(scenario);
      value.policy.content_type = args.content_type;
      json = JSON.stringify(value);
    }
    const driver = await guard(() => new core.Driver(json, Date.now(), args.time_scale, args.targets ?? []));
    try {
      await drive(driver);
      await write(process.stdout, driver.liveReportText(driver.now(Date.now()), Boolean(args.json)));
    } finally {
      driver.free();
    }
  },

  async send(args) {
    const secret = await oneSecret(args);
    const body = await input(args.file);
    const driver = await guard(() => core.Driver.send({
      body, url: args.url, secret, topic: args.topic, include: args.include ?? [], timeScale: args.time_scale,
      maxRetries: args.max_retries, contentType: args.content_type,
    }, Date.now()));
    try {
      await drive(driver);
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
      await write(process.stdout, core.commandCurl(args.url, headers, args.file));
      return;
    }
    if (args.topic === undefined) await write(process.stderr, `${core.noTopicNote()}\n`);
    const started = performance.now();
    const outcome = await live.call(globalThis.fetch, { url: args.url, headers, body, timeoutMs }, true);
    const ms = Math.round(performance.now() - started);
    await printed(await guard(() => core.commandReplayResult(outcome, ms, outcome.body ?? '')));
  },

  async listen(args) {
    const all = await secrets(args);
    const { Webhooks } = await import('./node.mjs');
    const sources = args.allow_sources
      ? { allow: args.allow_sources, proxies: args.trust_proxies ?? [], ...(args.forwarded ? { forwarded: args.forwarded } : {}) }
      : undefined;
    let webhooks;
    try {
      // The handler's time is the misbehaviour's: listen sets no limit on it, as the Rust one.
      webhooks = new Webhooks({ secret: all, maxBodyBytes: args.max_body, handlerTimeoutMs: 0, ...(sources ? { sources } : {}) });
    } catch (error) {
      return fail({ code: error.code ?? 'invalid_argument', message: error.message, exit: 1 });
    }
    const rehearsal = await guard(() => new core.Rehearsal(args.fail_rate, args.slow_ms, args.routes ?? [], args.seed));
    const requests = new AsyncLocalStorage();
    webhooks.on('*', async (event) => {
      const request = requests.getStore();
      const act = rehearsal.delivery(request.url, event.idempotencyKey, event.topic, event.type, event.id);
      request.act = act;
      if (act.slowMs > 0) await new Promise((resolve) => setTimeout(resolve, act.slowMs));
      if (args.save !== undefined) {
        try {
          mkdirSync(args.save, { recursive: true });
          writeFileSync(join(args.save, core.saveName(event.topic, event.id)), request.body);
        } catch { /* a payload that cannot be saved is still answered */ }
      }
      if (act.fail) throw new Error('failing on purpose');
    });
    const colour = colourOf(process.stdout);
    const maxConnections = Math.max(1, args.max_connections);
    let open = 0;
    let served = 0;
    // A head within the header timeout, the body within the body timeout after it (408 otherwise),
    // checked every 250 ms rather than Node's default 30 s.
    const server = createServer({
      maxHeaderSize: 16 * 1024, headersTimeout: args.header_timeout_ms,
      requestTimeout: args.header_timeout_ms + args.body_timeout_ms, connectionsCheckingInterval: 250,
    });
    server.on('connection', (socket) => {
      if (open >= maxConnections) {
        socket.end(plain(503, 'too many connections'));
        return;
      }
      open += 1;
      socket.on('close', () => { open -= 1; });
    });
    server.on('request', (req, res) => {
      const answer = (status, text) => {
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        res.end(`${text}\n`);
        req.resume();
      };
      if (req.rawHeaders.length / 2 > 100) return answer(431, 'more than 100 headers');
      if (req.headers['transfer-encoding'] !== undefined) return answer(411, 'send the body with a Content-Length');
      const length = Number(req.headers['content-length'] ?? 0);
      const tooLarge = length > args.max_body;
      const chunks = [];
      const receive = async () => {
        const request = { url: req.url ?? '/', act: null, body: Buffer.concat(chunks) };
        const result = await requests.run(request, () => webhooks.process({
          method: req.method ?? 'GET', body: request.body, headers: req.headers, peer: req.socket.remoteAddress, tooLarge,
        }).catch((error) => webhooks.failure(error)));
        process.stdout.write(`${core.listenLine(Date.now(), req.method ?? '', request.url, request.act, result, colour)}\n`);
        res.writeHead(result.status, { 'content-type': 'application/json', connection: 'close' });
        res.end(result.body);
        served += 1;
        if (args.max_requests !== undefined && served >= args.max_requests) {
          server.close();
          server.closeAllConnections?.();
          res.on('finish', () => process.exit(0));
        }
      };
      if (tooLarge) {
        req.resume();
        receive();
        return;
      }
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', receive);
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(args.port, args.host, () => resolve(undefined));
    }).catch((error) => fail({
      code: 'listen', message: `cannot listen on ${args.host}:${args.port}: ${reason(error)}`, exit: 2,
    }));
    const { address, port } = /** @type {import('node:net').AddressInfo} */ (server.address());
    await write(process.stdout, `${core.listening(address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`, all.length)}\n`);
    await new Promise(() => {});
  },
};

function plain(status, text) {
  const body = `${text}\n`;
  const reasons = { 503: 'Service Unavailable' };
  return `HTTP/1.1 ${status} ${reasons[status] ?? ''}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

// ---- the command line -----------------------------------------------------------------------

async function main(argv) {
  const [first, ...rest] = argv;
  if (first === undefined) {
    await write(process.stderr, SPEC.bare);
    throw new Exit(2);
  }
  if (first === '-h' || first === '--help') {
    await write(process.stdout, first === '-h' ? SPEC.help : SPEC.longHelp);
    return;
  }
  if (first === '-V' || first === '--version') {
    await write(process.stdout, `${SPEC.name} ${SPEC.version}\n`);
    return;
  }
  if (first === 'help') {
    const target = SPEC.commands.find((c) => c.name === rest[0]);
    if (rest.length && !target) {
      await usageError(`unrecognized subcommand '${rest[0]}'`, SPEC.usage);
    }
    await write(process.stdout, target ? target.helpCommand : SPEC.helpCommand);
    return;
  }
  const command = SPEC.commands.find((c) => c.name === first);
  if (!command) {
    const kind = first.startsWith('-') ? 'argument' : 'subcommand';
    await usageError(kind === 'argument' ? `unexpected argument '${first}' found` : `unrecognized subcommand '${first}'`, SPEC.usage);
  }
  await commands[command.name](await parse(command, rest));
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
