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
    banner: { js: '"use strict";\nconst __btfcheckSelfUrl = require("node:url").pathToFileURL(__filename).href;' },
  });
}

// The bin: turns on node's compile cache (node >= 22.1) before the bundle is compiled, so that the
// bundle itself is cached between runs (cmd/main.ts turning it on comes after its own compile).
fs.writeFileSync('dist/bin/main.js', `#!/usr/bin/env node
'use strict';
// btfcheck's command line (scripts/bundle.mjs): node >= 22.1 keeps the compiled bundle between runs.
require('node:module').enableCompileCache?.();
require('./cli.js');
`, { mode: 0o755 });
