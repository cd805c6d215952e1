/**
 * Every input the fuzzer (or a fuzzing session) found failing, saved in
 * test/fixtures/fuzz-regressions/ with a .json sidecar (target, base, signature, case), run
 * through the built CLI as a user would: `check` on modules (the oracle series, and the kernel and
 * --rule switches the case picked) and bases, `abi` on bases, `explain` on logs, `stamp` on a copy
 * of a module. Each run exits 0, 1 or 2, prints no stack trace or crash text, prints one stderr
 * line per file in error, and finishes in seconds (several of these took minutes before their
 * fix). Cases that need a scene built around them (planted names, trees) and cases with a contract
 * beyond the CLI's (a consistent verdict, a name printed right) are also replayed in-process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliProblems, runCliCase } from './fuzz/cli.js';
import { loadCorpus } from './fuzz/corpus.js';
import { createContext, FuzzContext, materializeSaved, REGRESSIONS_DIR, runCase, SavedRegression } from './fuzz/harness.js';
import { kernelArgs } from './fuzz/kernels.js';
import { KNOWN_BUGS } from './fuzz/known.js';
import { repoRoot } from './helpers/cli.js';

/** One spawn: startup, a base of a few MB and the input itself, on a busy two-core machine. */
const SPAWN_BUDGET_MS = 10_000;

const saved: SavedRegression[] = fs.existsSync(REGRESSIONS_DIR)
  ? fs.readdirSync(REGRESSIONS_DIR).filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(REGRESSIONS_DIR, f), 'utf8')) as SavedRegression)
  : [];

describe('saved fuzz regressions, through the CLI', () => {
  const corpus = loadCorpus();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-regressions-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** The base file for a corpus key (samples/ for real ones), and a module built against it. */
  const baseFile = (key: string): string => {
    const real = path.join(repoRoot, 'samples', key, 'vmlinux.btf.xz');
    if (fs.existsSync(real)) return real;
    const p = path.join(tmp, `${key}.btf`);
    if (!fs.existsSync(p)) fs.writeFileSync(p, corpus.bases.get(key)?.raw ?? corpus.bases.get('small')!.raw);
    return p;
  };
  const moduleFor = (key: string): string => {
    const m = corpus.modules.find((x) => x.base === key && x.bytes[0] === 0x7f) ?? corpus.modules.find((x) => x.bytes[0] === 0x7f)!;
    const p = path.join(tmp, `${key}-${m.name}`);
    if (!fs.existsSync(p)) fs.writeFileSync(p, m.bytes);
    return p;
  };

  it('there are saved regressions to replay', () => {
    expect(saved.length).toBeGreaterThan(0);
  });

  for (const r of saved) {
    it(`${path.basename(r.file)}: ${r.signature}`, () => {
      const file = path.join(repoRoot, r.file);
      const runs: Array<{ args: string[]; json?: boolean }> = [];
      const k = r.fuzzCase && 'k' in r.fuzzCase ? r.fuzzCase.k : undefined;
      if (r.target === 'module') {
        for (const kernel of ['6.1', '6.12']) runs.push({ args: ['check', '--base', baseFile(r.base), '--kernel', kernel, '--format', 'json', file], json: true });
        if (k) runs.push({ args: ['check', '--base', baseFile(r.base), ...kernelArgs(k), '--format', 'json', file], json: true });
      } else if (r.target === 'stamp' || r.target === 'tree') {
        // On a copy: stamp writes.
        const dir = fs.mkdtempSync(path.join(tmp, 'stamp-'));
        fs.copyFileSync(file, path.join(dir, 'fuzz.ko'));
        runs.push({ args: ['stamp', '--base', baseFile(r.base), '--strip-signature', dir] });
      } else if (r.target === 'archive') {
        // A package or image: its modules checked, and (when it holds a kernel) it as the base.
        runs.push({ args: ['check', '--base', baseFile('small'), '--kernel', '6.12', '--format', 'json', file], json: true });
        runs.push({ args: ['check', '--base', file, '--kernel', '6.12', moduleFor('small')] });
      } else if (r.target === 'base') {
        runs.push({ args: ['check', '--base', file, '--kernel', '6.1', '--format', 'json', moduleFor(r.base)], json: true });
        runs.push({ args: ['abi', '--old', baseFile(r.base), '--new', file, '--kernel', '6.12', '--format', 'json'] });
      } else {
        runs.push({ args: ['explain', file] });
        // With the base and a module file the log names (ctr), so failures get diagnosed.
        const ctr = path.join(repoRoot, 'samples', '6.1.0-47-cloud-amd64', 'lib', 'modules', '6.1.0-47-cloud-amd64', 'kernel', 'crypto', 'ctr.ko');
        runs.push({ args: ['explain', file, '--base', baseFile(r.base), fs.existsSync(ctr) ? ctr : moduleFor(r.base)] });
      }
      for (const { args, json } of runs) {
        const run = runCliCase(args, 60_000);
        // A known, reported bug may show in the CLI's words (stamp's "internal error", a file named
        // twice); its exit status, time and lines must still be right.
        const problems = cliProblems(run, SPAWN_BUDGET_MS).filter((p) => !(KNOWN_BUGS[r.signature] && /^(crash text|the file named twice)/.test(p)));
        expect(problems, `btfcheck ${args.join(' ')}`).toEqual([]);
        if (json && run.stdout.trim()) {
          // Every file in error has exactly one stderr line, naming it.
          const report = JSON.parse(run.stdout) as { modules: Array<{ file: string; status: string; error: string | null }> };
          const errors = report.modules.filter((m) => m.status === 'error');
          const lines = run.stderr.split('\n').filter((l) => l.startsWith('btfcheck: '));
          expect(lines).toEqual(errors.map((m) => `btfcheck: ${m.file}: ${m.error}`));
        }
      }
    }, 120_000);
  }

  let ctx: FuzzContext | undefined;
  afterAll(() => ctx?.scratch.remove());
  // The case again through the in-process targets, with their whole contract (a consistent
  // verdict, names printed right, safe output, the scene a stamp or tree needs). A bug reported
  // and not fixed yet (test/fuzz/known.ts) is expected to fail here, until its fix.
  for (const r of saved) {
    // (A known hang runs too: its timeout is the expected failure.)
    const known = KNOWN_BUGS[r.signature];
    (known ? it.fails : it)(`in-process: ${path.basename(r.file)}: ${r.signature}${known ? ' (known, reported: fails until fixed)' : ''}`, async () => {
      ctx ??= await createContext(corpus);
      const m = materializeSaved(r, corpus);
      if (m) await runCase(m, ctx);
      else if (known) throw new Error('cannot be rebuilt: counts as still failing');
    }, 120_000);
  }
});
