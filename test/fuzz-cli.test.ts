/**
 * Fuzzing end to end: the built CLI spawned on hostile files (fixed seed). A directory of 130
 * mutated modules checked in one call (worker threads, then inline): every file gets a result, the
 * next file is still checked, and each file in error gets exactly one stderr line. Single hostile
 * cases of every kind (modules on picked kernels in every format, bases, logs, stamps, trees):
 * exit 0/1/2, no stack trace, safe output. Decompression bombs (xz, zstd, gzip), as modules and as
 * bases: refused early with a message naming the limit, in bounded RSS (GNU time).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { caseArb, materialize } from './fuzz/cases.js';
import { cliRunCase } from './fuzz/cli-cases.js';
import { cliProblems, HAS_GNU_TIME, runCliCase } from './fuzz/cli.js';
import { loadCorpus } from './fuzz/corpus.js';
import { createContext } from './fuzz/harness.js';
import { repoRoot } from './helpers/cli.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const ABI = '6.1.0-47-cloud-amd64';
const BASE = path.join(repoRoot, 'samples', ABI, 'vmlinux.btf.xz');
const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'inputs');
/** Peak RSS allowed to a run on a bomb: node itself takes ~50 MiB, a real base ~30 MiB more. */
const BOMB_RSS_KB = 256 * 1024;

const corpus = loadCorpus();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-fuzz-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Report = { modules: Array<{ file: string; status: string; error: string | null }>; summary: { modules: number } };

/** Every module in the report; each one in error has exactly one stderr line, naming it. */
function expectOneLinePerError(stdout: string, stderr: string, files: string[]): void {
  const report = JSON.parse(stdout) as Report;
  expect(report.modules.map((m) => m.file).sort()).toEqual([...files].sort());
  const errors = report.modules.filter((m) => m.status === 'error');
  const lines = stderr.split('\n').filter((l) => l.startsWith('btfcheck: '));
  expect(lines.sort()).toEqual(errors.map((m) => `btfcheck: ${m.file}: ${m.error}`).sort());
  for (const m of errors) expect(m.error).not.toMatch(/\n/);
}

describe(`CLI on hostile files (seed ${SEED})`, () => {
  it('a directory of 130 hostile modules: every file checked, one stderr line per file in error', () => {
    const dir = path.join(tmp, 'many');
    fs.mkdirSync(dir);
    const files: string[] = [];
    const cases = fc.sample(caseArb(corpus, 'module'), { seed: SEED, numRuns: 100 }).concat(fc.sample(caseArb(corpus, 'btf'), { seed: SEED, numRuns: 30 }));
    cases.forEach((c, i) => {
      const m = materialize(c, corpus);
      if (m.target !== 'module' && m.target !== 'base') return;
      // Names the directory walk takes (*.ko, *.ko.xz, ...); the loader goes by content anyway.
      // Hostile names have their own tests (cli-cases.ts): here the names are plain.
      const plain = m.target === 'module' && !m.nameBytes ? m.fileName : 'fuzz';
      const f = path.join(dir, `${String(i).padStart(3, '0')}-${path.basename(plain).replace(/(\.ko)?(\.(xz|gz|zst))?$/, '')}.ko${['.xz', '.gz', '.zst'][i % 4] ?? ''}`);
      fs.writeFileSync(f, m.bytes);
      files.push(f);
    });
    expect(files.length).toBeGreaterThan(64);
    for (const jobs of ['2', '1']) {
      const run = runCliCase(['check', '--base', BASE, '--kernel', '6.1', '--format', 'json', '-j', jobs, dir], 120_000);
      expect(cliProblems(run), `-j ${jobs}`).toEqual([]);
      expect(run.status).toBe(2);
      expectOneLinePerError(run.stdout, run.stderr, files);
    }
  }, 180_000);

  it('single hostile cases of every kind through the CLI: exit 0/1/2, one line per error, safe output (test/fuzz/cli-cases.ts)', async () => {
    const ctx = await createContext(corpus);
    try {
      const cases = fc.sample(caseArb(corpus), { seed: SEED + 1, numRuns: 14 });
      const dir = fs.mkdtempSync(path.join(tmp, 'single-'));
      cases.forEach((c, i) => {
        const { command, problems } = cliRunCase(c, ctx, dir, i);
        expect(problems, `case ${i}: ${command}\n${JSON.stringify(c).slice(0, 500)}`).toEqual([]);
      });
    } finally {
      ctx.scratch.remove();
    }
  }, 180_000);
});

/** zstd frame without a content size: `blocks` RLE blocks of 128 KiB each (4 bytes apiece). */
function zstdRleBomb(blocks: number): Uint8Array {
  const out = new Uint8Array(6 + blocks * 4);
  out.set([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]); // no content size, window 128 MiB descriptor
  for (let i = 0; i < blocks; i++) {
    const h = ((128 << 10) << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0); // RLE block
    out.set([h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff, 0], 6 + i * 4);
  }
  return out;
}

describe('decompression bombs are refused early, in bounded memory', () => {
  // Deflate tops out near 1032:1, just over the 1000:1 ratio limit: 64 MiB of zeros in ~65 KB.
  const zeros = gzipSync(Buffer.alloc(64 << 20), { level: 9 });
  const declared = Buffer.from(zeros);
  declared.writeUInt32LE(3 * 2 ** 30, declared.length - 4); // ISIZE declares 3 GiB
  const lying = Buffer.from(zeros);
  lying.writeUInt32LE(4096, lying.length - 4); // ISIZE claims 4 KiB: only the stream tells
  const bombs: Array<[string, Uint8Array]> = [
    ['xz: 64 MiB of zeros in 10 KB', new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'zeros-64MiB.xz')))],
    ['zstd: RLE blocks claiming 4 GiB in 128 KB', zstdRleBomb(32768)],
    ['zstd: RLE blocks claiming 900 MiB (under the size limit, over the ratio)', zstdRleBomb(7200)],
    ['gzip: ISIZE declaring 3 GiB', new Uint8Array(declared)],
    ['gzip: 64 MiB of zeros behind a lying ISIZE (stopped by the ratio while streaming)', new Uint8Array(lying)],
  ];
  for (const [what, bytes] of bombs) {
    it(what, () => {
      const f = path.join(tmp, `bomb-${what.split(':')[0]}-${bytes.length}.ko`);
      fs.writeFileSync(f, bytes);
      for (const args of [['check', '--base', BASE, '--kernel', '6.1', f], ['check', '--base', f, '--kernel', '6.1', path.join(FIXTURES, 'ctr.ko.zst')]]) {
        const run = runCliCase(args);
        expect(cliProblems(run, 5000), args.join(' ')).toEqual([]);
        expect(run.status).toBe(2);
        const lines = run.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`^btfcheck: ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*limit`));
        if (HAS_GNU_TIME) expect(run.rssKb!, `peak RSS of ${args.join(' ')}`).toBeLessThan(BOMB_RSS_KB);
      }
    }, 60_000);
  }
});
