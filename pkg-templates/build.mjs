// Assembles the npm package in pkg/ from wasm-bindgen's output and these templates.
//
// One optimized clhooks.wasm serves every runtime, through wasm-bindgen's `web` glue made into
// a factory: `createCore(module)` instantiates the compiled module afresh and returns the
// bindings of that instance. The package keeps the compiled module and makes a new instance
// whenever the one in use failed (a trap), so a failure never outlives the call it broke. The
// factory ships as ESM (core/web.js) and CommonJS (core/web.cjs). The .d.ts is generated,
// not restated: the types of everything that crosses the boundary come from the Rust types
// (types.d.ts, printed by crates/wasm's clhooks-types with ts-rs), and the topic and
// error-code unions are read from the built core itself, so none of them can drift from it.
//
// Usage: node pkg-templates/build.mjs BUILD_DIR OUT_DIR
//   BUILD_DIR holds receiver-web/, sender-web/, sources-web/, worker-web/, cli-web/ (wasm-bindgen --target web), the five
//   .wasm files and types.d.ts.

import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [buildDir, outDir] = process.argv.slice(2).map((p) => resolve(p));
if (!buildDir || !outDir) throw new Error('usage: node pkg-templates/build.mjs BUILD_DIR OUT_DIR');

const read = (path) => readFileSync(path, 'utf8');
const replaceOnce = (text, from, to, what) => {
  if (text.split(from).length !== 2) throw new Error(`expected exactly one ${JSON.stringify(from)} in ${what}`);
  return text.replace(from, () => to);
};

rmSync(outDir, { recursive: true, force: true });
mkdirSync(join(outDir, 'core'), { recursive: true });

/**
 * wasm-bindgen's web glue as the body of `createCore(module)`: every top-level declaration
 * scoped to one instance, the instance made at once from `module` (a compiled
 * WebAssembly.Module, or bytes), the exported bindings returned.
 */
function factory(glue, what) {
  const names = [...glue.matchAll(/^export (?:function|class) (\w+)/gm)].map((m) => m[1]);
  if (names.length === 0) throw new Error(`no exports found in ${what}`);
  const body = replaceOnce(glue, 'export { initSync, __wbg_init as default };', '', what)
    .replace(/^\/\* @ts-self-types=.*\*\/$/m, '')
    .replace(/^export (function|class) /gm, '$1 ')
    // The default path of the async init is never used: the module is always given.
    .replace(/new URL\('clhooks_wasm_bg\.wasm', import\.meta\.url\)/, 'undefined');
  if (/^export /m.test(body) || body.includes('import.meta')) throw new Error(`unexpected export or import.meta in ${what}`);
  return `function createCore(module) {\n${body}\ninitSync({ module });\nreturn { ${names.join(', ')} };\n}\n`;
}

// Five modules: the receiver's (clhooks.wasm), the sender's (clhooks-sender.wasm, loaded on
// first use), the allow-list's (clhooks-sources.wasm), the handoff worker's (clhooks-worker.wasm)
// and the command line's (clhooks-cli.wasm, `npx clhooks` only), from
// BUILD_DIR/{receiver,sender,sources,worker,cli}-web.
for (const [dir, name, prefix] of [['receiver-', 'clhooks', ''], ['sender-', 'clhooks-sender', 'sender-'], ['sources-', 'clhooks-sources', 'sources-'],
  ['worker-', 'clhooks-worker', 'worker-'], ['cli-', 'clhooks-cli', 'cli-']]) {
  copyFileSync(join(buildDir, `${name}.wasm`), join(outDir, `${name}.wasm`));
  const made = factory(read(join(buildDir, `${dir}web/clhooks_wasm.js`)), `the ${name} web glue`);
  writeFileSync(join(outDir, `core/${prefix}web.js`), `export ${made}`);
  writeFileSync(join(outDir, `core/${prefix}web.cjs`), `'use strict';\n${made}module.exports = { createCore };\n`);
  // wasm-bindgen's declarations of the bindings, so that `tsc --checkJs` checks the JS layer.
  copyFileSync(join(buildDir, `${dir}web/clhooks_wasm.d.ts`), join(outDir, `core/${prefix}bindings.d.ts`));
  writeFileSync(join(outDir, `core/${prefix}web.d.ts`), [
    `/** A fresh instance of ${name}.wasm (a compiled module, or its bytes), and its bindings. */`,
    `export function createCore(module: WebAssembly.Module | BufferSource): typeof import('./${prefix}bindings.js');`,
    '',
  ].join('\n'));
}

