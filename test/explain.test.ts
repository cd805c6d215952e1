/**
 * `explain`: the real pasted logs of test/fixtures/cases (copied from the shared collection), every
 * log format people paste, every message the real kernels printed in the oracle, and the command
 * end to end with a base and module files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainLog } from '../lib/explain/index.js';
import type { ExplainedFailure } from '../lib/explain/index.js';
import { runCli, sample } from './helpers/cli.js';
import { ORACLE_DIR } from './helpers/oracle.js';

const CASES = path.resolve(import.meta.dirname, 'fixtures', 'cases');

interface Expected {
  module: string | null;
  errno: number | null;
  kind: ExplainedFailure['kind'];
  typeId: number | null;
  message: string | null;
  likelyCause: string;
  meaning: RegExp;
  typeKind?: string;
  typeName?: string;
  member?: { name: string; typeId: number; bitsOffset: number };
  /** Times the log shows this failure (default 1). */
  count?: number;
  subject?: ExplainedFailure['subject'];
  underVmlinux?: boolean;
  loaded?: boolean | null;
  moduleFrom?: ExplainedFailure['moduleFrom'];
}

const EMPTY_NAME = /points at an empty string/;
const NO_LINES = /none of the BPF: lines/;
const VMLINUX = /the kernel's own BTF \(vmlinux\) is invalid: every module will fail/;
const UNDER_VMLINUX = /failed because the kernel's own BTF is invalid/;

/** A `failed to validate module [m] BTF: -22` line alone (grep-filtered pastes), `count` times. */
const bare = (module: string, count = 1, more: Partial<Expected> = {}): Expected =>
  ({ module, errno: -22, kind: 'none', typeId: null, message: null, likelyCause: 'unknown', meaning: NO_LINES, count, ...more });
const underVmlinux = (module: string, count = 1): Expected =>
  ({ module, errno: -22, kind: 'none', typeId: null, message: null, likelyCause: 'vmlinux-btf', meaning: UNDER_VMLINUX, count, underVmlinux: true });

