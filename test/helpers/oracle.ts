/**
 * The real-kernel oracle (test/fixtures/oracle, copied as-is from the recording): what Debian 6.1
 * and 6.12 kernels booted in QEMU printed for native, cross-build and mutated modules. This helper
 * rebuilds the exact .BTF bytes each record's kernel saw and compares an emulation with the record.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { xz } from '@napi-rs/lzma';
import { Btf } from '../../lib/btf/btf.js';
import { emulateModuleLoad, KernelVerdict, KernelVersion } from '../../lib/kernel/index.js';
import { readModule } from '../../lib/module.js';
import { memorySource } from '../../lib/source.js';
import { kernelsRoot } from './kernels.js';

export const ORACLE_DIR = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'oracle');

export interface OracleMutation {
  id: string;
  module_file: string;
  btf_offset: number;
  old_hex: string;
  new_hex: string;
  category: string;
  description: string;
}

export interface OracleRecord {
  series: KernelVersion;
  booted_kernel: string;
  booted_version: string;
  case: 'native' | 'cross' | 'mutant';
  case_id: string;
  module: string;
  module_file: string;
  module_from: string;
  mutation: OracleMutation | null;
  btf_accepted: boolean | null;
  bpf_lines: string[];
  other_lines: string[];
  log: { level: number; text: string; text_hex?: string }[];
  status: string;
  prior_btf_rejections_in_boot: number;
  btf_sha256: string;
  btf_size: number;
}

export interface OracleKernel {
  abi: string;
  version: string;
  series: KernelVersion;
  vmlinux_btf_sha256: string;
  vmlinux_btf_nr_types: number;
  vmlinux_btf_str_len: number;
  config: Record<string, string>;
}

export function loadOracle(series: KernelVersion): OracleRecord[] {
  const text = fs.readFileSync(path.join(ORACLE_DIR, `btf-oracle-${series}.public.jsonl`), 'utf8');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as OracleRecord);
}

export function loadOracleKernels(): OracleKernel[] {
  return JSON.parse(fs.readFileSync(path.join(ORACLE_DIR, 'kernels.json'), 'utf8')) as OracleKernel[];
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * The raw base BTF of a booted kernel, parsed once; its sha256 is checked against kernels.json.
 * `fileName` is vmlinux.btf in the kernel cache, vmlinux.btf.xz in samples/.
 */
const baseCache = new Map<string, Btf>();
export function oracleBase(kernel: OracleKernel, root = kernelsRoot(), fileName = 'vmlinux.btf'): Btf {
  const key = path.join(root, kernel.abi, fileName);
  let base = baseCache.get(key);
  if (!base) {
    let raw = new Uint8Array(fs.readFileSync(key));
    if (fileName.endsWith('.xz')) raw = new Uint8Array(xz.decompressSync(raw));
    if (sha256(raw) !== kernel.vmlinux_btf_sha256) throw new Error(`${kernel.abi}/vmlinux.btf does not hash to kernels.json's sha256`);
    base = Btf.parseBase(raw);
    baseCache.set(key, base);
  }
  return base;
}

/** The module's .BTF as the record's kernel saw it: the file's section, mutated, hash-checked. */
export function rebuildModuleBtf(rec: OracleRecord, root = kernelsRoot()): Uint8Array {
  const file = path.join(root, rec.module_from, rec.module_file);
  let bytes = new Uint8Array(fs.readFileSync(file));
  if (file.endsWith('.xz')) bytes = new Uint8Array(xz.decompressSync(bytes));
  const mod = readModule(memorySource(bytes));
  if (!mod.btf) throw new Error(`${rec.case_id}: ${file} has no .BTF`);
  const btf = new Uint8Array(mod.btf); // a copy: mutations must not touch anything shared
  const m = rec.mutation;
  if (m) {
    const old = Buffer.from(m.old_hex, 'hex');
    const now = Buffer.from(m.new_hex, 'hex');
    const at = Buffer.from(btf.subarray(m.btf_offset, m.btf_offset + old.length));
    if (!at.equals(old)) throw new Error(`${rec.case_id}: bytes at .BTF+${m.btf_offset} are ${at.toString('hex')}, expected ${m.old_hex}`);
    btf.set(now, m.btf_offset);
  }
  if (btf.length !== rec.btf_size || sha256(btf) !== rec.btf_sha256) {
    throw new Error(`${rec.case_id}: rebuilt .BTF (${btf.length} bytes) does not hash to the record's btf_sha256`);
  }
  return btf;
}

