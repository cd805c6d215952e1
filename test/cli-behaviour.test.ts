/**
 * The command line behaves as its help says (issue 11, "The command line"), through the real CLI.
 * `check` is run through both parse paths: the fast path (no yargs) and yargs (BTFCHECK_PARSER=yargs);
 * they must give the same result. Colour and width are tested under a real pseudo-terminal made by
 * util-linux's `script`, as test/progress.test.ts does.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot, runCli, sample } from './helpers/cli.js';

const base47 = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
const base56 = sample('6.1.0-56-cloud-amd64', 'vmlinux.btf.xz');
const base12 = sample('6.12.115+deb12-cloud-amd64', 'vmlinux.btf.xz');
const mods56 = sample('6.1.0-56-cloud-amd64', 'lib');
const mods47 = sample('6.1.0-47-cloud-amd64', 'lib');
const kernel56 = sample('6.1.0-56-cloud-amd64', 'lib/modules/6.1.0-56-cloud-amd64/kernel');
const lpss56 = path.join(kernel56, 'drivers/tty/serial/8250/8250_lpss.ko');
const ctr56 = path.join(kernel56, 'crypto/ctr.ko');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-behaviour-'));

/** The environment without colour settings of its own (a test must not inherit FORCE_COLOR or NO_COLOR). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  delete env.BTFCHECK_LOG;
  delete env.BTFCHECK_PARSER;
  return { ...env, ...extra };
}

const PATHS = { fast: {}, yargs: { BTFCHECK_PARSER: 'yargs' } } as const;

/** Runs `args` through both parse paths; expects both to agree on status, stdout and stderr. */
function both(args: string[], extra: Record<string, string> = {}) {
  const fast = runCli(args, { env: cleanEnv({ ...PATHS.fast, ...extra }) });
  const slow = runCli(args, { env: cleanEnv({ ...PATHS.yargs, ...extra }) });
  expect({ status: slow.status, stdout: slow.stdout, stderr: slow.stderr }, `yargs path: ${args.join(' ')}`).toEqual({ status: fast.status, stdout: fast.stdout, stderr: fast.stderr });
  return fast;
}

/** Runs the CLI under a pseudo-terminal of `cols` columns; returns what the terminal showed of stdout. */
function inTerminal(args: string[], env: Record<string, string> = {}, cols = 80): string {
  const cmd = `stty cols ${cols} rows 50; exec ` + [process.execPath, cliPath, ...args].map((a) => `'${a}'`).join(' ') + ' 2>/dev/null';
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000, env: cleanEnv(env) });
  expect(r.error).toBeUndefined();
  return r.stdout.replace(/\r\n/g, '\n');
}

