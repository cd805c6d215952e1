#!/usr/bin/env node
/**
 * Bundles the command line into dist/bin/ (what the `btfcheck` bin runs): cli.js and the check
 * worker's check-worker.js, one CommonJS file each, and main.js, the bin, which loads cli.js. A package hook checking one module pays node's
 * module loading for every file it loads: one file costs least. Dependencies stay external: yargs,
 * pino, piscina and @napi-rs/lzma are loaded lazily, only by the calls that need them.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';

/**
 * A fingerprint of every source file and the package version, baked into the bundle: the cache of
 * a base's boot-time parse verdict (cmd/io/verdict-cache.ts) is keyed by it, so a changed checker
 * never reads a verdict an older build stored.
 */
function sourceFingerprint() {
  const hash = createHash('sha256');
  const files = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  for (const dir of ['lib', 'cmd', 'rules']) if (fs.existsSync(dir)) walk(dir);
  for (const f of files.sort()) hash.update(`${f}\0`).update(fs.readFileSync(f)).update('\0');
  hash.update(fs.readFileSync('package.json'));
  return hash.digest('hex').slice(0, 32);
}

/**
 * The bin (main.js) compiles cli.js itself with a V8 code cache (below), and a script compiled that
 * way has no import() of its own on node 20 without an experimental flag; so the bundle's import()
 * calls go through __btfcheckImport, which is main.js's import() when main.js passes one (a
 * parameter of its wrapper) and the bundle's own otherwise (a worker, a plain require()).
 */
const HOST_IMPORT = 'const __btfcheckImport = typeof __btfcheckHostImport === "function" ? __btfcheckHostImport : (specifier) => import(specifier);';

function routeDynamicImports(file) {
  const code = fs.readFileSync(file, 'utf8');
  const calls = code.match(/\bimport\(/g) ?? [];
  // Every import( but the fallback's own is a package or builtin esbuild left external: `await import("x")`.
  const routed = code.replace(/\bawait import\("/g, 'await __btfcheckImport("');
  const left = routed.match(/\bimport\(/g) ?? [];
  if (left.length !== 1) throw new Error(`${file}: ${left.length} import( left after routing ${calls.length}; expected only the fallback's`);
  fs.writeFileSync(file, routed);
}

fs.rmSync('dist/bin', { recursive: true, force: true });
fs.mkdirSync('dist/bin', { recursive: true });
// CommonJS here (the package is "type": "module" elsewhere).
fs.writeFileSync('dist/bin/package.json', `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);

const fingerprint = sourceFingerprint();
// Each entry one CommonJS file: node 20 loads and compiles one CommonJS file faster than the
// ~20 ES modules (resolution, linking, a compile each) a code-split bundle loads for one check,
// and modules the call does not reach stay uninitialized (esbuild wraps them: their top-level
// code, require() of their packages included, runs on first import()). Packages stay external;
// ES-module-only ones (yargs, zstddec) are loaded with import(), which CommonJS keeps.
// import.meta.url is the bundle file's own URL (new URL('./check-worker.js', ...) still resolves).
for (const [entry, out] of [['cmd/main.ts', 'dist/bin/cli.js'], ['cmd/check-worker.ts', 'dist/bin/check-worker.js']]) {
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    define: { __BTFCHECK_BUILD__: JSON.stringify(fingerprint), 'import.meta.url': '__btfcheckSelfUrl' },
    // Strict, as the ES modules it is made of.
    banner: { js: `"use strict";\nconst __btfcheckSelfUrl = require("node:url").pathToFileURL(__filename).href;\n${HOST_IMPORT}` },
  });
  routeDynamicImports(out);
  // esbuild escapes what is not ASCII in code (charset ascii) but keeps some comments as written.
  const nonAscii = /[^\x00-\x7f]/.exec(fs.readFileSync(out, 'latin1'));
  if (nonAscii) throw new Error(`${out}: not ASCII at offset ${nonAscii.index} (a comment in the sources? main.js reads the bundle as latin1)`);
}

// The bin. A hook checking one module pays for compiling the 570 KB bundle in every fresh process
// (~15 ms of a ~90 ms run); a V8 code cache made at build time, on this node, saves most of it. V8
// checks the cache against its own version, flags and the source, and compiles from source when
// it does not fit (another node, a changed bundle). The cache is only read at run time: it is
// written here, by the build, never by a run (a root hook writes nothing beside its own code).
fs.writeFileSync('dist/bin/main.js', `#!/usr/bin/env node
'use strict';
// btfcheck's command line (written by scripts/bundle.mjs): compiles cli.js with the code cache
// the build made (cli.js.cache), or from source when V8 rejects it, and runs it as node would.
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

function loadCli(writeCacheTo) {
  const file = path.join(__dirname, 'cli.js');
  // The shebang is no JavaScript inside a function; blanking it keeps every line number. The
  // bundle is ASCII (checked by the build), read as latin1: a one-byte string, half the memory
  // and faster to compile and check than the two-byte string one non-ASCII character makes.
  const source = fs.readFileSync(file, 'latin1').replace(/^#!.*/, '');
  let cachedData;
  if (!writeCacheTo) {
    try {
      cachedData = fs.readFileSync(file + '.cache');
    } catch {
      // No cache (a build without one): compile from source.
    }
  }
  const wrapper = '(function (exports, require, module, __filename, __dirname, __btfcheckHostImport, __btfcheckFromBin) {' + source + '\\n})';
  const script = new vm.Script(wrapper, { filename: file, cachedData });
  const cli = new Module(file, module);
  cli.filename = file;
  cli.paths = Module._nodeModulePaths(__dirname);
  cli.loaded = true;
  Module._cache[file] = cli;
  if (writeCacheTo) process.once('exit', () => fs.writeFileSync(writeCacheTo, script.createCachedData()));
  // The bin runs on the main thread: cmd/main.ts need not load worker_threads to ask.
  script.runInThisContext().call(cli.exports, cli.exports, Module.createRequire(file), cli, file, __dirname, (specifier) => import(specifier), true);
}

if (require.main === module) loadCli();
else module.exports = { loadCli };
`, { mode: 0o755 });

// The code cache: V8 keeps the bytecode of every function compiled by then, so it is made at the
// end of a typical hook's run, a check of sample modules against a sample base.
const sample = (p) => path.join('samples', p);
const run = spawnSync(process.execPath, [
  '-e', "process.argv.splice(1, 0, 'btfcheck'); require('./dist/bin/main.js').loadCli('dist/bin/cli.js.cache');",
  'check', '--base', sample('6.1.0-47-cloud-amd64/vmlinux.btf.xz'), '--kernel', '6.1',
  sample('6.1.0-56-cloud-amd64/lib/modules/6.1.0-56-cloud-amd64/kernel/drivers/ata/ata_piix.ko'),
  sample('6.1.0-47-cloud-amd64/lib'),
], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, BTFCHECK_CACHE: 'off' } });
if (run.status === null || run.status > 1 || !fs.existsSync('dist/bin/cli.js.cache')) {
  throw new Error(`bundle: making the code cache failed (exit ${run.status ?? run.signal})`);
}