// The JS layer is written once as ES modules and shipped as one file in each module system.
const parts = ['api.js', 'receivers.js', 'live.js', 'hosts.js', 'outline.js', 'queue.js'].map((file) => read(join(here, file)));
const api = parts.join('\n');
if ((api.match(/^export /gm) ?? []).length !== parts.length) {
  throw new Error('each JS layer file exports exactly one `export function`');
}
writeFileSync(join(outDir, 'api.js'), api);
writeFileSync(join(outDir, 'api.cjs'), `'use strict';\n${api.replace(/^export function /gm, 'function ')}\nmodule.exports = { createApi, createHost };\n`);
for (const file of ['node.mjs', 'node.cjs', 'workerd.mjs', 'browser.mjs', 'README.md', 'redis.d.ts', 'cloudflare.d.ts', 'fastify.d.ts', 'lambda.d.ts']) {
  copyFileSync(join(here, file), join(outDir, file));
}

/**
 * NAME.d.ts's CommonJS twin, NAME.d.cts, over index.d.cts: what `require('clhooks/NAME')`
 * resolves to, since a .d.ts in this `"type": "module"` package declares an ES module.
 */
function cjsTwin(name, edit = (text) => text) {
  const what = `${name}.d.ts`;
  writeFileSync(join(outDir, `${name}.d.cts`), edit(replaceOnce(read(join(here, what)), "from './index.js';", "from './index.cjs';", what), what));
}
cjsTwin('redis');
cjsTwin('lambda');
cjsTwin('cloudflare');
// fastify.cjs's module.exports is the plugin itself (with .default and .clhooksFastify on it).
cjsTwin('fastify', (text, what) => replaceOnce(replaceOnce(text, 'export type ClhooksFastifyOptions', 'type ClhooksFastifyOptions', what),
  'export default clhooksFastify;', [
    'declare namespace clhooksFastify {',
    '  export { ClhooksFastifyOptions, clhooksFastify as default, clhooksFastify };',
    '}',
    'export = clhooksFastify;',
  ].join('\n'), what));

// The exported .wasm subpaths' declarations, NAME.wasm.d.ts beside each (where node10
// resolution looks) and its .d.cts twin: the compiled module, as a Worker imports a .wasm.
for (const subpath of Object.keys(JSON.parse(read(join(here, 'package.json'))).exports).filter((key) => key.endsWith('.wasm'))) {
  const declaration = '/** The compiled module, as a Worker (Wrangler) imports a .wasm. */\ndeclare const wasm: WebAssembly.Module;\nexport default wasm;\n';
  for (const extension of ['d.ts', 'd.cts']) writeFileSync(join(outDir, `${subpath.slice(2)}.${extension}`), declaration);
}

/**
 * A Node subpath (`clhooks/NAME`), written once as an ES module: NAME.mjs importing `names` from
 * the Node entry, NAME.cjs requiring them, ending with `cjsExports`.
 */
function nodeSubpath(name, code, names, cjsExports, crypto = []) {
  const fromCrypto = crypto.length ? [`import { ${crypto.join(', ')} } from 'node:crypto';\n`, `const { ${crypto.join(', ')} } = require('node:crypto');\n`] : ['', ''];
  writeFileSync(join(outDir, `${name}.mjs`), `${fromCrypto[0]}import { ${names.join(', ')} } from './node.mjs';\n${code}`);
  writeFileSync(join(outDir, `${name}.cjs`), `'use strict';\n${fromCrypto[1]}const { ${names.join(', ')} } = require('./node.cjs');\n`
    + `${code.replace(/^export function /gm, 'function ').replace(/^export default \w+;\n?/m, '')}\n${cjsExports}\n`);
}

