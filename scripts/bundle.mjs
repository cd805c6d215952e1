#!/usr/bin/env node
/**
 * Bundles the command line into dist/bin/ (what the `btfcheck` bin runs). One file per entry plus
 * shared chunks loads faster than ~50 separate ESM modules: a package hook checking one module
 * pays node's module resolution for every file. Dependencies stay external: yargs, pino, piscina
 * and @napi-rs/lzma are loaded lazily, only by the calls that need them.
 */
import fs from 'node:fs';
import { build } from 'esbuild';

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
});