/** Per case, per pasted log: the failures in log order. */
const EXPECTED: Record<string, Expected[][]> = {
  A: [[{ module: 'ipheth', errno: -22, kind: 'type', typeId: 103111, message: 'Invalid name', likelyCause: 'base-mismatch', typeKind: 'STRUCT', typeName: '', meaning: EMPTY_NAME }]],
  B: [[{ module: 'vboxdrv', errno: -22, kind: 'type', typeId: 94156, message: 'Invalid name', likelyCause: 'base-mismatch', typeKind: 'TYPEDEF', typeName: '', meaning: EMPTY_NAME }]],
  C: [[{ module: null, errno: null, kind: 'type', typeId: 62397, message: 'Invalid name', likelyCause: 'non-c-names', typeKind: 'STRUCT', typeName: 'closure-0', meaning: /not a C identifier.*Rust/ }]],
  D: [[{ module: null, errno: null, kind: 'member', typeId: null, message: 'Invalid member bits_offset', likelyCause: 'unknown', member: { name: 'width', typeId: 54975, bitsOffset: 0 }, meaning: /increasing bit-offset order.*base \(vmlinux\) BTF itself/ }]],
  F: [[
    { module: 'backlight', errno: -22, kind: 'type', typeId: 93325, message: 'Invalid name', likelyCause: 'base-mismatch', typeKind: 'ENUM', typeName: 'a..percpu', meaning: /contains '\.'.*tail of a base string/ },
    { module: 'i2c_core', errno: -22, kind: 'type', typeId: 93327, message: 'Invalid name', likelyCause: 'base-mismatch', typeKind: 'STRUCT', typeName: 'a..percpu', meaning: /tail of a base string/ },
    { module: 'drm', errno: -22, kind: 'type', typeId: 93327, message: 'Invalid name', likelyCause: 'base-mismatch', typeKind: 'STRUCT', typeName: 'a..percpu', meaning: /tail of a base string/ },
  ]],
  G: [[
    { module: 'tcp_htcp', errno: -22, kind: 'type', typeId: 129365, message: 'Invalid name_offset:2322721', likelyCause: 'base-mismatch', meaning: /type \[129365\]'s name offset 2322721 lies beyond the end/ },
    { module: 'tcp_dctcp', errno: -22, kind: 'enum-value', typeId: null, message: 'Invalid name_offset:2322721', likelyCause: 'base-mismatch', meaning: /enum value's name offset 2322721 lies beyond the end/ },
  ]],
  H: [
    [
      { module: 'igbvf', errno: -22, kind: 'member', typeId: null, message: 'Invalid name', likelyCause: 'base-mismatch', member: { name: '', typeId: 55, bitsOffset: 128 }, meaning: EMPTY_NAME },
      { module: null, errno: null, kind: 'member', typeId: null, message: 'Invalid name', likelyCause: 'base-mismatch', member: { name: '', typeId: 174, bitsOffset: 160 }, meaning: EMPTY_NAME },
    ],
    [{ module: 'r8152', errno: -22, kind: 'type', typeId: 110133, message: 'Invalid name', likelyCause: 'base-mismatch', typeKind: 'STRUCT', typeName: '', meaning: EMPTY_NAME }],
  ],
  I: [[{ module: 'cpuid', errno: -22, kind: 'member', typeId: null, message: 'Invalid name', likelyCause: 'base-mismatch', member: { name: '', typeId: 34, bitsOffset: 64 }, meaning: EMPTY_NAME }]],
  J: [
    [
      { module: 'xt_mark', errno: -22, kind: 'none', typeId: null, message: null, likelyCause: 'unknown', meaning: NO_LINES },
      { module: null, errno: null, kind: 'enum-value', typeId: 166016, message: 'Invalid name', likelyCause: 'base-mismatch', typeKind: 'ENUM', typeName: 'task_fair', meaning: /enum's own name is valid, so one of its value names/ },
    ],
    [{ module: 'ppp_async', errno: -22, kind: 'member', typeId: null, message: 'Invalid name', likelyCause: 'base-mismatch', member: { name: '', typeId: 943, bitsOffset: 0 }, meaning: EMPTY_NAME }],
  ],
  M: [[bare('rockchip_cpuinfo'), bare('ipv6')]],
  // The kernel's own BTF failing: a DATASEC entry at type 5457 can only be vmlinux's.
  K: [
    [{ module: null, errno: null, kind: 'member', typeId: null, message: 'Invalid offset', likelyCause: 'vmlinux-btf', subject: 'vmlinux', meaning: /Why these lines are vmlinux's: a DATASEC entry refers to type 5457/ }],
    [bare('scsi_common')],
  ],
  // modprobe's line names a module whose kernel lines are not in the paste: the load failed.
  L: [[bare('soundwire_bus'), bare('snd_soc_lpass_tx_macro'),
    { module: 'vhci_hcd', errno: -22, kind: 'none', typeId: null, message: null, likelyCause: 'unknown', loaded: false, moduleFrom: 'tool', meaning: /^modprobe could not load vhci_hcd: Invalid argument\. EINVAL is what a rejected module BTF returns/ }]],
  // Fourteen rejections of one module are one entry; modprobe's line says the load failed.
  N: [[bare('exfat', 14, { loaded: false })]],
  O: [[bare('autofs4'), bare('x_tables'), bare('dmi_sysfs'), bare('nfnetlink'), bare('efi_pstore'), bare('parport', 3), bare('kyber_iosched'), bare('joydev'),
    bare('int340x_thermal_zone'), bare('fjes'), bare('acpi_thermal_rel'), bare('intel_pmc_ssram_telemetry'), bare('platform_profile'), bare('mc'), bare('pkcs8_key_parser'), bare('igen6_edac')]],
  // An anonymous ENUM with 'Invalid name': one of its enumerators; the lines after the module's line are its own.
  P: [[{ module: 'usb_storage', errno: -22, kind: 'enum-value', typeId: null, message: 'Invalid name', likelyCause: 'base-mismatch', typeKind: 'ENUM', typeName: '(anon)', meaning: /an anonymous enum .*about one of its enumerators/ }]],
  Q: [[{ module: 'samsung_galaxybook', errno: -22, kind: 'member', typeId: null, message: 'Invalid name', likelyCause: 'base-mismatch', member: { name: '', typeId: 1, bitsOffset: 1024 }, meaning: EMPTY_NAME }]],
  // Each log alone: the block (as case C) and the modules failing again and again without lines.
  R: [
    [{ module: null, errno: null, kind: 'type', typeId: 62397, message: 'Invalid name', likelyCause: 'non-c-names', typeKind: 'STRUCT', typeName: 'closure-0', meaning: /not a C identifier.*Rust/ }],
    [bare('rapl', 2), bare('irqbypass', 3), bare('acpi_cpufreq', 2), bare('ghash_clmulni_intel', 3), bare('pcc_cpufreq', 3), bare('crc32c_intel', 3), bare('crc32_pclmul', 3),
      bare('edac_mce_amd', 3), bare('crct10dif_pclmul', 3), bare('fjes', 2)],
  ],
  S: [[bare('usbnet'), bare('mt76_usb', 2), bare('mt76x02_lib')]],
  // Only the message is in the paste; insmod's line right after names the module.
  T: [[{ module: 'gramine_testing_dev', errno: null, kind: 'message', typeId: null, message: 'Invalid btf_info kind_flag', likelyCause: 'toolchain-newer', loaded: false, moduleFrom: 'tool', meaning: /^'Invalid btf_info kind_flag': .*Kernels before 6\.0 reject kind_flag on an ENUM.*toolchain newer than the kernel/ }]],
  U: [[{ module: 'qemu_fw_cfg', errno: -22, kind: 'member', typeId: null, message: 'Invalid name', likelyCause: 'base-mismatch', member: { name: '', typeId: 1704, bitsOffset: 1664 }, meaning: EMPTY_NAME }]],
  V: [[bare('cpuid')]],
  W: [[{ module: 'dm_crypt', errno: -22, kind: 'member', typeId: null, message: 'Invalid name', likelyCause: 'base-mismatch', member: { name: '', typeId: 66, bitsOffset: 904 }, meaning: EMPTY_NAME }]],
};

/** Case logs that are one boot's dmesg split by the reporter (by log level): explained together. */
const JOINED: Record<string, Expected[]> = {
  R: [
    { module: null, errno: null, kind: 'type', typeId: 62397, message: 'Invalid name', likelyCause: 'vmlinux-btf', typeKind: 'STRUCT', typeName: 'closure-0', subject: 'vmlinux', meaning: VMLINUX },
    underVmlinux('rapl', 2), underVmlinux('irqbypass', 3), underVmlinux('acpi_cpufreq', 2), underVmlinux('ghash_clmulni_intel', 3), underVmlinux('pcc_cpufreq', 3),
    underVmlinux('crc32c_intel', 3), underVmlinux('crc32_pclmul', 3), underVmlinux('edac_mce_amd', 3), underVmlinux('crct10dif_pclmul', 3), underVmlinux('fjes', 2),
  ],
};

function check(got: ExplainedFailure, want: Expected): void {
  expect({ module: got.module, errno: got.errno, kind: got.kind, typeId: got.typeId, message: got.message, likelyCause: got.likelyCause })
    .toEqual({ module: want.module, errno: want.errno, kind: want.kind, typeId: want.typeId, message: want.message, likelyCause: want.likelyCause });
  expect(got.meaning).toMatch(want.meaning);
  if (want.typeKind !== undefined) expect(got.typeKind).toBe(want.typeKind);
  if (want.typeName !== undefined) expect(got.typeName).toBe(want.typeName);
  if (want.member) expect(got.member).toMatchObject(want.member);
  expect(got.count, `count of ${got.module}`).toBe(want.count ?? 1);
  expect(got.subject).toBe(want.subject ?? (got.module !== null ? 'module' : 'unknown'));
  expect(got.underVmlinux).toBe(want.underVmlinux ?? false);
  if (want.loaded !== undefined) expect(got.loaded).toBe(want.loaded);
  if (want.moduleFrom !== undefined) expect(got.moduleFrom).toBe(want.moduleFrom);
}

describe('the collected real cases', () => {
  const files = fs.readdirSync(CASES).filter((f) => /^case-.*\.json$/.test(f));

  it('every case file has expectations', () => {
    expect(files.map((f) => JSON.parse(fs.readFileSync(path.join(CASES, f), 'utf8')).id).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const f of files) {
    const c = JSON.parse(fs.readFileSync(path.join(CASES, f), 'utf8')) as { id: string; title: string; logs: string[][] };
    it(`case ${c.id}: ${c.title}`, () => {
      c.logs.forEach((log, i) => {
        const got = explainLog(log.join('\n'));
        const want = EXPECTED[c.id][i];
        expect(got.map((g) => g.module)).toEqual(want.map((w) => w.module));
        got.forEach((g, k) => check(g, want[k]));
      });
      if (JOINED[c.id]) {
        const got = explainLog(c.logs.flat().join('\n'));
        expect(got.map((g) => g.module)).toEqual(JOINED[c.id].map((w) => w.module));
        got.forEach((g, k) => check(g, JOINED[c.id][k]));
      }
    });
  }

  it('every failing module named in the cases is found, with its errno, each repeat counted once', () => {
    let named = 0;
    for (const f of files) {
      const c = JSON.parse(fs.readFileSync(path.join(CASES, f), 'utf8')) as { logs: string[][] };
      for (const log of c.logs) {
        const closing = log.map((l) => /failed to validate module \[(.*)\] BTF: (-\d+)/.exec(l)).filter((m) => m !== null);
        const want = new Map<string, number>();
        for (const m of closing) want.set(`${m![1]} ${m![2]}`, (want.get(`${m![1]} ${m![2]}`) ?? 0) + 1);
        const found = new Map<string, number>();
        for (const x of explainLog(log.join('\n')).filter((x) => x.closing === 'failed')) found.set(`${x.module} ${x.errno}`, (found.get(`${x.module} ${x.errno}`) ?? 0) + x.count);
        expect(found).toEqual(want);
        named += closing.length;
      }
    }
    expect(named).toBe(85);
  });
});

describe('log formats people paste', () => {
  // One 5.17+ failure as the kernel printed it; each variant must read the same.
  const canonical = [
    'BPF: [93327] STRUCT a..percpu ',
    'BPF: size=16 vlen=4',
    'BPF:  ',
    'BPF: Invalid name',
    'BPF: ',
    'failed to validate module [i2c_core] BTF: -22',
  ];
  const member = ['BPF: \tdev type_id=12 bits_offset=64', 'BPF:  ', 'BPF: Invalid name', 'BPF: ', 'failed to validate module [m] BTF: -22'];
  const variants: Record<string, (lines: string[]) => string[]> = {
    'bare': (l) => l,
    'dmesg timestamps': (l) => l.map((x, i) => `[    0.55${5453 + i}] ${x}`),
    'dmesg -H relative timestamps': (l) => l.map((x) => `[  +0,003082] ${x}`),
    'dmesg -T wall-clock timestamps': (l) => l.map((x) => `[Tue Sep  5 10:53:29 2023] ${x}`),
    'dmesg -x facility/level and localized dates': (l) => l.map((x) => `kern  :err   : [mrt26 17:11] ${x}`),
    'syslog': (l) => l.map((x) => `Thu Dec 14 21:48:00 2023 kern.err kernel: [    9.073165] ${x}`),
    'journalctl -k': (l) => l.map((x) => `Dec 14 21:48:00 myhost kernel: ${x}`),
    'mail quoting': (l) => l.map((x) => `> ${x}`),
    'indented': (l) => l.map((x) => `  ${x}`),
    'trailing spaces lost': (l) => l.map((x) => x.trimEnd()),
    'pre-5.17 BPF: without a space': (l) => l.map((x) => x.replace(/^BPF: /, 'BPF:')),
    'joined into one line': (l) => [l.map((x) => x.trimEnd()).join(' ')],
    'TABs expanded to spaces': (l) => l.map((x) => x.replace(/\t/g, '        ')),
    'CRLF line ends': (l) => [l.join('\r\n')],
  };
  for (const [name, make] of Object.entries(variants)) {
    it(name, () => {
      const [t] = explainLog(make(canonical).join('\n'));
      expect(t).toMatchObject({ module: 'i2c_core', errno: -22, kind: 'type', typeId: 93327, typeKind: 'STRUCT', typeName: 'a..percpu', message: 'Invalid name' });
      const got = explainLog(make(member).join('\n'));
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({ module: 'm', kind: 'member', message: 'Invalid name', member: { name: 'dev', typeId: 12, bitsOffset: 64 } });
    });
  }

  it('a second failure without a closing line in between starts a new group', () => {
    const got = explainLog(['BPF: [5] STRUCT ', 'BPF: size=1 vlen=0', 'BPF: Invalid name', 'BPF: [9] ENUM e', 'BPF: size=4 vlen=1', 'BPF: Invalid name', 'failed to validate module [two] BTF: -22'].join('\n'));
    expect(got.map((g) => [g.module, g.typeId, g.kind])).toEqual([[null, 5, 'type'], ['two', 9, 'enum-value']]);
  });

  it('6.12\'s once-per-boot line closes a group whose module is unknown', () => {
    const got = explainLog('[ 3.1] Kernel module BTF mismatch detected, BTF debug info may be unavailable for some modules\n');
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ module: null, kind: 'none' });
    expect(got[0].meaning).toMatch(/once per boot/);
  });

  it('a log without BTF lines has no failures', () => {
    expect(explainLog('[    1.0] usb 1-1: new high-speed USB device\n')).toEqual([]);
  });
});

describe('every message real kernels printed (oracle records)', () => {
  it('each rejected load with lines explains as one failure of that module with a known message', () => {
    let checked = 0;
    const kinds = new Set<string>();
    for (const file of ['btf-oracle-6.1.public.jsonl', 'btf-oracle-6.12.public.jsonl']) {
      for (const line of fs.readFileSync(path.join(ORACLE_DIR, file), 'utf8').split('\n').filter(Boolean)) {
        const r = JSON.parse(line) as { module: string; btf_accepted: boolean | null; log: { text: string }[] };
        if (r.btf_accepted !== false) continue;
        const text = r.log.map((l) => l.text).join('\n');
        if (!/BPF:|failed to validate module/.test(text)) continue;
        const got = explainLog(text);
        expect(got).toHaveLength(1);
        expect([r.module, null]).toContain(got[0].module);
        expect(got[0].meaning).not.toMatch(/the kernel says|not in the log/);
        kinds.add(got[0].kind);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(300);
    expect([...kinds].sort()).toEqual(['chain', 'enum-value', 'header', 'member', 'none', 'string-section', 'type']);
  });
});

describe('btfcheck explain (command line)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-explain-'));
  const base47 = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
  const mods56 = sample('6.1.0-56-cloud-amd64', 'lib');

  it('diagnoses the modules a log names: matched file, cause from the module, the member\'s struct', () => {
    // The log a 6.1.0-47 kernel prints for the 6.1.0-56 modules.
    const dmesg = runCli(['check', '--base', base47, '--kernel', '6.1', '--format', 'dmesg', mods56]);
    expect(dmesg.status).toBe(1);
    const log = path.join(tmp, 'dmesg.txt');
    fs.writeFileSync(log, dmesg.stdout.split('\n').map((l, i) => (l ? `[   ${i}.000000] ${l}` : l)).join('\n'));
    const r = runCli(['explain', log, '--base', base47, mods56, '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { failures: (ExplainedFailure & { moduleFile: string | null; cause: string; causeFrom: string; memberOf: string | null; moduleFitsBase: boolean | null })[] };
    expect(j.failures.length).toBeGreaterThan(5);
    for (const f of j.failures) {
      expect(f.module).not.toBeNull();
      expect(f.moduleFile).toContain(`${path.sep}6.1.0-56-cloud-amd64${path.sep}`);
      expect(f.causeFrom).toBe('diagnosis');
      expect(f.moduleFitsBase).toBe(false);
      expect(f.cause).toBe('base-mismatch');
      expect(f.kind).not.toBe('none');
      if (f.kind === 'member') {
        expect(f.memberOf).toMatch(/^\[\d+\] (STRUCT|UNION) /);
        expect(f.typeId).toBeGreaterThanOrEqual(94976);
      }
    }
 
    // The same log explained with the kernel's own modules: they fit the base, so the log is from elsewhere.
    const own = JSON.parse(runCli(['explain', log, '--base', base47, sample('6.1.0-47-cloud-amd64', 'lib'), '--format', 'json']).stdout) as { failures: { moduleFitsBase: boolean | null; causeFrom: string }[] };
    expect(own.failures.every((f) => f.moduleFitsBase === true && f.causeFrom === 'log')).toBe(true);
  });

  it('meaning-only mode without --base; text output; exit 1 when the log holds no failure', () => {
    const log = path.join(tmp, 'a.txt');
    fs.writeFileSync(log, JSON.parse(fs.readFileSync(path.join(CASES, 'case-A.json'), 'utf8')).logs[0].join('\n'));
    const r = runCli(['explain', log]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('ipheth: BTF rejected, errno -22 (EINVAL)');
    expect(r.stdout).toContain("type (btf_struct_check_meta): 'Invalid name' on type [103111] STRUCT (empty name)");
    expect(r.stdout).toMatch(/cause: +base-mismatch \(likely, from the log alone/);
    // "-" reads the log from stdin (dmesg | btfcheck explain -).
    const piped = runCli(['explain', '-', '--format', 'json'], { input: fs.readFileSync(log) });
    expect(JSON.parse(piped.stdout).failures.map((f: { module: string }) => f.module)).toEqual(['ipheth']);
    const empty = path.join(tmp, 'empty.txt');
    fs.writeFileSync(empty, 'nothing here\n');
    expect(runCli(['explain', empty]).status).toBe(1);
  });

  it('usage errors are one line, exit 2', () => {
    const missing = runCli(['explain', path.join(tmp, 'nope.txt')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.split('\n')[0]).toMatch(/nope\.txt: no such file or directory$/);
    const noBase = runCli(['explain', path.join(tmp, 'a.txt'), mods56]);
    expect(noBase.status).toBe(2);
    expect(noBase.stderr).toMatch(/need --base/);
    expect(noBase.stderr).not.toMatch(/\n\s+at /);
  });
});