// `npx clhooks`: the command line (its grammar and decisions are in clhooks-cli.wasm).
copyFileSync(join(here, 'cli.mjs'), join(outDir, 'cli.mjs'));
chmodSync(join(outDir, 'cli.mjs'), 0o755);

// The sample scenarios (`npx clhooks simulate NAME` runs their built-in copies) and the payload
// they name, as files to copy and edit: scenarios/NAME.json, their `payload_file`s pointed at
// payloads/ (the built-ins resolve them by file name, so both read the same payload).
{
  const scenarioDir = join(here, '../examples/scenarios');
  mkdirSync(join(outDir, 'scenarios'), { recursive: true });
  mkdirSync(join(outDir, 'payloads'), { recursive: true });
  for (const file of readdirSync(scenarioDir).filter((f) => f.endsWith('.json')).sort()) {
    const text = read(join(scenarioDir, file)).replace(/("payload_file":\s*)"([^"]+)"/g, (_, key, reference) => {
      const name = basename(reference);
      copyFileSync(resolve(scenarioDir, reference), join(outDir, 'payloads', name));
      return `${key}${JSON.stringify(`../payloads/${name}`)}`;
    });
    JSON.parse(text);
    writeFileSync(join(outDir, 'scenarios', file), text);
  }
}

// The framework adapters: `clhooks/fastify` (a plugin, the default export) and `clhooks/lambda`.
nodeSubpath('fastify', read(join(here, 'fastify.js')), ['Webhooks', 'WebhookError'],
  'module.exports = clhooksFastify;\nmodule.exports.default = clhooksFastify;\nmodule.exports.clhooksFastify = clhooksFastify;');
nodeSubpath('lambda', read(join(here, 'lambda.js')), ['Webhooks', 'WebhookError'], 'module.exports = { createLambdaHandler };');

// `clhooks/sdk`: the SDK's types for denormalize(), by resource, for the resources of the known
// topics (read from @commercelayer/sdk's declarations, a dev dependency here and an optional
// type-only peer for users). A module augmentation of ResourceTypes; the JS module is empty.
{
  const sdkDir = join(here, '../node_modules/@commercelayer/sdk/lib');
  const chunk = readdirSync(sdkDir).find((f) => /^api-.*\.d\.ts$/.test(f)
    && read(join(sdkDir, f)).includes('type ResourceFields = {'));
  if (!chunk) throw new Error('no ResourceFields in @commercelayer/sdk: is it installed (npm ci)?');
  const fields = /type ResourceFields = \{([^}]*)\}/.exec(read(join(sdkDir, chunk)))[1];
  const exported = new Set([...read(join(sdkDir, 'index.d.ts')).matchAll(/ as (\w+)[,}]/g)].map((m) => m[1]));
  const topicResources = new Set(read(join(here, '../data/topics.tsv')).trim().split('\n').slice(1).map((line) => line.split('.')[0]));
  const entries = [...fields.matchAll(/(\w+): (\w+);/g)]
    .filter(([, resource, type]) => topicResources.has(resource) && exported.has(type))
    .map(([, resource, type]) => `    ${resource}: Sdk.${type};`);
  const missing = [...topicResources].filter((r) => !entries.some((e) => e.startsWith(`    ${r}:`)));
  if (missing.length) throw new Error(`@commercelayer/sdk has no exported type for ${missing.join(', ')}: map them, or move the peer range`);
  // The SDK's own CommonJS declarations export none of its resource types (their `export =`
  // hides them), so the CommonJS twin reads its ES module declarations.
  const augmentation = (index, attributes = '') => [
    "// Commerce Layer's SDK types for denormalize(), by resource: `import 'clhooks/sdk'` once.",
    "// Generated by the build from @commercelayer/sdk's declarations, for every known topic's resource.",
    `import type * as Sdk from '@commercelayer/sdk'${attributes};`,
    '',
    `declare module '${index}' {`,
    '  interface ResourceTypes {',
    ...entries,
    '  }',
    '}',
    '',
  ].join('\n');
  writeFileSync(join(outDir, 'sdk.d.ts'), augmentation('./index.js'));
  writeFileSync(join(outDir, 'sdk.d.cts'), augmentation('./index.cjs', " with { 'resolution-mode': 'import' }"));
  writeFileSync(join(outDir, 'sdk.mjs'), '// Types only: see sdk.d.ts.\nexport {};\n');
  writeFileSync(join(outDir, 'sdk.cjs'), "'use strict';\n// Types only: see sdk.d.cts.\n");
}

