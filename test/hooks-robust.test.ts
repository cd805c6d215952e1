/**
 * Issue 12 item 3: the hooks when btfcheck itself misbehaves. A fake btfcheck (BTFCHECK=) prints
 * nothing, partial JSON, non-JSON, crashes, hangs, or prints hostile names; every hook must then
 * say in one line that it could not check and exit 0, within its timeout (BTFCHECK_TIMEOUT), and
 * print nothing from btfcheck's output unescaped. A TERM or INT to a hook leaves no scratch
 * directory and no btfcheck running.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';

const HOOKS = path.join(repoRoot, 'samples', 'hooks');
const R = '7.2.13+deb14-cloud-amd64';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-hooks-robust-'));

// The fake: FAKE_MODE says what it does; its pid (and its sleep's) go to FAKE_PIDS.
const fake = path.join(tmp, 'fake-btfcheck');
fs.writeFileSync(fake, `#!/bin/sh
[ -n "$FAKE_PIDS" ] && echo $$ >>"$FAKE_PIDS"
case $FAKE_MODE in
nothing) exit 0 ;;
nothing-fail) exit 1 ;;
partial) printf '{"modules": [{"file": "/x/a.ko", "module": "a", "stat'; exit 1 ;;
nonjson) printf 'hello \\033]0;pwned\\007 world\\n'; exit 0 ;;
stderr-only) printf 'btfcheck: /x/\\033[31mred.ko: not a kernel module\\n' >&2; exit 2 ;;
segv) printf '{"modules": ['; kill -SEGV $$ ;;
stack) exec "${process.execPath}" -e 'throw new TypeError("boom \\x1b[2J")' ;;
hostile) cat "$FAKE_JSON"; exit 1 ;;
hang) sleep 1000 & echo $! >>"$FAKE_PIDS"; wait ;;
stubborn) trap '' TERM; sleep 1000 & echo $! >>"$FAKE_PIDS"; wait; sleep 1000 ;;
*) echo "fake: unknown FAKE_MODE $FAKE_MODE" >&2; exit 3 ;;
esac
`);
fs.chmodSync(fake, 0o755);

/** An installed system: a 7.x tree with one (fake) module, image and config; a DKMS build dir; a .deb. */
const root = path.join(tmp, 'root');
const tree = path.join(root, 'usr', 'lib', 'modules', R);
fs.mkdirSync(path.join(tree, 'updates'), { recursive: true });
fs.writeFileSync(path.join(tree, 'updates', 'foo.ko'), 'not really a module');
fs.writeFileSync(path.join(tree, 'vmlinuz'), 'not really an image');
fs.writeFileSync(path.join(tree, 'config'), '# CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set\n');
const buildDir = path.join(tmp, 'dkms', 'foo', '1.0', 'build');
fs.mkdirSync(buildDir, { recursive: true });
fs.writeFileSync(path.join(buildDir, 'foo.ko'), 'not really a module');
const debDir = path.join(tmp, 'deb');
fs.mkdirSync(path.join(debDir, 'DEBIAN'), { recursive: true });
fs.writeFileSync(path.join(debDir, 'DEBIAN', 'control'), 'Package: linux-modules-test\nVersion: 1\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n');
fs.mkdirSync(path.join(debDir, 'usr', 'lib', 'modules', R, 'kernel'), { recursive: true });
fs.writeFileSync(path.join(debDir, 'usr', 'lib', 'modules', R, 'kernel', 'bar.ko'), 'not really a module');
fs.writeFileSync(path.join(debDir, 'usr', 'lib', 'modules', R, 'vmlinuz'), 'not really an image');
const deb = path.join(tmp, 'linux-modules-test_1_all.deb');
const built = spawnSync('dpkg-deb', ['--root-owner-group', '-Znone', '--build', debDir, deb], { encoding: 'utf8' });
if (built.status !== 0) throw new Error(built.stderr);

interface Hook { script: string; args: string[]; cwd?: string; input?: string; label: string }
const HOOK_RUNS: Hook[] = [
  { script: 'zy-btfcheck', args: [R], label: R },
  { script: '50-btfcheck.install', args: ['add', R, '/boot/efi/entry', path.join(tree, 'vmlinuz')], label: R },
  { script: 'btfcheck-apt-preinstall', args: [], input: `${deb}\n`, label: R },
  { script: 'btfcheck-dkms-post-build', args: [R], cwd: buildDir, label: `dkms foo/1.0 ${R}` },
];

let n = 0;
function scratchDir(): string {
  const d = path.join(tmp, 'TMPDIR', String(n++));
  fs.mkdirSync(d, { recursive: true });
  return d;
}

