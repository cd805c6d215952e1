/**
 * A fuzz case through the built CLI, as a user would run it (scripts/fuzz.ts runs every K-th case
 * this way): `check` on a module (any kernel, --rule switches, every output format) or a base,
 * `explain` on a log, `stamp` on a copy with a symlink planted as a stale temporary (and now and
 * then --manifest naming the module itself), `check` on a hostile tree. The problems: exit status
 * other than 0/1/2, a stderr line that is not `btfcheck: ...`, output that is not UTF-8 or holds
 * raw control characters (text, dmesg, explain, stderr), JSON that does not give the file name
 * back, JUnit that is not well-formed, a write outside the module, a temporary left behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { OUTPUT_FORMATS } from '../../cmd/output.js';
import { MODULE_FILE } from '../../cmd/io/index.js';
import { decodeFileName } from '../../lib/fsname.js';
import { FuzzCase, materialize } from './cases.js';
import { CliCase, cliProblems, decodeOutput, runCliCase } from './cli.js';
import { buildTree } from './fs-targets.js';
import type { FuzzContext } from './harness.js';
import { kernelArgs } from './kernels.js';
import { checkTerminal, FuzzBug, xmlProblem } from './targets.js';

const JSON_UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

/** Problems with the output of one run in `format` (text, dmesg, json, junit, or explain's text). */
export function outputProblems(run: CliCase, format: string, hostile: string[] = []): string[] {
  const problems: string[] = [];
  const stdout = decodeOutput(run.stdout);
  const stderr = decodeOutput(run.stderr);
  if (stdout === null) problems.push('stdout is not UTF-8');
  if (stderr === null) problems.push('stderr is not UTF-8');
  const safe = (text: string, where: string, unsafe?: RegExp): void => {
    try {
      checkTerminal(text, where, hostile, unsafe);
    } catch (e) {
      problems.push(e instanceof FuzzBug ? e.message.slice(0, 300) : String(e));
    }
  };
  if (stderr !== null) safe(stderr, 'stderr');
  if (stdout === null) return problems;
  if (format === 'json') {
    if (stdout.trim()) {
      try { JSON.parse(stdout); } catch { problems.push('stdout is not JSON'); }
    }
    safe(stdout, 'json', JSON_UNSAFE);
  } else if (format === 'junit') {
    const p = stdout.trim() ? xmlProblem(stdout) : null;
    if (p) problems.push(`junit: ${p}`);
  } else {
    safe(stdout, format);
  }
  return problems;
}

type Report = { modules: Array<{ file: string; status: string; error: string | null }> };
/** What a JSON run prints: a report, or (a run that failed without one) `{schema, error}`. */
type JsonOut = Partial<Report> & { error?: { file: string | null; message: string } };

/** Every stderr `btfcheck: FILE: ...` line names a module in error (checked by its escaped name elsewhere): counts match. */
function errorLineProblems(run: CliCase, report: JsonOut | null, extraErrors = 0): string[] {
  if (!report?.modules) return [];
  const errors = report.modules.filter((m) => m.status === 'error').length + extraErrors;
  const lines = run.stderr.split('\n').filter((l) => l.startsWith('btfcheck: ')).length;
  return lines === errors ? [] : [`${lines} stderr lines for ${errors} modules in error`];
}

function parseReport(run: CliCase): JsonOut | null {
  const text = decodeOutput(run.stdout);
  if (!text?.trim()) return null;
  try { return JSON.parse(text) as JsonOut; } catch { return null; }
}

let fresh = 0;

/**
 * Damage to a command line (cmd/argv.ts reads it): an unknown or misspelt option, an option
 * without its value or with a bad one, a value glued with '=', '--', an empty or huge argument,
 * control characters in an option's name. Picked by `n`; the run must still end in exit 0/1/2
 * with `btfcheck:` lines (a usage error names the option, escaped).
 */
export function argvNoise(args: string[], n: number): string[] {
  const at = 1 + (n % Math.max(1, args.length - 1));
  const noise: Array<(a: string[]) => string[]> = [
    (a) => [...a.slice(0, at), '--bsae', ...a.slice(at)],
    (a) => [...a, '--kernel'],
    (a) => [...a.slice(0, at), '--format', 'yaml', ...a.slice(at)],
    (a) => [...a.slice(0, at), '-j', '0', ...a.slice(at)],
    (a) => [...a.slice(0, at), '-j', '-3', ...a.slice(at)],
    (a) => [...a.slice(0, at), '--max-findings', '1.5', ...a.slice(at)],
    (a) => [...a.slice(0, at), '--rule', 'no-such-rule=on', ...a.slice(at)],
    (a) => [...a.slice(0, at), '--rule', 'dots-in-names=maybe', ...a.slice(at)],
    (a) => [...a.slice(0, at), '--kernel=7.2', ...a.slice(at)],
    (a) => [...a.slice(0, at), '--kernel', 'not-a-version', ...a.slice(at)],
    (a) => [...a.slice(0, -1), '--', a[a.length - 1]],
    (a) => [...a.slice(0, at), '', ...a.slice(at)],
    (a) => [...a.slice(0, at), '--' + 'x'.repeat(100_000), ...a.slice(at)],
    (a) => [...a.slice(0, at), '--\x1b]0;pwn\x07\nbtfcheck: forged', ...a.slice(at)],
    (a) => [...a.slice(0, at), '-\u009b2J', ...a.slice(at)],
    (a) => [...a, '--base'],
    (a) => [...a.slice(0, at), '--no-allow-btf-mismatch', '--allow-btf-mismatch', ...a.slice(at)],
    (a) => [...a.slice(0, at), '--format', 'json', '--format', 'text', ...a.slice(at)],
  ];
  return noise[Math.floor(n / 7) % noise.length](args);
}