// The shared seen-stores: `clhooks/redis` (Node, ESM and CommonJS) with the core's two Lua
// scripts inlined, and `clhooks/cloudflare` (workerd: a Durable Object and its store).
{
  const script = (name) => JSON.stringify(read(join(here, `../src/store/${name}.lua`)));
  const prefix = /pub const DEFAULT_PREFIX: &str = "([^"]+)";/.exec(read(join(here, '../src/store.rs')))?.[1];
  if (!prefix) throw new Error('no DEFAULT_PREFIX in src/store.rs');
  const handoff = (name) => JSON.stringify(read(join(here, `../src/handoff/${name}.lua`)));
  const queueRs = read(join(here, '../src/handoff/redis.rs'));
  const constant = (name) => {
    const found = new RegExp(`pub const ${name}: [^=]+= "?([^";]+)"?;`).exec(queueRs)?.[1];
    if (!found) throw new Error(`no ${name} in src/handoff/redis.rs`);
    return found;
  };
  // The fold script as src/store.rs puts it together (the end and count scripts, wrapped).
  const storeRs = read(join(here, '../src/store.rs'));
  const folded = /pub const FOLD_SCRIPT: &str = concat!\(([\s\S]*?)\);/.exec(storeRs)?.[1];
  if (!folded) throw new Error('no FOLD_SCRIPT in src/store.rs');
  const fold = [...folded.matchAll(/include_str!\("([^"]+)"\)|"((?:[^"\\]|\\.)*)"/g)]
    .map(([, path, text]) => (path ? read(join(here, '../src', path)) : JSON.parse(`"${text}"`))).join('');
  let redis = read(join(here, 'redis.js'));
  for (const [placeholder, value] of [
    ['__CLAIM_SCRIPT__', script('claim')], ['__END_SCRIPT__', script('end')], ['__DEFAULT_PREFIX__', JSON.stringify(prefix)],
    ['__COUNT_SCRIPT__', JSON.stringify(read(join(here, '../src/health/count.lua')))], ['__FOLD_SCRIPT__', JSON.stringify(fold)],
    ['__ENQUEUE_SCRIPT__', handoff('enqueue')], ['__TAKE_SCRIPT__', handoff('take')], ['__EXTEND_SCRIPT__', handoff('extend')],
    ['__SETTLE_SCRIPT__', handoff('settle')], ['__DEFAULT_STREAM__', JSON.stringify(constant('DEFAULT_STREAM'))],
    ['__DEFAULT_GROUP__', JSON.stringify(constant('DEFAULT_GROUP'))], ['__DEAD_ERROR_BYTES__', constant('DEAD_ERROR_BYTES').replace(/_/g, '')],
    ['__REPLAY_SCRIPT__', handoff('replay')], ['__REPLAY_BATCH__', constant('REPLAY_BATCH')],
  ]) redis = replaceOnce(redis, placeholder, value, 'redis.js');
  nodeSubpath('redis', redis, ['WebhookError'], 'module.exports = { createRedisStore, createRedisQueue };', ['createHash', 'randomUUID']);
  const limit = /pub const CLOUDFLARE_MESSAGE_LIMIT: usize = ([\d_]+);/.exec(read(join(here, '../src/handoff.rs')))?.[1];
  if (!limit) throw new Error('no CLOUDFLARE_MESSAGE_LIMIT in src/handoff.rs');
  const cloudflare = replaceOnce(replaceOnce(read(join(here, 'cloudflare.js')), '__DEFAULT_PREFIX__', JSON.stringify(prefix), 'cloudflare.js'),
    '__CLOUDFLARE_MESSAGE_LIMIT__', limit.replace(/_/g, ''), 'cloudflare.js');
  writeFileSync(join(outDir, 'cloudflare.mjs'), cloudflare);
}

// The inspector page: served by `npx clhooks-inspector`, and as one self-contained HTML file
// (the wasm inlined) that also works opened from disk, where browsers refuse module imports.
const inspectorDir = join(here, '../examples/inspector');
mkdirSync(join(outDir, 'inspector'), { recursive: true });
writeFileSync(join(outDir, 'inspector/index.html'), replaceOnce(read(join(inspectorDir, 'index.html')),
  '"clhooks": "../../pkg/browser.mjs"', '"clhooks": "../browser.mjs"', 'the inspector page'));
for (const file of ['inspector.css', 'inspector.js', 'serve.mjs']) copyFileSync(join(inspectorDir, file), join(outDir, 'inspector', file));
writeFileSync(join(outDir, 'inspector/clhooks-inspector.html'), standalone());

function standalone() {
  const scoped = (code) => code.replace(/^export (function|class) /gm, '$1 ').replace(/^export \{[^}]*\};?$/gm, '');
  /** A module's factory, and its .wasm inlined as base64 and compiled once. */
  const inlined = (variable, glueFile, wasmFile) => {
    const wasm = readFileSync(join(outDir, wasmFile)).toString('base64');
    return [
      `const ${variable} = (() => {\n${scoped(read(join(outDir, glueFile)))}\nreturn createCore;\n})();`,
      `const ${variable}Module = new WebAssembly.Module(Uint8Array.from(atob(${JSON.stringify(wasm)}), (c) => c.charCodeAt(0)));`,
    ].join('\n');
  };
  const page = read(join(inspectorDir, 'index.html'));
  const script = read(join(inspectorDir, 'inspector.js'));
  const imports = /^import \{([^}]*)\} from 'clhooks';$/m.exec(script);
  if (!imports) throw new Error('inspector.js imports from clhooks in one statement');
  const module = [
    inlined('createReceiverCore', 'core/web.js', 'clhooks.wasm'),
    inlined('createSenderCore', 'core/sender-web.js', 'clhooks-sender.wasm'),
    `const { createApi, createHost } = (() => {\n${scoped(api)}\nreturn { createApi, createHost };\n})();`,
    'const clhooks = createApi(() => createReceiverCore(createReceiverCoreModule), createHost(globalThis.crypto),\n'
      + '  () => createSenderCore(createSenderCoreModule), null);',
    `{\nconst {${imports[1]}} = clhooks;\n${script.replace(imports[0], '')}\n}`,
  ].join('\n');
  return page
    .replace(/<script type="importmap">.*<\/script>\n/, '')
    .replace('<script type="module" src="inspector.js"></script>', () => `<script type="module">\n${module}\n</script>`)
    .replace('<link rel="stylesheet" href="inspector.css">', () => `<style>\n${read(join(inspectorDir, 'inspector.css'))}</style>`);
}

const core = createRequire(import.meta.url)(join(outDir, 'core/web.cjs')).createCore(readFileSync(join(outDir, 'clhooks.wasm')));
const union = (values) => values.map((v) => JSON.stringify(v)).join('\n  | ');
const types = replaceOnce(read(join(here, 'index.d.ts')), '// __GENERATED_TYPES__', read(join(buildDir, 'types.d.ts')), 'index.d.ts')
  .replace('__KNOWN_TOPICS__', `\n  | ${union(core.catalogue().map((t) => t.topic))}`)
  .replace('__ERROR_CODES__', `\n  | ${union(core.errorCodes())}`);
writeFileSync(join(outDir, 'index.d.ts'), types);
writeFileSync(join(outDir, 'index.d.cts'), types);

const version = /^\[workspace\.package\][^[]*?^version\s*=\s*"([^"]+)"/m.exec(read(join(here, '../Cargo.toml')))?.[1];
if (!version) throw new Error('no version in Cargo.toml');
const manifest = JSON.parse(read(join(here, 'package.json')));
manifest.version = version;
writeFileSync(join(outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`pkg: clhooks ${version} in ${outDir}`);