function run(h: Hook, env: Record<string, string>): { status: number | null; lines: string[]; stderr: string; ms: number; scratch: string } {
  const scratch = scratchDir();
  const t0 = Date.now();
  const r = spawnSync(path.join(HOOKS, h.script), h.args, {
    encoding: 'utf8', cwd: h.cwd ?? tmp, input: h.input, timeout: 60_000,
    env: { ...process.env, BTFCHECK: fake, BTFCHECK_ROOT: root, BTFCHECK_FAIL_ON: '', BTFCHECK_VERBOSE: '', BTFCHECK_TIMEOUT: '', module: '', TMPDIR: scratch, FAKE_PIDS: path.join(scratch, '..', `pids-${n}`), ...env },
  });
  return { status: r.status, stderr: r.stderr, lines: r.stderr.split('\n').filter(Boolean), ms: Date.now() - t0, scratch };
}

/** No control character but TAB and the line ends; no C1. */
const CLEAN = /^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$/;

describe.each(HOOK_RUNS)('$script with a broken btfcheck', (h) => {
  const cases: [string, RegExp][] = [
    ['nothing', /^cannot check: btfcheck exited with status 0 and no report$/],
    ['nothing-fail', /^cannot check: btfcheck exited with status 1 and no report$/],
    ['partial', /^cannot check: btfcheck gave no readable report \(.*JSON.*\)$/],
    ['nonjson', /^cannot check: btfcheck gave no readable report \(.*\\x1b\]0;pwned\\x07.*\)$|^cannot check: btfcheck gave no readable report \(Unexpected token.*\)$/],
    ['stderr-only', /^cannot check: \/x\/\\x1b\[31mred\.ko: not a kernel module$/],
    ['segv', /^cannot check: btfcheck was killed by signal 11$/],
    ['stack', /^cannot check: TypeError: boom \\x1b\[2J$/],
  ];
  it.each(cases)('%s: one "cannot check" line, exit 0, no scratch left', (mode, want) => {
    const r = run(h, { FAKE_MODE: mode });
    expect(r.status).toBe(0);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0].startsWith(`btfcheck: ${h.label}: `), r.lines[0]).toBe(true);
    expect(r.lines[0].slice(`btfcheck: ${h.label}: `.length)).toMatch(want);
    expect(r.stderr).toMatch(CLEAN);
    expect(fs.readdirSync(r.scratch)).toEqual([]);
  });

  it('hang: stopped after BTFCHECK_TIMEOUT seconds, "did not finish", exit 0, nothing left running', () => {
    const r = run(h, { FAKE_MODE: 'hang', BTFCHECK_TIMEOUT: '2' });
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([`btfcheck: ${h.label}: cannot check: btfcheck did not finish within 2 s (BTFCHECK_TIMEOUT)`]);
    expect(r.ms).toBeLessThan(8000);
    expect(fs.readdirSync(r.scratch)).toEqual([]);
    for (const pid of pids(`pids-${n}`)) expect(alive(pid), `pid ${pid}`).toBe(false);
  });
});

