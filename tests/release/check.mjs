// Checks that everything released together says one version: each crate of the Cargo workspace
// (as cargo reads it, inherited versions resolved), the workspace's [workspace.package] version,
// the packed npm package (the build writes it from Cargo.toml) and the newest release in
// CHANGELOG.md. Prints every version it compared; exits 1, naming who disagrees, otherwise.
//
// Usage: node tests/release/check.mjs PACKED.tgz   (the tarball `npm pack` made of pkg/)

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = realpathSync(resolve(dirname(fileURLToPath(import.meta.url)), '../..'));
const [tarball] = process.argv.slice(2);
if (!tarball) throw new Error('usage: node tests/release/check.mjs PACKED.tgz');

const versions = []; // [where, version]
const problems = [];

// The value of `key = "..."` in one [table] of a TOML file: enough for Cargo.toml's headers.
function tomlString(text, table, key) {
  let current = '';
  for (const line of text.split('\n')) {
    const header = /^\s*\[([^\]]+)\]\s*(#.*)?$/.exec(line);
    if (header) current = header[1].trim();
    const entry = new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`).exec(line);
    if (current === table && entry) return entry[1];
  }
  return undefined;
}

const rootManifest = readFileSync(join(root, 'Cargo.toml'), 'utf8');
const workspaceVersion = tomlString(rootManifest, 'workspace.package', 'version');
if (workspaceVersion) versions.push(['Cargo.toml [workspace.package]', workspaceVersion]);
else problems.push('Cargo.toml has no [workspace.package] version (the npm build reads it there)');

// Every crate, as `cargo package --workspace` would see it.
const metadata = JSON.parse(execFileSync('cargo', ['metadata', '--no-deps', '--format-version', '1', '--offline'], {
  cwd: root, encoding: 'utf8', maxBuffer: 64 << 20,
}));
const members = new Map(metadata.packages.map((p) => [realpathSync(p.manifest_path), p]));
const manifests = [join(root, 'Cargo.toml'), ...readdirSync(join(root, 'crates'))
  .map((dir) => join(root, 'crates', dir, 'Cargo.toml')).filter((path) => existsSync(path))];
for (const manifest of manifests) {
  const crate = members.get(manifest);
  if (crate) versions.push([`${crate.name} (${relative(root, manifest)})`, crate.version]);
  else problems.push(`${relative(root, manifest)} is not a member of the workspace: it would not be released with it`);
}

// The package as it is published: package.json inside the tarball.
const packed = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
versions.push([`npm ${packed.name} (${basename(tarball)})`, packed.version]);

// CHANGELOG.md: the first `## [VERSION]` heading that is not [Unreleased].
const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');
const newest = [...changelog.matchAll(/^## \[([^\]]+)\](.*)$/gm)].find((m) => m[1].toLowerCase() !== 'unreleased');
if (newest) versions.push([`CHANGELOG.md newest entry (${newest[0].slice(3).trim()})`, newest[1]]);
else problems.push('CHANGELOG.md has no `## [VERSION]` heading');

const width = Math.max(...versions.map(([where]) => where.length));
for (const [where, version] of versions) console.log(`  ${where.padEnd(width)}  ${version}`);

const distinct = [...new Set(versions.map(([, version]) => version))];
if (distinct.length > 1) {
  const byVersion = distinct.map((v) => `${v}: ${versions.filter(([, version]) => version === v).map(([where]) => where).join(', ')}`);
  problems.push(`the versions disagree:\n    ${byVersion.join('\n    ')}`);
}
if (problems.length) {
  for (const problem of problems) console.error(`release check: ${problem}`);
  process.exit(1);
}
console.log(`release check: ${versions.length} versions agree on ${distinct[0]}`);
