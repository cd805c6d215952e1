/**
 * `explain` beyond one module's lines (issue 11, explain): the kernel's own BTF failing (one
 * vmlinux entry, the modules under it, cause vmlinux-btf), message-only pastes, kind_flag on
 * kernels before 6.0, repeats as one entry with a count, module-loading tools' lines, whether a
 * module loaded, anonymous enums, and the kernel the log is read for — --kernel, --config, --rule,
 * the log's own `Linux version` banner and `BPF:` style — and --candidates, as in check. Real
 * reports from test/fixtures/cases where one shows it; the rest as the kernel prints it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { explainLog, explainLogResult } from '../lib/explain/index.js';
import type { ExplainedFailure, KernelContext } from '../lib/explain/index.js';
import { runCli, sample } from './helpers/cli.js';

// Many runs of the CLI per test: on a busy two-CPU machine the default 20 s can be too short.
vi.setConfig({ testTimeout: 120_000 });

const CASES = path.resolve(import.meta.dirname, 'fixtures', 'cases');
const caseLogs = (id: string): string[][] => JSON.parse(fs.readFileSync(path.join(CASES, `case-${id}.json`), 'utf8')).logs;
const caseText = (id: string, log = 0): string => caseLogs(id)[log].join('\n');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-explain-kernel-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
}

type Failure = ExplainedFailure & { cause: string; causeFrom: string; moduleFile: string | null; builtAgainst?: { file: string } | null };
interface Report {
  kernel: { version: string | null; versionFrom: string | null; dated: string | null; allowBtfMismatch: boolean | null; config: string | null; overrides: Record<string, boolean>; vmlinux: { errno: number } | null; notes: string[] };
  failures: Failure[];
  summary: { listed: number; occurrences: number; unlisted: number; byCause: Record<string, number> };
  notes: string[];
}
function json(args: string[]): { status: number | null; report: Report; stderr: string } {
  const r = runCli([...args, '-f', 'json'], { encoding: 'utf8' });
  return { status: r.status, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}
/** The text report, decoded as UTF-8 (it holds '—' and '×'). */
const text = (args: string[]): string => runCli(args, { encoding: 'utf8' }).stdout;
const version = (v: string, more: Partial<KernelContext> = {}): KernelContext => ({ version: v, allowBtfMismatch: null, ...more });

const NOT_LINES = /none of the BPF: lines/;

