// Assembles the npm package in pkg/ from wasm-bindgen's output and these templates.
//
// One optimized clhooks.wasm serves every runtime; only the JS glue differs: wasm-bindgen's
// `web` glue (ESM) for Node ESM, Deno, Bun, workerd and browsers, and its `nodejs` glue
// (CommonJS) for require(). Both glues are pointed at the one .wasm. The .d.ts is generated,
// not restated: the types of everything that crosses the boundary come from the Rust types
// (types.d.ts, printed by crates/wasm's clhooks-types with ts-rs), and the topic and
// error-code unions are read from the built core itself, so none of them can drift from it.
//
// Usage: node pkg-templates/build.mjs BUILD_DIR OUT_DIR
//   BUILD_DIR holds web/ and nodejs/ (wasm-bindgen --target web|nodejs), clhooks.wasm and
//   types.d.ts.

import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
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

// Two modules, each with its two glues: the receiver's (clhooks.wasm) and the sender's
// (clhooks-sender.wasm, loaded on first use), from BUILD_DIR/{web,nodejs,sender-web,sender-nodejs}.
for (const [dir, name, prefix] of [['', 'clhooks', ''], ['sender-', 'clhooks-sender', 'sender-'], ['sources-', 'clhooks-sources', 'sources-']]) {
  copyFileSync(join(buildDir, `${name}.wasm`), join(outDir, `${name}.wasm`));
  writeFileSync(
    join(outDir, `core/${prefix}web.js`),
    replaceOnce(read(join(buildDir, `${dir}web/clhooks_wasm.js`)), "new URL('clhooks_wasm_bg.wasm', import.meta.url)",
      `new URL('../${name}.wasm', import.meta.url)`, `the ${name} web glue`),
  );
  // wasm-bindgen's declarations of the bindings, so that `tsc --checkJs` checks the JS layer.
  copyFileSync(join(buildDir, `${dir}web/clhooks_wasm.d.ts`), join(outDir, `core/${prefix}web.d.ts`));
  writeFileSync(
    join(outDir, `core/${prefix}node.cjs`),
    replaceOnce(read(join(buildDir, `${dir}nodejs/clhooks_wasm.js`)), '`${__dirname}/clhooks_wasm_bg.wasm`',
      `\`\${__dirname}/../${name}.wasm\``, `the ${name} nodejs glue`),
  );
}

// The JS layer is written once as ES modules and shipped as one file in each module system.
const parts = ['api.js', 'receivers.js', 'live.js', 'hosts.js', 'outline.js'].map((file) => read(join(here, file)));
const api = parts.join('\n');
if ((api.match(/^export /gm) ?? []).length !== parts.length) {
  throw new Error('each JS layer file exports exactly one `export function`');
}
writeFileSync(join(outDir, 'api.js'), api);
writeFileSync(join(outDir, 'api.cjs'), `'use strict';\n${api.replace(/^export function /gm, 'function ')}\nmodule.exports = { createApi, createHost };\n`);
for (const file of ['node.mjs', 'node.cjs', 'workerd.mjs', 'browser.mjs', 'README.md']) {
  copyFileSync(join(here, file), join(outDir, file));
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
  /** A module's web glue as a scoped object, instantiated from the .wasm inlined as base64. */
  const inlined = (variable, glueFile, wasmFile) => {
    const glue = read(join(outDir, glueFile));
    const names = [...glue.matchAll(/^export (?:function|class) (\w+)/gm)].map((m) => m[1]);
    const wasm = readFileSync(join(outDir, wasmFile)).toString('base64');
    return [
      `const ${variable} = (() => {\n${scoped(glue)}\nreturn { ${names.join(', ')}, initSync };\n})();`,
      `${variable}.initSync({ module: Uint8Array.from(atob(${JSON.stringify(wasm)}), (c) => c.charCodeAt(0)) });`,
    ].join('\n');
  };
  const page = read(join(inspectorDir, 'index.html'));
  const script = read(join(inspectorDir, 'inspector.js'));
  const imports = /^import \{([^}]*)\} from 'clhooks';$/m.exec(script);
  if (!imports) throw new Error('inspector.js imports from clhooks in one statement');
  const module = [
    inlined('core', 'core/web.js', 'clhooks.wasm'),
    inlined('senderCore', 'core/sender-web.js', 'clhooks-sender.wasm'),
    `const { createApi, createHost } = (() => {\n${scoped(api)}\nreturn { createApi, createHost };\n})();`,
    'const clhooks = createApi(core, createHost(globalThis.crypto), () => senderCore, null);',
    `{\nconst {${imports[1]}} = clhooks;\n${script.replace(imports[0], '')}\n}`,
  ].join('\n');
  return page
    .replace(/<script type="importmap">.*<\/script>\n/, '')
    .replace('<script type="module" src="inspector.js"></script>', () => `<script type="module">\n${module}\n</script>`)
    .replace('<link rel="stylesheet" href="inspector.css">', () => `<style>\n${read(join(inspectorDir, 'inspector.css'))}</style>`);
}

const core = createRequire(import.meta.url)(join(outDir, 'core/node.cjs'));
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
