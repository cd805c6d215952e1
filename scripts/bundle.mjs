#!/usr/bin/env node
/**
 * Bundles the command line into dist/bin/ (what the `btfcheck` bin runs). One file per entry plus
 * shared chunks loads faster than ~50 separate ESM modules: a package hook checking one module
 * pays node's module resolution for every file. Dependencies stay external: yargs, pino, piscina
 * and @napi-rs/lzma are loaded lazily, only by the calls that need them.
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

// Chunk names carry content hashes: clear old ones so dist/bin holds one build.
fs.rmSync('dist/bin', { recursive: true, force: true });

await build({
  entryPoints: ['cmd/main.ts', 'cmd/check-worker.ts'],
  outdir: 'dist/bin',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
  define: { __BTFCHECK_BUILD__: JSON.stringify(sourceFingerprint()) },
});