export interface OracleComparison {
  ok: boolean;
  /** What differs, one line each (empty when ok). */
  diffs: string[];
  verdict: KernelVerdict;
  /** Set for a record whose load failed before BTF validation: only its silence was checked. */
  notValidated?: true;
}

const FAILED_TO_VALIDATE = /^failed to validate module \[.*\] BTF: -\d+$/;
const MISMATCH = 'Kernel module BTF mismatch detected, BTF debug info may be unavailable for some modules';

/**
 * Emulates the record's load and compares: the verdict, the BPF: lines exactly, and for rejections
 * the final line (6.1: `failed to validate module` from other_lines; 6.12: the mismatch line iff
 * this was the boot's first rejection). A record whose load failed before BTF validation
 * (btf_accepted null; none in the public set) holds no verdict to compare with: it must hold no
 * BTF line either, and comes back marked notValidated so that callers count it separately.
 */
export function compareWithOracle(rec: OracleRecord, base: Btf, btf: Uint8Array, allowBtfMismatch: boolean, version: string = rec.booted_version): OracleComparison {
  const verdict = emulateModuleLoad(base, btf, rec.module, {
    version, allowBtfMismatch, firstRejectionInBoot: rec.prior_btf_rejections_in_boot === 0,
  });
  const diffs: string[] = [];
  if (rec.btf_accepted === null) {
    const btfLines = [...rec.bpf_lines, ...rec.other_lines.filter((l) => FAILED_TO_VALIDATE.test(l) || l === MISMATCH)];
    if (btfLines.length) diffs.push(`load failed before BTF validation, yet the record holds BTF lines: ${JSON.stringify(btfLines)}`);
    return { ok: diffs.length === 0, diffs, verdict, notValidated: true };
  }
  if (verdict.accepted !== rec.btf_accepted) diffs.push(`accepted: emulated ${verdict.accepted}, kernel ${rec.btf_accepted}`);
  // Without ALLOW_BTF_MISMATCH (Debian 7.x) a rejected BTF fails the load; with it the module loads.
  if (!verdict.accepted && verdict.loads !== allowBtfMismatch) diffs.push(`loads: emulated ${verdict.loads}, kernel ${allowBtfMismatch}`);
  const bpf = verdict.log.filter((l) => l.startsWith('BPF:'));
  const rest = verdict.log.filter((l) => !l.startsWith('BPF:'));
  if (JSON.stringify(bpf) !== JSON.stringify(rec.bpf_lines)) {
    diffs.push(`BPF lines differ:\n  emulated: ${JSON.stringify(bpf)}\n  kernel:   ${JSON.stringify(rec.bpf_lines)}`);
  }
  // The emulated log must hold its BPF: lines first, then at most the one final line.
  if (verdict.log.slice(0, bpf.length).some((l) => !l.startsWith('BPF:'))) diffs.push('emulated log interleaves BPF: and other lines');
  // The kernel's own final lines, from the record (6.1: `failed to validate module`; 6.12 with
  // ALLOW_BTF_MISMATCH: the pr_warn_once mismatch line, present only in a boot's first rejection).
  const expectedFinal = rec.other_lines.filter((l) => FAILED_TO_VALIDATE.test(l) || l === MISMATCH);
  if (JSON.stringify(rest) !== JSON.stringify(expectedFinal)) {
    diffs.push(`final lines differ:\n  emulated: ${JSON.stringify(rest)}\n  kernel:   ${JSON.stringify(expectedFinal)}`);
  }
  return { ok: diffs.length === 0, diffs, verdict };
}