const SGR = /\x1b\[[0-9;]*m/g;

describe('--candidates A B C', () => {
  it('takes all three; the module after them stays a module (both parse paths)', () => {
    const r = both(['check', '-b', base47, '-k', '6.1', '--candidates', base47, base56, base12, lpss56, '-f', 'json']);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(doc.modules.map((m: { file: string }) => m.file)).toEqual([lpss56]);
    expect(doc.modules[0].builtAgainst).toMatchObject({ file: base56 });
    expect(r.status).toBe(1);
  });

  it('takes them after the modules too, and `--` ends the list before a module directory', () => {
    const after = both(['check', '-b', base47, '-k', '6.1', '-f', 'json', lpss56, '--candidates', base12, base56]);
    expect(JSON.parse(after.stdout).modules[0].builtAgainst).toMatchObject({ file: base56 });
    const dir = both(['check', '-b', base47, '-k', '6.1', '-f', 'json', '--candidates', base12, base56, '--', mods56]);
    const doc = JSON.parse(dir.stdout);
    expect(doc.modules).toHaveLength(12);
    expect(doc.modules.every((m: { builtAgainst: { file: string } | null }) => m.builtAgainst?.file === base56)).toBe(true);
  });

  it('with no module left: a usage error saying where the modules went', () => {
    const r = both(['check', '-b', base47, '--candidates', base56, base12]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe(`btfcheck: missing modules: --candidates took every argument after it (${base56} ${base12}); put the modules before --candidates, or end its list with --`);
  });

  it('a raw vmlinux BTF where a module is expected is refused as not split BTF: one line, exit 2, the rest still checked', () => {
    const raw = path.join(tmp, 'vmlinux.btf');
    fs.writeFileSync(raw, spawnSync('xz', ['-dc', base56], { maxBuffer: 1 << 26 }).stdout);
    const r = both(['check', '-b', base47, '-k', '6.1', '-f', 'json', base56, raw, lpss56]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      `btfcheck: ${base56}: not split BTF: a base (vmlinux) BTF of 95,247 types and 1,694,074 string bytes, not a module's; give it as --base or --candidates`,
      `btfcheck: ${raw}: not split BTF: a base (vmlinux) BTF of 95,247 types and 1,694,074 string bytes, not a module's; give it as --base or --candidates`,
    ]);
    expect(JSON.parse(r.stdout).modules.map((m: { status: string }) => m.status)).toEqual(['error', 'error', 'rejected']);
    // The base itself given as a module, too.
    expect(both(['check', '-b', base47, '-k', '6.1', base47]).stderr).toMatch(/: not split BTF: a base \(vmlinux\) BTF of 94,976 types/);
  });
});

describe('--max-findings and --jobs', () => {
  const findingLines = (text: string) => text.split('\n').filter((l) => /^ {9}(error|warning|info) [a-z-]+( \[\d+\])?: /.test(l));

  it('--max-findings N lists in text what JSON lists (N per rule, then one "... and N more" line per rule)', () => {
    for (const n of ['0', '1', '2']) {
      const json = JSON.parse(both(['check', '-b', base47, '-k', '6.1', '--max-findings', n, '-f', 'json', ctr56]).stdout);
      const text = both(['check', '-b', base47, '-k', '6.1', '--max-findings', n, ctr56]).stdout;
      const findings = json.modules[0].findings as { rule: string; severity: string; typeId: number | null; message: string }[];
      expect(findingLines(text)).toEqual(findings.map((f) => `         ${f.severity} ${f.rule}${f.typeId !== null ? ` [${f.typeId}]` : ''}: ${f.message}`));
      expect(text).not.toMatch(/more findings/);
    }
  });

  it('without it, text gives the first findings and says how to see more', () => {
    const text = both(['check', '-b', base47, '-k', '6.1', ctr56]).stdout;
    expect(findingLines(text)).toHaveLength(3);
    expect(text).toMatch(/\(\+\d+ more findings; --max-findings N lists up to N per rule\)/);
  });

  it('non-numbers and negatives are usage errors, as are -j 0, -j -3 and -j abc (both paths)', () => {
    const cases: [string[], RegExp][] = [
      [['--max-findings', 'abc'], /^btfcheck: --max-findings abc: not a number \(give a whole number, 0 or more\)$/],
      [['--max-findings', '-1'], /^btfcheck: --max-findings -1: out of range \(give a whole number, 0 or more\)$/],
      [['--max-findings=2.5'], /^btfcheck: --max-findings 2\.5: not a number/],
      [['-j', '0'], /^btfcheck: --jobs 0: out of range \(give a whole number, 1 or more\)$/],
      [['-j', '-3'], /^btfcheck: --jobs -3: out of range \(give a whole number, 1 or more\)$/],
      [['-j', 'abc'], /^btfcheck: --jobs abc: not a number \(give a whole number, 1 or more\)$/],
      [['--jobs=0'], /^btfcheck: --jobs 0: out of range/],
    ];
    for (const [opt, message] of cases) {
      const r = both(['check', '-b', base47, '-k', '6.1', ...opt, lpss56]);
      expect(r.status, opt.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')[0]).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('-j 2 and --max-findings 1 are taken as numbers', () => {
    const r = both(['check', '-b', base47, '-k', '6.1', '-j', '2', '--max-findings', '1', '-f', 'json', mods56]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).summary.modules).toBe(12);
  });
});

describe('misspelled options', () => {
  it('name the unknown option and the close one, for every command, instead of taking the next argument as its value', () => {
    const log = path.join(tmp, 'dmesg.txt');
    fs.writeFileSync(log, 'BPF: [94979] Invalid name_offset:1694074\nfailed to validate module [8250_lpss] BTF: -22\n');
    const cases: [string[], string][] = [
      [['check', '--bsae', base47, lpss56], 'unknown option --bsae (did you mean --base?)'],
      [['check', '-b', base47, '--kernl', '6.1', lpss56], 'unknown option --kernl (did you mean --kernel?)'],
      [['check', '-b', base47, '--candidate', base56, lpss56], 'unknown option --candidate (did you mean --candidates?)'],
      [['check', '-b', base47, '--maxFindings', '2', lpss56], 'unknown option --maxFindings (did you mean --max-findings?)'],
      [['check', '-b', base47, '--no-diagnos', lpss56], 'unknown option --no-diagnos (did you mean --no-diagnose?)'],
      [['check', '-B', base47, lpss56], 'unknown option -B (did you mean -b?)'],
      [['explain', log, '--bsae', base47], 'unknown option --bsae (did you mean --base?)'],
      [['abi', '--odl', base47, '--new', base56], 'unknown option --odl (did you mean --old?)'],
      [['stamp', '--manifset', path.join(tmp, 'm.json'), '-b', base47, lpss56], 'unknown option --manifset (did you mean --manifest?)'],
      [['fingerprint', '--fromat', 'json', base47], 'unknown option --fromat (did you mean --format?)'],
      [['kernels', '--rlue', 'dots-in-names=on', '6.1'], 'unknown option --rlue (did you mean --rule?)'],
      [['demo', '--fromat', 'json'], 'unknown option --fromat (did you mean --format?)'],
      [['--hlep'], 'unknown option --hlep (did you mean --help?)'],
    ];
    for (const [args, message] of cases) {
      const r = args[0] === 'check' ? both(args) : runCli(args, { env: cleanEnv() });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      const command = args[0].startsWith('-') ? '' : ` ${args[0]}`;
      expect(r.stderr, args.join(' ')).toBe(`btfcheck: ${message}\nTry 'btfcheck${command} --help'.\n`);
    }
  });

  it('a value outside the choices names them and the close one', () => {
    const r = both(['check', '-b', base47, '--format', 'jsno', lpss56]);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('btfcheck: --format jsno: not one of text, dmesg, json, junit (did you mean json?)');
  });

  it('negated booleans and --rule lists read the same on both paths', () => {
    const r = both(['check', '-b', base47, '-k', '6.1.0', '--no-diagnose', '--rule', 'dots-in-names=on', 'float-kind=off', '-f', 'json', lpss56]);
    const doc = JSON.parse(r.stdout);
    expect(doc.kernel.overrides).toEqual({ 'dots-in-names': true, 'float-kind': false });
    expect(doc.modules.map((m: { file: string }) => m.file)).toEqual([lpss56]);
    expect(doc.modules[0].findings).toEqual([]);
  });
});

describe('text output on a terminal', () => {
  const args = ['check', '-b', base47, '-k', '6.1', mods56];

  it('is coloured on a terminal, not in a pipe, not with NO_COLOR; FORCE_COLOR forces it', () => {
    const tty = inTerminal(args);
    expect(tty).toContain('\x1b[1;31mREJECTED\x1b[0m');
    expect(tty).toMatch(/\x1b\[32mfix: \x1b\[0m/);
    expect(inTerminal(args, { NO_COLOR: '1' })).not.toMatch(SGR);
    expect(inTerminal(args, { TERM: 'dumb' })).not.toMatch(SGR);
    const pipe = runCli(args, { env: cleanEnv() });
    expect(pipe.stdout, JSON.stringify(pipe)).toMatch(/REJECTED/);
    expect(pipe.stdout).not.toMatch(SGR);
    expect(runCli(args, { env: cleanEnv({ FORCE_COLOR: '1' }) }).stdout).toContain('\x1b[1;31mREJECTED\x1b[0m');
    expect(inTerminal(args, { FORCE_COLOR: '0' })).not.toMatch(SGR);
    // JSON and dmesg are never coloured.
    expect(inTerminal([...args, '-f', 'json'])).not.toMatch(SGR);
  });

  it('fits an 80-column terminal: prose wraps under its label; kernel lines and verdict lines stay whole', () => {
    const lines = inTerminal(args, { NO_COLOR: '1' }, 80).split('\n');
    const kernelLine = (l: string) => /^ {11}(BPF:|failed to validate module)/.test(l);
    const verdict = (l: string) => /^(REJECTED|MISMATCH|ok|ERROR|no-btf) /.test(l);
    const long = lines.filter((l) => l.length > 80 && !kernelLine(l) && !verdict(l));
    expect(long).toEqual([]);
    // An evidence line continues under its text.
    const i = lines.findIndex((l) => l.startsWith('           evidence: type count'));
    expect(lines[i].length).toBeLessThanOrEqual(80);
    expect(lines[i + 1]).toMatch(/^ {21}\S/);
    // A pipe has no width: the same evidence is one line.
    const piped = runCli(args, { env: cleanEnv() }).stdout.split('\n');
    expect(piped.some((l) => l.startsWith('           evidence: type count') && l.length > 80)).toBe(true);
    // A wider terminal wraps less.
    const wide = inTerminal(args, { NO_COLOR: '1' }, 200).split('\n');
    expect(wide.length).toBeLessThan(lines.length);
  });

  it('says "1 module", "1 error", "1 accepted module"', () => {
    const one = both(['check', '-b', base47, '-k', '6.1', lpss56]);
    expect(one.stdout).toMatch(/^summary: 1 module: 0 accepted, 1 rejected, 0 without BTF, 0 errors$/m);
    const broken = path.join(tmp, 'broken.ko');
    fs.writeFileSync(broken, Buffer.alloc(100));
    const err = both(['check', '-b', base47, '-k', '6.1', broken]);
    expect(err.stdout).toMatch(/^summary: 1 module: 0 accepted, 0 rejected, 0 without BTF, 1 error$/m);
    const hidden = both(['check', '-b', base47, '-k', '6.1', '--problems-only', lpss56, sample('6.1.0-47-cloud-amd64', 'lib/modules/6.1.0-47-cloud-amd64/kernel/crypto/ctr.ko')]);
    expect(hidden.stdout).toContain('(1 accepted module not listed)');
    expect(hidden.stdout).toMatch(/^summary: 2 modules: /m);
  });
});

describe('JSON', () => {
  it('every command\'s document names its schema first', () => {
    const log = path.join(tmp, 'dmesg-schema.txt');
    fs.writeFileSync(log, 'BPF: [94979] Invalid name_offset:1694074\nfailed to validate module [8250_lpss] BTF: -22\n');
    const runs: [string[], string][] = [
      [['check', '-b', base47, '-k', '6.1', '-f', 'json', lpss56], 'btfcheck/check/1'],
      [['demo', '-f', 'json'], 'btfcheck/check/1'],
      [['explain', log, '-f', 'json'], 'btfcheck/explain/1'],
      [['abi', '--old', base47, '--new', base56, '--old-modules', mods47, '--new-modules', mods56, '-f', 'json'], 'btfcheck/abi/1'],
      [['fingerprint', '-f', 'json', base47], 'btfcheck/fingerprint/1'],
      [['stamp', '-b', base47, '--manifest', path.join(tmp, 'manifest.json'), '-f', 'json', sample('6.1.0-47-cloud-amd64', 'lib')], 'btfcheck/stamp/1'],
      [['kernels', '-f', 'json'], 'btfcheck/kernels/1'],
      [['kernels', '6.1', '-f', 'json'], 'btfcheck/kernels/1'],
    ];
    for (const [args, schema] of runs) {
      const r = runCli(args, { env: cleanEnv() });
      const doc = JSON.parse(r.stdout);
      expect(Object.keys(doc)[0], args.join(' ')).toBe('schema');
      expect(doc.schema, args.join(' ')).toBe(schema);
    }
  });

  it('fingerprint: {schema, bases, errors}; an unreadable base is in errors too', () => {
    const r = runCli(['fingerprint', '-f', 'json', base47, '/nonexistent/vmlinux'], { env: cleanEnv() });
    expect(r.status).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.bases).toHaveLength(1);
    expect(doc.errors).toEqual([{ file: '/nonexistent/vmlinux', message: 'no such file or directory' }]);
  });

  it('a failure in JSON mode is a JSON document on stdout as well as one line on stderr, same exit status (both paths)', () => {
    const missing = both(['check', '-b', '/nonexistent/vmlinux', '-k', '6.1', '-f', 'json', lpss56]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('btfcheck: /nonexistent/vmlinux: no such file or directory\n');
    expect(JSON.parse(missing.stdout)).toEqual({ schema: 'btfcheck/check/1', error: { file: '/nonexistent/vmlinux', message: 'no such file or directory' } });

    const usage = both(['check', '--bsae', base47, '--format', 'json', lpss56]);
    expect(usage.status).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({ schema: 'btfcheck/check/1', error: { file: null, message: 'unknown option --bsae (did you mean --base?)' } });

    const jobs = both(['check', '-b', base47, '-fjson', '-j', '0', lpss56]);
    expect(JSON.parse(jobs.stdout).error.message).toBe('--jobs 0: out of range (give a whole number, 1 or more)');

    // In text mode stdout stays empty.
    expect(both(['check', '-b', '/nonexistent/vmlinux', '-k', '6.1', lpss56]).stdout).toBe('');
  });

  it('the other commands do the same', () => {
    const cases: [string[], string, string | null][] = [
      [['kernels', 'banana', '-f', 'json'], 'btfcheck/kernels/1', null],
      [['explain', '/nonexistent/dmesg', '-f', 'json'], 'btfcheck/explain/1', null],
      [['stamp', '-b', '/nonexistent/vmlinux', '--manifest', path.join(tmp, 'm2.json'), '-f', 'json', lpss56], 'btfcheck/stamp/1', '/nonexistent/vmlinux'],
      [['abi', '--old', base47, '-f', 'json'], 'btfcheck/abi/1', null],
      [['fingerprint', '--format=json', '--bogus'], 'btfcheck/fingerprint/1', null],
    ];
    for (const [args, schema, file] of cases) {
      const r = runCli(args, { env: cleanEnv() });
      expect(r.status, args.join(' ')).toBe(2);
      const doc = JSON.parse(r.stdout);
      expect(doc.schema).toBe(schema);
      expect(doc.error.file).toBe(file);
      expect(r.stderr.split('\n')[0]).toBe(`btfcheck: ${file ? `${file}: ` : ''}${doc.error.message}`);
    }
  });
});

describe('logs', () => {
  it('BTFCHECK_LOG is honoured on both paths; nothing is logged by default', () => {
    for (const parser of Object.values(PATHS)) {
      const logged = runCli(['check', '-b', base47, '-k', '6.1', '-f', 'json', mods47], { env: cleanEnv({ ...parser, BTFCHECK_LOG: 'info' }) });
      expect(logged.stderr.trim().split('\n').map((l) => JSON.parse(l).msg)).toEqual(['base loaded', 'checking', 'checked']);
      expect(runCli(['check', '-b', base47, '-k', '6.1', mods47], { env: cleanEnv(parser) }).stderr).toBe('');
    }
  });
});