/** Runs case `c` through the CLI in `dir`; `n` picks the output format and variants. */
export function cliRunCase(c: FuzzCase, ctx: FuzzContext, dir: string, n: number): { command: string; run: CliCase; problems: string[] } {
  const m = materialize(c, ctx.corpus);
  const baseFile = (key: string): string => ctx.bases.get(key)?.file ?? ctx.bases.get('small')!.file;
  const format = OUTPUT_FORMATS[Math.floor(n) % OUTPUT_FORMATS.length];
  const work = fs.mkdtempSync(path.join(dir, `run${fresh++}-`));
  // The bounds on every run on hostile input: 5 s (of CPU: the machine is shared) and 512 MiB.
  const done = (command: string, run: CliCase, problems: string[]) => ({ command, run, problems: [...cliProblems(run, 30_000, { cpuMs: 5000, rssKb: 512 * 1024 }), ...problems] });
  try {
    switch (m.target) {
      case 'module': {
        // A hostile name cannot be given as an argument (arguments are UTF-8 strings): the CLI
        // finds it in the directory, as a tree walk would, so it gets a module's name.
        let name = m.nameBytes ? Buffer.from(m.nameBytes) : Buffer.from(m.fileName);
        if (m.nameBytes && !MODULE_FILE.test(m.fileName)) name = Buffer.concat([name, Buffer.from('.ko')]);
        fs.writeFileSync(Buffer.concat([Buffer.from(work + '/'), name]), m.bytes);
        const file = path.join(work, decodeFileName(name));
        let args = ['check', '--base', baseFile(m.base), ...(m.kernel ? kernelArgs(m.kernel) : ['--kernel', '6.12']), '--format', format, m.nameBytes ? work : file];
        if (Math.floor(n) % 7 === 6) {
          // A damaged command line instead: the contract is the exit status and the lines.
          args = argvNoise(args, Math.floor(n));
          const run = runCliCase(args);
          // The last --format given is the one that counts.
          const f = args.lastIndexOf('--format');
          const problems = outputProblems(run, f >= 0 && args[f + 1] === 'json' ? 'json' : 'text');
          if (run.status !== 0 && run.status !== 1 && run.status !== 2) problems.push(`argv ${JSON.stringify(args.slice(0, 12)).slice(0, 300)}`);
          return done(`check (argv: ${JSON.stringify(args.filter((x) => !x.startsWith('/')).slice(1)).slice(0, 120)})`, run, problems);
        }
        const run = runCliCase(args);
        const problems = outputProblems(run, format, [file]);
        if (format === 'json') {
          const report = parseReport(run);
          if (report?.modules && (report.modules.length !== 1 || report.modules[0].file !== file)) problems.push(`json names ${JSON.stringify(report.modules.map((x) => x.file))}, not ${JSON.stringify(file)}`);
          if (report && !report.modules && !report.error) problems.push('json holds neither a report nor an error');
          problems.push(...errorLineProblems(run, report));
        }
        return done(`check ${format}`, run, problems);
      }
      case 'base': {
        const f = path.join(work, 'base.bin');
        fs.writeFileSync(f, m.bytes);
        const mod = ctx.corpus.modules.find((x) => x.base === m.base) ?? ctx.corpus.modules[0];
        const mf = path.join(work, mod.name);
        fs.writeFileSync(mf, mod.bytes);
        if (Math.floor(n) % 3 === 2 && !m.budgetMs) {
          // abi: the mutated base as the new side, against the base it came from.
          const abiFormat = (['text', 'json', 'junit'] as const)[Math.floor(n / 3) % 3];
          const run = runCliCase(['abi', '--old', baseFile(m.base), '--new', f, ...(m.kernel ? kernelArgs(m.kernel) : ['--kernel', '6.12']), '--format', abiFormat], 60_000);
          return done(`abi ${abiFormat}`, run, outputProblems(run, abiFormat));
        }
        const run = runCliCase(['check', '--base', f, ...(m.kernel ? kernelArgs(m.kernel) : ['--kernel', '6.1']), '--format', format, mf]);
        return done(`check --base ${format}`, run, outputProblems(run, format));
      }
      case 'explain': {
        const f = path.join(work, 'fuzz.log');
        fs.writeFileSync(f, m.text);
        const json = Math.floor(n) % 2 === 1;
        const k = m.kernel;
        const run = runCliCase(['explain', f, ...(json ? ['--format', 'json'] : []), ...(m.maxLine ? ['--max-line-length', String(m.maxLine)] : []),
          ...(k ? ['--kernel', k.version, ...k.rules.flatMap(([id, on]) => ['--rule', `${id}=${on ? 'on' : 'off'}`]), k.allow ? '--allow-btf-mismatch' : '--no-allow-btf-mismatch'] : [])]);
        return done('explain', run, outputProblems(run, json ? 'json' : 'explain'));
      }
      case 'stamp': {
        const name = Buffer.from(m.nameBytes);
        const target = Buffer.concat([Buffer.from(work + '/'), name]);
        fs.writeFileSync(target, m.bytes);
        const victim = path.join(dir, `victim-${fresh}`);
        fs.writeFileSync(victim, 'victim\n');
        // A symlink of stamp's naming, as a dead process would leave it, pointing at the victim.
        fs.symlinkSync(victim, Buffer.concat([Buffer.from(work + '/.'), name, Buffer.from('.btfcheck-2147483646-aaaaaaaaaaaa.tmp')]));
        if (m.c.plants.includes('hardlink')) fs.linkSync(target, path.join(work, 'other-link.ko'));
        const manifest = Math.floor(n) % 5 === 0 ? path.join(work, decodeFileName(name)) : undefined;
        const before = fs.readFileSync(target);
        const args = ['stamp', '--base', baseFile(m.base), ...(m.c.strip ? ['--strip-signature'] : []), ...(m.c.force ? ['--force'] : []),
          ...(m.c.breakHardLinks ? ['--break-hardlinks'] : []), ...(manifest ? ['--manifest', manifest] : []), work];
        const run = runCliCase(args);
        const problems = outputProblems(run, 'text', [path.join(work, decodeFileName(name))]);
        if (fs.readFileSync(victim, 'utf8') !== 'victim\n') problems.push('wrote through a planted symlink');
        for (const e of fs.readdirSync(work, { encoding: 'buffer' })) {
          if (/\.btfcheck-\d+-[0-9a-f]{12}\.tmp$/.test(e.toString('latin1')) && !e.toString('latin1').includes('-2147483646-')) problems.push(`left a temporary: ${JSON.stringify(e.toString('latin1'))}`);
        }
        // --manifest naming the module (if it can be named: a UTF-8 name) is refused, the module untouched.
        if (manifest && !/[\udc80-\udcff]/.test(manifest)) {
          if (run.status !== 2) problems.push(`--manifest over the module: exit ${run.status}`);
          if (!before.equals(fs.readFileSync(target))) problems.push('--manifest over the module: the module changed');
        }
        return done(`stamp${manifest ? ' --manifest' : ''}`, run, problems);
      }
      case 'archive': {
        const f = path.join(work, m.fileName);
        fs.writeFileSync(f, m.bytes);
        const fmt = OUTPUT_FORMATS[Math.floor(n) % OUTPUT_FORMATS.length];
        // The package as the modules to check, or (holding an image) as the base.
        const asBase = m.image && m.kind !== 'initramfs' && Math.floor(n) % 2 === 1;
        const mod = ctx.corpus.modules.find((x) => x.base === 'small' && x.bytes[0] === 0x7f)!;
        const mf = path.join(work, 'small.ko');
        fs.writeFileSync(mf, mod.bytes);
        const run = runCliCase(['check', '--base', asBase ? f : ctx.bases.get('small')!.file, ...kernelArgs(m.kernel), '--format', fmt, asBase ? mf : f], 60_000);
        const problems = outputProblems(run, fmt);
        if (fmt === 'json') {
          const report = parseReport(run);
          if (!asBase && !m.mutated && m.members.length && report?.modules && report.modules.filter((x) => x.status !== 'error').length !== m.members.length) problems.push(`${report.modules.length} results for ${m.members.length} modules in the package`);
          problems.push(...errorLineProblems(run, report));
        }
        return done(`check ${asBase ? '--base ' : ''}${m.kind} ${fmt}`, run, problems);
      }
      case 'tree': {
        const tree = buildTree(m, work);
        try {
          const fmt = Math.floor(n) % 2 ? 'json' : 'text';
          const run = runCliCase(['check', '--base', ctx.bases.get('small')!.file, ...kernelArgs(m.kernel), '--format', fmt, tree.root], 60_000);
          const problems = outputProblems(run, fmt, [...tree.follow]);
          if (tree.tooLong.length && run.status !== 2) problems.push(`a path past PATH_MAX, exit ${run.status}`);
          if (fmt === 'json') {
            const report = parseReport(run);
            const files = new Set(report?.modules?.map((x) => x.file) ?? []);
            for (const f of tree.follow) if (!files.has(f)) problems.push(`module not in the report: ${JSON.stringify(f)}`);
          }
          return done(`check tree ${fmt}`, run, problems);
        } finally {
          tree.remove();
        }
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