describe('the kernel\'s own BTF failing: one vmlinux entry, every module under it (cause vmlinux-btf)', () => {
  it('a real report: the block once, then modules failing again and again without lines (Rust-for-Linux #495)', () => {
    const log = file('rust.log', caseLogs('R').flat().join('\n'));
    const { status, report } = json(['explain', log]);
    expect(status).toBe(0);
    const [block, ...modules] = report.failures;
    expect(block).toMatchObject({ subject: 'vmlinux', module: null, cause: 'vmlinux-btf', typeId: 62397, typeName: 'closure-0', kind: 'type' });
    expect(block.meaning).toMatch(/^the kernel's own BTF \(vmlinux\) is invalid: every module will fail\./);
    expect(block.meaning).toMatch(/every one of the 26 module failures after it has no lines of its own/);
    expect(block.fix).toMatch(/^rebuild the kernel \(vmlinux\) with a pahole and compiler that produce valid BTF/);
    expect(block.meaning).toMatch(/What failed: STRUCT \[62397\] 'closure-0': .*Rust .*build the kernel's BTF without them/);
    expect(modules).toHaveLength(10);
    for (const m of modules) expect(m).toMatchObject({ subject: 'module', cause: 'vmlinux-btf', underVmlinux: true, kind: 'none' });
    expect(modules.reduce((n, m) => n + m.count, 0)).toBe(27);
    expect(report.summary.byCause).toEqual({ 'vmlinux-btf': 11 });

    const out = text(['explain', log]);
    expect(out).toMatch(/^vmlinux \(the kernel's own BTF\): invalid {2}\[log lines 3-7\]/);
    expect(out).toContain('  cause:   vmlinux-btf (from the log)');
    expect(out).toContain('  modules: 10 modules failed because of it (no lines of their own): rapl (×2), irqbypass (×3), acpi_cpufreq (×2), ghash_clmulni_intel (×3)');
    // The modules are listed under it, not explained one by one.
    expect(out).not.toMatch(/^rapl: BTF rejected/m);
    expect(out.trimEnd().split('\n').pop()).toBe('11 failures (10 modules, 28 in the log): 11 vmlinux-btf');
  });

  it('a block printed at boot and modules failing seconds later: the timestamps split them (was glued onto the first module)', () => {
    const log = [
      '[    0.912345] BPF: [5123] STRUCT foo',
      '[    0.912350] BPF: size=8 vlen=1',
      '[    0.912351] BPF:  ',
      '[    0.912352] BPF: Invalid name',
      '[    0.912353] BPF: ',
      '[    4.100000] failed to validate module [first] BTF: -22',
      '[    4.300000] systemd-udevd[201]: something else',
      '[    4.310000] failed to validate module [second] BTF: -22',
    ].join('\n');
    const got = explainLog(log);
    expect(got.map((f) => [f.subject, f.module, f.likelyCause, f.underVmlinux])).toEqual([
      ['vmlinux', null, 'vmlinux-btf', false], ['module', 'first', 'vmlinux-btf', true], ['module', 'second', 'vmlinux-btf', true]]);
    expect(got[0].lines).toEqual([1, 2, 3, 4, 5]);
    expect(got[1].lines).toEqual([6]);
    // One module after the block is enough when the timestamps split it off.
    expect(explainLog(log.split('\n').slice(0, 6).join('\n')).map((f) => f.subject)).toEqual(['vmlinux', 'module']);
  });

  it('without timestamps: lines right before the first module\'s line, and at least two modules after it failing without lines', () => {
    const block = ['BPF:[1234] STRUCT a..b', 'BPF:size=8 vlen=1', 'BPF: ', 'BPF:Invalid name', 'BPF:'];
    const three = [...block, 'failed to validate module [a] BTF: -22', 'failed to validate module [b] BTF: -22', 'failed to validate module [c] BTF: -22'];
    expect(explainLog(three.join('\n')).map((f) => [f.module, f.likelyCause])).toEqual([[null, 'vmlinux-btf'], ['a', 'vmlinux-btf'], ['b', 'vmlinux-btf'], ['c', 'vmlinux-btf']]);
    // One module after it: that module's own failure and a grep-filtered line are as likely.
    const two = explainLog(three.slice(0, 7).join('\n'));
    expect(two.map((f) => [f.module, f.subject])).toEqual([['a', 'module'], ['b', 'module']]);
    expect(two[0].likelyCause).not.toBe('vmlinux-btf');
  });

  it('a DATASEC entry with type_id=0 or a low id can only be vmlinux\'s (case K); a module\'s own DATASEC entry is not', () => {
    const zero = explainLog(['BPF: \t type_id=0 offset=0 size=8', 'BPF: ', 'BPF: Invalid type_id', 'BPF: ', 'failed to validate module [only] BTF: -22'].join('\n'));
    expect(zero.map((f) => [f.subject, f.module, f.likelyCause])).toEqual([['vmlinux', null, 'vmlinux-btf'], ['module', 'only', 'vmlinux-btf']]);
    expect(zero[0].meaning).toMatch(/a DATASEC entry with type_id=0: a module's DATASEC lists its own variables/);
    const [k] = explainLog(caseText('K'));
    expect(k.vmlinuxEvidence).toMatch(/refers to type 5457: a module's variables come after every vmlinux type/);
    // A module's own DATASEC entry (high id) stays the module's.
    const own = explainLog(['BPF: \t type_id=95123 offset=0 size=8', 'BPF: ', 'BPF: Invalid offset', 'BPF: ', 'failed to validate module [m] BTF: -22'].join('\n'));
    expect(own.map((f) => [f.subject, f.module])).toEqual([['module', 'm']]);
    // A kernel reading distilled bases (6.11+) numbers a module's ids from its .BTF.base: low ids prove nothing.
    const low = ['BPF: \t type_id=812 offset=0 size=8', 'BPF: ', 'BPF: Invalid offset', 'BPF: ', 'failed to validate module [dkms] BTF: -22'].join('\n');
    expect(explainLog(low, version('6.12')).map((f) => f.subject)).toEqual(['module']);
    expect(explainLog(low, version('6.6')).map((f) => f.subject)).toEqual(['vmlinux', 'module']);
  });

  it('with --base: the kernel rejecting the base\'s own BTF puts every bare failure under it', () => {
    // 6.14's rules reject a 7.x base (TYPE_TAG kind_flag): such a kernel fails every module without lines.
    const log = file('bare.log', caseText('O'));
    const { status, report } = json(['explain', log, '--base', sample('7.2.13+deb14-cloud-amd64', 'vmlinux.btf.xz'), '--kernel', '6.14']);
    expect(status).toBe(0);
    expect(report.kernel.vmlinux?.errno).toBe(-22);
    expect(report.failures.every((f) => f.cause === 'vmlinux-btf' && f.underVmlinux)).toBe(true);
    expect(report.failures[0].meaning).toMatch(/kernel 6\.14 rejects the base's own BTF with -22/);
    const out = text(['explain', log, '--base', sample('7.2.13+deb14-cloud-amd64', 'vmlinux.btf.xz'), '--kernel', '6.14']);
    expect(out).toMatch(/^vmlinux \(the kernel's own BTF\): invalid, as the given base shows\n/);
    expect(out).toContain('  modules: 16 modules failed because of it: autofs4, x_tables, dmi_sysfs, nfnetlink, efi_pstore, parport (×3),');
  });

  it('not the class: grep-filtered module lines, module failures with their own lines, a wrong base', () => {
    for (const id of ['F', 'M', 'O', 'S', 'L']) {
      for (const f of explainLog(caseText(id))) expect(f.likelyCause, `case ${id} ${f.module}`).not.toBe('vmlinux-btf');
    }
    // A base whose type count is above the module ids the log prints is not the kernel's base.
    const { report } = json(['explain', file('f.log', caseText('F')), '--base', sample('7.2.13+deb14-cloud-amd64', 'vmlinux.btf.xz'), '--kernel', '6.14']);
    expect(report.failures.map((f) => [f.module, f.subject])).toEqual([['backlight', 'module'], ['i2c_core', 'module'], ['drm', 'module']]);
    expect(report.notes.join('\n')).toMatch(/name type ids from 93325, below the given base's \d+ types.*the base is not the one of the kernel that printed the log/);
  });
});

describe('message-only pastes are explained from the message, without contradicting themselves', () => {
  it('`BPF: Invalid btf_info kind_flag` and insmod\'s line (case T): the message, the module from insmod, the load failed', () => {
    const log = file('t.log', caseText('T'));
    const { report } = json(['explain', log]);
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({ module: 'gramine_testing_dev', moduleFrom: 'tool', kind: 'message', message: 'Invalid btf_info kind_flag', cause: 'toolchain-newer', loaded: false });
    const out = text(['explain', log]);
    expect(out).toContain("  check:   message (btf_check_meta (a kind's check_meta)): 'Invalid btf_info kind_flag'\n");
    expect(out).toContain("  named:   by the module-loading tool's line after it");
    expect(out).toMatch(/ {2}loaded: {2}no — the load failed: insmod: \.\.\. \(line 2\)/);
    expect(out).not.toMatch(NOT_LINES);
    expect(out).toMatch(/ {2}fix: {5}generate the BTF with the pahole \(and compiler\) the kernel was made for/);
  });

  it('each message the kernel prints, alone, is explained as that message', () => {
    for (const [message, re] of [
      ['Invalid name', /a type, member or enumerator name is empty or not a C identifier/],
      ['Invalid member bits_offset', /a struct or union member: members must come in increasing bit-offset order/],
      ['Invalid offset', /a DATASEC entry: the DATASEC entries are out of order/],
      ['vlen != 0', /this kind must have vlen 0/],
      ['Invalid btf_info kind_flag', /toolchain newer than the kernel/],
    ] as const) {
      const [f] = explainLog(`BPF: ${message}\nfailed to validate module [m] BTF: -22\n`);
      expect(f, message).toMatchObject({ module: 'm', kind: 'message', message });
      expect(f.meaning).toMatch(re);
      expect(f.meaning).toContain(message);
      expect(f.meaning).not.toMatch(NOT_LINES);
    }
  });
});

describe('kind_flag and unknown kinds on kernels older than the toolchain', () => {
  const enumFlag = ['BPF: [95001] ENUM fw_state size=4 vlen=3', 'BPF: ', 'BPF: Invalid btf_info kind_flag', 'BPF: ', 'failed to validate module [m] BTF: -22'].join('\n');

  it('an ENUM with kind_flag on a kernel before 6.0: BTF from a toolchain newer than the kernel', () => {
    const [f] = explainLog(enumFlag, version('5.15.119'));
    expect(f).toMatchObject({ kind: 'type', typeKind: 'ENUM', likelyCause: 'toolchain-newer' });
    expect(f.meaning).toMatch(/kernels before 6\.0 \(ENUM64\) reject the flag, so this is BTF from a toolchain newer than the kernel/);
    expect(f.fix).toMatch(/--skip_encoding_btf_enum64/);
    // A 6.0+ kernel does not check an ENUM's kind_flag: the log is from an older one.
    expect(explainLog(enumFlag, version('6.1'))[0].meaning).toMatch(/kernel 6\.1 does not check an ENUM's kind_flag: the log comes from an older kernel than assumed/);
    // Any other kind with kind_flag is corrupt data.
    expect(explainLog(enumFlag.replace('ENUM fw_state', 'INT u8'), version('5.15'))[0].likelyCause).toBe('corrupt');
  });

  it('the message alone: on a kernel before 6.0 a newer toolchain; on 6.15+ (every flag allowed) corrupt', () => {
    const only = 'BPF: Invalid btf_info kind_flag\nfailed to validate module [m] BTF: -22';
    expect(explainLog(only, version('5.15'))[0].meaning).toMatch(/kernel 5\.15 is older than 6\.0, which rejects kind_flag on an ENUM/);
    expect(explainLog(only, version('5.15'))[0].likelyCause).toBe('toolchain-newer');
    expect(explainLog(only, version('6.16'))[0].likelyCause).toBe('corrupt');
    // Through --kernel.
    const out = text(['explain', file('flag.log', only), '--kernel', '5.15']);
    expect(out).toContain('kernel 5.15 is older than 6.0');
    expect(out).toMatch(/cause: {3}toolchain-newer/);
  });

  it('kinds a kernel does not know: ENUM64 before 6.0, FLOAT before 5.13 (its info word)', () => {
    const [k19] = explainLog('BPF: [95002] Invalid kind:19\nfailed to validate module [m] BTF: -22', version('5.15'));
    expect(k19).toMatchObject({ likelyCause: 'toolchain-newer' });
    expect(k19.meaning).toMatch(/kind 19 \(ENUM64\), which kernels before 6\.0 do not know/);
    const [float] = explainLog('BPF:[95003] Invalid btf_info:10000000\nfailed to validate module [m] BTF: -22');
    expect(float.meaning).toMatch(/kind 16 \(FLOAT\), which kernels before 5\.13 cannot even decode/);
    expect(explainLog('BPF: [9] Invalid kind:25\nfailed to validate module [m] BTF: -22')[0].likelyCause).toBe('corrupt');
  });
});

describe('repeats and module-loading tools\' lines', () => {
  it('fourteen failures of exfat are one entry with a count (case N), modprobe\'s line says the load failed', () => {
    const log = file('exfat.log', caseText('N'));
    const { report } = json(['explain', log]);
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({ module: 'exfat', count: 14, loaded: false, toolLines: ["modprobe: ERROR: could not insert 'exfat': Invalid argument"] });
    expect(report.failures[0].occurrences).toEqual(Array.from({ length: 14 }, (_v, i) => 7 + i));
    expect(report.summary).toMatchObject({ listed: 1, occurrences: 14 });
    const out = text(['explain', log]);
    expect(out).toMatch(/^exfat: BTF rejected, errno -22 \(EINVAL\), 14 times {2}\[log line 7; again at lines 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20\]\n/);
    expect(out).toContain("    | modprobe: ERROR: could not insert 'exfat': Invalid argument\n");
    expect(out).toContain('  loaded:  no — the load failed: modprobe: Invalid argument (line 2)');
    expect(out.trimEnd().split('\n').pop()).toBe('1 failure (1 module, 14 in the log): 1 unknown');
  });

  it('a tool\'s line naming a module without kernel lines is that module\'s failed load (case L)', () => {
    const { report } = json(['explain', file('l.log', caseText('L'))]);
    expect(report.failures.map((f) => [f.module, f.moduleFrom, f.loaded])).toEqual([['soundwire_bus', 'kernel', null], ['snd_soc_lpass_tx_macro', 'kernel', null], ['vhci_hcd', 'tool', false]]);
  });

  it('the tools\' lines people paste: modprobe, insmod (kmod, busybox), systemd-modules-load, init_module', () => {
    const lines = [
      "modprobe: ERROR: could not insert 'nft_tproxy': Invalid argument",
      'insmod: ERROR: could not insert module ./my-driver.ko: Invalid argument',
      "insmod: can't insert 'wg.ko': Invalid argument",
      "Mar 03 10:00:01 host systemd-modules-load[312]: Failed to insert module 'nvidia_drm': Invalid argument",
      "init_module('/lib/modules/6.8.0/extra/vbox-drv.ko.zst') failed: Too many levels of symbolic links",
      // Not what a BTF rejection returns: not a failure of its own.
      "modprobe: ERROR: could not insert 'foo': Unknown symbol in module, or unknown parameter (see dmesg)",
      "modprobe: ERROR: could not insert 'bar': Key was rejected by service",
    ];
    const got = explainLog(lines.join('\n'));
    expect(got.map((f) => [f.module, f.errno, f.loaded, f.moduleFrom])).toEqual([
      ['nft_tproxy', -22, false, 'tool'], ['my_driver', -22, false, 'tool'], ['wg', -22, false, 'tool'], ['nvidia_drm', -22, false, 'tool'], ['vbox_drv', -40, false, 'tool']]);
    // Next to the kernel's lines of the same module, a tool's line joins that failure.
    const both = explainLog(["modprobe: ERROR: could not insert 'nft_tproxy': Invalid argument", ...caseLogs('J')[0]].join('\n'));
    expect(both.map((f) => f.module)).toEqual(['nft_tproxy', 'xt_mark', null]);
  });
});

describe('whether the module loaded', () => {
  it('6.3+ prints the module\'s line only without ALLOW_BTF_MISMATCH: not loaded (case O on 6.18.7)', () => {
    const { report } = json(['explain', file('o.log', caseText('O')), '--kernel', '6.18.7']);
    expect(report.kernel).toMatchObject({ version: '6.18.7', versionFrom: '--kernel' });
    for (const f of report.failures) {
      expect(f.loaded).toBe(false);
      expect(f.loadedWhy).toMatch(/kernel 6\.18\.7 \(6\.3\+\) prints 'failed to validate module' only without CONFIG_MODULE_ALLOW_BTF_MISMATCH/);
    }
  });

  it('5.18-6.2: loaded without BTF with ALLOW_BTF_MISMATCH=y, not loaded without it, not told without a config', () => {
    const f = caseText('F');
    expect(explainLog(f, version('6.1.15', { allowBtfMismatch: true, allowFrom: '--allow-btf-mismatch' })).map((x) => x.loaded)).toEqual([true, true, true]);
    expect(explainLog(f, version('6.1.15', { allowBtfMismatch: true }))[0].loadedWhy).toMatch(/prints the line and loads the module anyway, without BTF/);
    expect(explainLog(f, version('6.1.15', { allowBtfMismatch: false })).map((x) => x.loaded)).toEqual([false, false, false]);
    expect(explainLog(f, version('6.1.15')).map((x) => x.loaded)).toEqual([null, null, null]);
    expect(explainLog(f, version('6.1.15'))[0].loadedWhy).toMatch(/unless the kernel is 5\.18-6\.2 with CONFIG_MODULE_ALLOW_BTF_MISMATCH=y/);
    // Through --config.
    const config = file('config-6.1.15', 'CONFIG_DEBUG_INFO_BTF_MODULES=y\nCONFIG_MODULE_ALLOW_BTF_MISMATCH=y\n');
    const { report } = json(['explain', file('f.log', f), '--kernel', '6.1.15', '--config', config]);
    expect(report.kernel).toMatchObject({ allowBtfMismatch: true, config });
    expect(report.failures.map((x) => x.loaded)).toEqual([true, true, true]);
  });

  it('before 5.18 there is no such config: not loaded — dated by the log\'s BPF: style alone (case B)', () => {
    const [b] = explainLog(caseText('B'));
    expect(b).toMatchObject({ module: 'vboxdrv', loaded: false });
    expect(b.loadedWhy).toBe('kernel before 5.17 has no CONFIG_MODULE_ALLOW_BTF_MISMATCH (5.18+): a rejected BTF fails the load, the module did not load');
  });

  it('the once-per-boot line (6.3+ with ALLOW_BTF_MISMATCH): loaded without BTF', () => {
    const [f] = explainLog('[    3.1] Kernel module BTF mismatch detected, BTF debug info may be unavailable for some modules\n');
    expect(f).toMatchObject({ loaded: true, closing: 'mismatch-once' });
  });

  it('with the base of the kernel: Debian 7.2 (no ALLOW_BTF_MISMATCH in its config) did not load; Debian 6.1 (=y) did, without BTF', () => {
    const dmesg72 = runCli(['check', '--base', sample('7.2.13+deb14-cloud-amd64', 'vmlinux.btf.xz'), '--format', 'dmesg', sample('7.2.12+deb13-cloud-amd64', 'usr')]);
    expect(dmesg72.status).toBe(1);
    const log72 = file('deb72.log', dmesg72.stdout);
    const r72 = json(['explain', log72, '--base', sample('7.2.13+deb14-cloud-amd64', 'vmlinux.btf.xz')]).report;
    expect(r72.kernel).toMatchObject({ version: '7.2.13', allowBtfMismatch: false });
    expect(r72.kernel.config).toMatch(/usr\/lib\/modules\/7\.2\.13\+deb14-cloud-amd64\/config$/);
    expect(r72.failures.length).toBeGreaterThan(3);
    for (const f of r72.failures) {
      expect(f.loaded).toBe(false);
      expect(f.loadedWhy).toMatch(/^CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set \(.*config\): a rejected BTF fails the load, the module did not load$/);
    }
    const dmesg61 = runCli(['check', '--base', sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz'), '--kernel', '6.1', '--format', 'dmesg', sample('6.1.0-56-cloud-amd64', 'lib')]);
    const r61 = json(['explain', file('deb61.log', dmesg61.stdout), '--base', sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz')]).report;
    expect(r61.kernel).toMatchObject({ allowBtfMismatch: true });
    expect(r61.failures.every((f) => f.loaded === true)).toBe(true);
    const out = text(['explain', file('deb61b.log', dmesg61.stdout), '--base', sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz')]);
    expect(out).toMatch(/ {2}loaded: {2}yes, without BTF — CONFIG_MODULE_ALLOW_BTF_MISMATCH=y \(.*config\): kernel 6\.1 prints the line and loads the module anyway, without BTF/);
  });
});

describe('an anonymous ENUM followed by Invalid name is about an enumerator', () => {
  it('as the kernel prints it, and as a reporter retold it (case P)', () => {
    const [f] = explainLog(['BPF: [96123] ENUM (anon) ', 'BPF: size=4 vlen=3', 'BPF:  ', 'BPF: Invalid name', 'BPF: ', 'failed to validate module [usb_storage] BTF: -22'].join('\n'));
    expect(f).toMatchObject({ kind: 'enum-value', typeKind: 'ENUM', typeName: '(anon)', typeId: 96123, likelyCause: 'base-mismatch' });
    expect(f.meaning).toMatch(/an anonymous enum \(name offset 0, which the kernel allows\), so the 'Invalid name' is about one of its enumerators/);
    expect(f.meaning).not.toMatch(/must be named/);
    // Other kinds must be named: (anon) there is corrupt data.
    expect(explainLog('BPF: [96124] STRUCT (anon) \nBPF: size=4 vlen=1\nBPF: Invalid name\nfailed to validate module [m] BTF: -22')[0].likelyCause).toBe('corrupt');
  });
});

describe('the kernel the log is read for: --kernel, the log\'s banner, its BPF: style', () => {
  const banner = '[    0.000000] Linux version 6.1.0-47-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.170-3 (2026-04-04)';

  it('the Linux version banner gives the version (Debian\'s ABI name: the upstream version from the banner)', () => {
    const { report } = json(['explain', file('banner.log', `${banner}\n${caseText('F')}`)]);
    expect(report.kernel).toMatchObject({ version: '6.1.170', versionFrom: "the log's Linux version banner (line 1: 6.1.0-47-cloud-amd64)", dated: null });
    // 6.1.170 has the dots-in-names backport (6.1.36): '.' is not why 'a..percpu' was rejected there.
    expect(report.failures[0].meaning).toMatch(/'a\.\.percpu' looks valid as printed/);
    // --kernel wins over the banner, and changes the reading: 6.1.15 predates the backport.
    const old = json(['explain', file('banner2.log', `${banner}\n${caseText('F')}`), '--kernel', '6.1.15']).report;
    expect(old.kernel).toMatchObject({ version: '6.1.15', versionFrom: '--kernel' });
    expect(old.failures[0].meaning).toMatch(/'a\.\.percpu' contains '\.', which kernel 6\.1\.15 rejects \(it predates the dots-in-names change\)/);
    expect(old.failures[0].likelyCause).toBe('base-mismatch');
  });

  it('without a version: the BPF: style dates the kernel (before 5.17 / 5.17 or later); --kernel contradicting it is noted', () => {
    expect(json(['explain', file('b.log', caseText('B'))]).report.kernel).toMatchObject({ version: null, dated: 'before 5.17 (BPF: lines without a space after the colon)' });
    expect(json(['explain', file('i.log', caseText('I'))]).report.kernel).toMatchObject({ version: null, dated: '5.17 or later (BPF: lines with a space after the colon)' });
    expect(json(['explain', file('m.log', caseText('M'))]).report.kernel).toMatchObject({ version: null, dated: null });
    const r = json(['explain', file('b2.log', caseText('B')), '--kernel', '6.1']).report;
    expect(r.notes.join('\n')).toMatch(/no space after the colon, which only kernels before 5\.17 print, but the kernel is taken to be 6\.1 \(--kernel\): is the log from another kernel\?/);
    const out = text(['explain', file('b3.log', caseText('B'))]);
    expect(out).toContain('kernel: not given; dated before 5.17 (BPF: lines without a space after the colon); CONFIG_MODULE_ALLOW_BTF_MISMATCH not known');
  });

  it('--rule switches a change for a backporting kernel; bad --kernel, --rule, --config are usage errors', () => {
    const r = json(['explain', file('f2.log', caseText('F')), '--kernel', '6.1.15', '--rule', 'dots-in-names=on']).report;
    expect(r.kernel.overrides).toEqual({ 'dots-in-names': true });
    expect(r.failures[0].meaning).toMatch(/'a\.\.percpu' looks valid as printed/);
    for (const [args, re] of [
      [['--kernel', 'bogus'], /^btfcheck: --kernel bogus: not a kernel version/],
      [['--kernel', '6.1', '--rule', 'nonsense=on'], /^btfcheck: --rule nonsense=on: unknown rule nonsense/],
      [['--rule', 'nonsense=on'], /^btfcheck: --rule nonsense=on: unknown rule nonsense/],
      [['--config', path.join(tmp, 'missing-config')], /^btfcheck: --config .*missing-config: no such file or directory/],
    ] as const) {
      const x = runCli(['explain', file('f3.log', caseText('F')), ...args]);
      expect(x.status, args.join(' ')).toBe(2);
      expect(x.stderr.split('\n')[0]).toMatch(re);
    }
  });
});

describe('--candidates, as in check', () => {
  const base47 = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
  const base56 = sample('6.1.0-56-cloud-amd64', 'vmlinux.btf.xz');
  const base12 = sample('6.12.117+deb12-cloud-amd64', 'vmlinux.btf.xz');
  const mods56 = sample('6.1.0-56-cloud-amd64', 'lib');
  let log = '';
  beforeAll(() => {
    const dmesg = runCli(['check', '--base', base47, '--kernel', '6.1', '--format', 'dmesg', mods56]);
    log = file('c.log', dmesg.stdout);
  });

  it('names the base each module file was built against', () => {
    const { status, report, stderr } = json(['explain', log, mods56, '--base', base47, '--candidates', base12, base56]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(report.failures.length).toBeGreaterThan(5);
    for (const f of report.failures) expect(f.builtAgainst?.file).toBe(base56);
    const out = text(['explain', log, mods56, '--base', base47, '--candidates', base12, base56]);
    expect(out).toContain(`  built against: ${base56}\n`);
    // A directory of candidates is searched, as in check.
    const dir = path.join(tmp, 'cands');
    fs.mkdirSync(dir);
    fs.copyFileSync(base56, path.join(dir, 'vmlinux-56.btf.xz'));
    const fromDir = json(['explain', log, mods56, '--base', base47, '--candidates', dir]).report;
    expect(fromDir.failures.every((f) => f.builtAgainst?.file === path.join(dir, 'vmlinux-56.btf.xz'))).toBe(true);
  });

  it('an unreadable candidate is one line and exit 2, the others still used; --candidates needs --base and modules', () => {
    const missing = path.join(tmp, 'nope.btf');
    const r = runCli(['explain', log, mods56, '--base', base47, '--candidates', missing, base56, '-f', 'json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`btfcheck: candidate ${missing}: no such file or directory\n`);
    expect((JSON.parse(r.stdout) as Report).failures[0].builtAgainst?.file).toBe(base56);
    const usage = runCli(['explain', log, '--candidates', base56]);
    expect(usage.status).toBe(2);
    expect(usage.stderr.split('\n')[0]).toBe('btfcheck: --candidates needs --base and module files: it names the base each module file was built against');
  });
});

describe('explainLogResult: notes about the log itself', () => {
  it('several boots\' banners and mixed BPF: styles are noted', () => {
    const r = explainLogResult(['Linux version 5.15.0-91-generic (buildd@lcy02) #101-Ubuntu SMP', 'BPF:[5] STRUCT x', 'BPF:Invalid name',
      'Linux version 6.8.0-45-generic (buildd@lcy02) #45-Ubuntu SMP', 'BPF: [7] STRUCT y', 'BPF: Invalid name'].join('\n'));
    expect(r.banners.map((b) => b.release)).toEqual(['5.15.0-91-generic', '6.8.0-45-generic']);
    expect(r.kernel.version).toBe('5.15');
    expect(r.notes.join('\n')).toMatch(/BPF: lines both with and without a space after the colon/);
    expect(r.notes.join('\n')).toMatch(/the log holds 2 boots' banners \(5\.15\.0-91-generic at line 1, 6\.8\.0-45-generic at line 4\)/);
  });
});