function pids(name: string): number[] {
  const f = path.join(tmp, 'TMPDIR', name);
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}
/** Running: a zombie (ended, not yet reaped by an init that may never reap) is not. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('the report reader (node) itself dies', () => {
  it('its lines so far, then one "cannot check" line; exit 0 even for a module that will not load', () => {
    const bin = path.join(tmp, 'fake-node-bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'node'), `#!/bin/sh\necho "btfcheck: ${R}: foo (/x/foo.ko): BTF rejected, errno -22 (the module will not load)" >&2\nkill -KILL $$\n`);
    fs.chmodSync(path.join(bin, 'node'), 0o755);
    const r = run(HOOK_RUNS[0], { FAKE_MODE: 'nonjson', PATH: `${bin}:${process.env.PATH}` });
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([
      `btfcheck: ${R}: foo (/x/foo.ko): BTF rejected, errno -22 (the module will not load)`,
      `btfcheck: ${R}: cannot check: the report reader (node) ended with status 137`,
    ]);
    expect(fs.readdirSync(r.scratch)).toEqual([]);
  });
});

describe('timeouts', () => {
  it('a btfcheck that ignores TERM is killed 5 s after the timeout; still "did not finish", exit 0', () => {
    const r = run(HOOK_RUNS[0], { FAKE_MODE: 'stubborn', BTFCHECK_TIMEOUT: '1' });
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([`btfcheck: ${R}: cannot check: btfcheck did not finish within 1 s (BTFCHECK_TIMEOUT)`]);
    expect(r.ms).toBeLessThan(12_000);
    for (const pid of pids(`pids-${n}`)) expect(alive(pid), `pid ${pid}`).toBe(false);
  }, 30_000);

  it('a BTFCHECK_TIMEOUT that is not a number is said once and the default (300 s) used', () => {
    const r = run(HOOK_RUNS[0], { FAKE_MODE: 'nothing', BTFCHECK_TIMEOUT: '5m' });
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([
      'btfcheck: BTFCHECK_TIMEOUT=5m is not a number of seconds; using 300',
      `btfcheck: ${R}: cannot check: btfcheck exited with status 0 and no report`,
    ]);
  });
});

describe('escapes: names, errors and kernel lines from btfcheck\'s JSON', () => {
  it('control characters become \\xNN (TAB kept in kernel lines), undecodable name bytes \\xNN; a newline cannot forge a line', () => {
    const json = path.join(tmp, 'hostile.json');
    fs.writeFileSync(json, JSON.stringify({
      base: { file: `${tree}/vmlinuz`, types: 1, strLen: 1, sha256: '0'.repeat(64) },
      kernel: { version: '7.2.13', allowBtfMismatch: false },
      modules: [
        {
          file: `${tree}/updates/evil\u001b]0;title\u0007.ko`, module: 'ev\u001b[2Jil', status: 'rejected',
          kernel: { accepted: false, errno: -22, loads: false, log: ['BPF: [5] STRUCT\tfoo\u001b[31m', 'BPF: \u009b31m', 'failed to validate module [evil] BTF: -22'] },
          error: null, findings: [], explanation: { summary: 'sum\u0007mary\nbtfcheck: forged' },
        },
        { file: `${tree}/updates/bad\udcff\nbtfcheck: forged.ko`, module: null, status: 'error', kernel: null, error: 'cannot \u001b[1mread\u007f', findings: [], explanation: null },
        { file: `${tree}/updates/m.ko`, module: 'm\u0085', status: 'mismatch', kernel: { accepted: true, errno: 0, loads: true, log: [] }, error: null, findings: [], explanation: null },
        null,
        { file: 42, status: 'rejected' },
      ],
      summary: { modules: 5 },
    }));
    const r = run(HOOK_RUNS[0], { FAKE_MODE: 'hostile', FAKE_JSON: json });
    expect(r.stderr).toMatch(CLEAN);
    expect(r.lines).toEqual([
      `btfcheck: ${R}: ev\\x1b[2Jil (${tree}/updates/evil\\x1b]0;title\\x07.ko): BTF rejected, errno -22 (the module will not load): kernel says "[5] STRUCT\tfoo\\x1b[31m \\x9b31m": sum\\x07mary\\x0abtfcheck: forged`,
      `btfcheck: ${R}: ? (${tree}/updates/bad\\xff\\x0abtfcheck: forged.ko): cannot check: cannot \\x1b[1mread\\x7f`,
      `btfcheck: ${R}: m\\x85 (${tree}/updates/m.ko): BTF accepted but built against another base`,
      `btfcheck: ${R}: ? (42): BTF rejected, errno ? (the module will not load)`,
    ]);
    // A module that will not load: the default policy fails.
    expect(r.status).toBe(1);
  });
});

describe.each(['TERM', 'INT'] as const)('SIG%s to a hook', (sig) => {
  it.each(HOOK_RUNS)('$script: ends at once, no scratch directory, no btfcheck left running', async (h) => {
    const scratch = scratchDir();
    const pidFile = path.join(scratch, '..', `sig-${sig}-${h.script}`);
    const child = spawn(path.join(HOOKS, h.script), h.args, {
      cwd: h.cwd ?? tmp, stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, BTFCHECK: fake, BTFCHECK_ROOT: root, BTFCHECK_FAIL_ON: '', BTFCHECK_TIMEOUT: '60', module: '', TMPDIR: scratch, FAKE_MODE: 'hang', FAKE_PIDS: pidFile },
    });
    child.stdin!.end(h.input ?? '');
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
    // Wait until btfcheck runs (its sleep's pid written), the scratch directory in use.
    const t0 = Date.now();
    while (pids(path.basename(pidFile)).length < 2 && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 50));
    expect(pids(path.basename(pidFile)).length).toBe(2);
    expect(fs.readdirSync(scratch)).toHaveLength(1);
    const t1 = Date.now();
    child.kill(`SIG${sig}`);
    const code = await exited;
    expect(Date.now() - t1).toBeLessThan(3000);
    expect(code).toBe(sig === 'TERM' ? 143 : 130);
    expect(fs.readdirSync(scratch)).toEqual([]);
    await new Promise((r) => setTimeout(r, 200));
    for (const pid of pids(path.basename(pidFile))) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(stderr).toBe('');
  }, 30_000);
});
