/**
 * The DKMS oracle records (test/fixtures/oracle/btf-oracle-dkms.public.jsonl): real out-of-tree
 * modules with a distilled base (.BTF.base), built with Debian's own headers and loaded into real
 * 6.12 and 7.x kernels. Each record's .BTF and .BTF.base are rebuilt (mutations apply to the
 * section the record names) and hash-checked; the emulation is compared with every BTF line, every
 * relocation warning (plain pr_warn lines), the final line and whether the module loads.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Btf } from '../../lib/btf/btf.js';
import { emulateModuleLoad, KernelVerdict } from '../../lib/kernel/index.js';
import { readModule } from '../../lib/module.js';
import { memorySource } from '../../lib/source.js';
import { ORACLE_DIR } from './oracle.js';

export interface DkmsRecord {
  series: string;
  booted_kernel: string;
  booted_version: string;
  dkms_case: string;
  case_id: string;
  module: string;
  module_file: string;
  mutation: { btf_offset: number; old_hex: string; new_hex: string; section: '.BTF' | '.BTF.base'; description: string } | null;
  btf_accepted: boolean | null;
  bpf_lines: string[];
  other_lines: string[];
  relocation_lines: string[];
  late_lines: string[];
  prior_btf_rejections_in_boot: number;
  btf_sha256: string;
  btf_base_sha256: string | null;
  has_btf_base: boolean;
}

export function loadDkmsOracle(): DkmsRecord[] {
  return fs.readFileSync(path.join(ORACLE_DIR, 'btf-oracle-dkms.public.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as DkmsRecord);
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The .BTF and .BTF.base the record's kernel saw. */
export function rebuildDkms(rec: DkmsRecord): { btf: Uint8Array; btfBase?: Uint8Array } {
  const bytes = new Uint8Array(fs.readFileSync(path.join(ORACLE_DIR, rec.module_file)));
  const mod = readModule(memorySource(bytes));
  if (!mod.btf) throw new Error(`${rec.case_id}: no .BTF`);
  const btf = new Uint8Array(mod.btf);
  const btfBase = mod.btfBase ? new Uint8Array(mod.btfBase) : undefined;
  const m = rec.mutation;
  if (m) {
    const target = m.section === '.BTF.base' ? btfBase : btf;
    if (!target) throw new Error(`${rec.case_id}: no ${m.section} to mutate`);
    const at = Buffer.from(target.subarray(m.btf_offset, m.btf_offset + m.old_hex.length / 2)).toString('hex');
    if (at !== m.old_hex) throw new Error(`${rec.case_id}: ${m.section}+${m.btf_offset} holds ${at}, expected ${m.old_hex}`);
    target.set(Buffer.from(m.new_hex, 'hex'), m.btf_offset);
  }
  if (sha256(btf) !== rec.btf_sha256) throw new Error(`${rec.case_id}: rebuilt .BTF does not hash to btf_sha256`);
  if (btfBase && rec.btf_base_sha256 && sha256(btfBase) !== rec.btf_base_sha256) throw new Error(`${rec.case_id}: rebuilt .BTF.base does not hash to btf_base_sha256`);
  return { btf, btfBase };
}

const FINAL = /^failed to validate module \[.*\] BTF: -\d+$|^Kernel module BTF mismatch detected/;

/** Compares one record with the emulation; `diffs` empty when it matches. */
export function compareDkms(rec: DkmsRecord, base: Btf, version: string, allowBtfMismatch: boolean): { diffs: string[]; verdict?: KernelVerdict; notValidated?: true } {
  const { btf, btfBase } = rebuildDkms(rec);
  const verdict = emulateModuleLoad(base, btf, rec.module, {
    version, allowBtfMismatch, distilledBase: btfBase, firstRejectionInBoot: rec.prior_btf_rejections_in_boot === 0,
  });
  const diffs: string[] = [];
  if (rec.btf_accepted === null) {
    // The load failed before BTF validation (ELF relocation, unknown symbols): no verdict to compare.
    if (rec.bpf_lines.length || rec.relocation_lines.length || rec.other_lines.some((l) => FINAL.test(l))) diffs.push('record without a verdict holds BTF lines');
    return { diffs, notValidated: true };
  }
  if (verdict.accepted !== rec.btf_accepted) diffs.push(`accepted: emulated ${verdict.accepted}, kernel ${rec.btf_accepted}`);
  if (!verdict.accepted && verdict.loads !== allowBtfMismatch) diffs.push(`loads: emulated ${verdict.loads}, kernel ${allowBtfMismatch}`);
  const bpf = verdict.log.filter((l) => l.startsWith('BPF:'));
  if (JSON.stringify(bpf) !== JSON.stringify(rec.bpf_lines)) diffs.push(`BPF lines: emulated ${JSON.stringify(bpf)}, kernel ${JSON.stringify(rec.bpf_lines)}`);
  const rest = verdict.log.filter((l) => !l.startsWith('BPF:'));
  const relocation = new Set([...rec.relocation_lines, ...rec.late_lines]);
  const expected = rec.other_lines.filter((l) => relocation.has(l) || FINAL.test(l));
  if (JSON.stringify(rest) !== JSON.stringify(expected)) diffs.push(`other lines: emulated ${JSON.stringify(rest)}, kernel ${JSON.stringify(expected)}`);
  return { diffs, verdict };
}
