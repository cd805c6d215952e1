/**
 * Every kernel change that alters what a module's BTF load decides or prints, as data: one entry
 * per change, with the release it first appears in, the stable releases it was backported to,
 * a one-line source, and what it does to the rule set. A kernel's rules are computed from these
 * (versions.ts), never written out per series. Adding a kernel change is one entry here (and a
 * field in KernelRules if no existing one expresses it) plus one test that shows the flip.
 *
 * Evidence: src = read in a Debian linux-source package (5.10.223, 6.1.192, 6.12.117, 7.2.13,
 * 7.3.4); oracle = seen on a booted Debian kernel (test/fixtures/oracle); commit = placed by the
 * upstream commit only (the release it first appears in is inferred). `btfcheck kernels` lists them.
 */
import type { MutableRules } from './rule-set.js';

export type Evidence = 'src' | 'oracle' | 'commit';

export interface KernelChange {
  /** Stable name, used by `--rule ID=on|off`. */
  id: string;
  /** First release with the change ("6.4"). */
  since: string;
  /** Stable releases that got it earlier than `since` ("6.1.36": 6.1.36 and later 6.1.x). */
  backports?: string[];
  /** What changes for a module's BTF check, in one line. */
  summary: string;
  /** Where it comes from, in one line. */
  source: string;
  evidence: Evidence[];
  /** Sets the rules as they are from `since` on. */
  apply(rules: MutableRules): void;
}

export const KERNEL_CHANGES: readonly KernelChange[] = [
  {
    id: 'module-btf', since: '5.11',
    summary: 'modules\' split BTF is validated on load (btf_module_notify → btf_parse_module); a failure fails the load; empty split BTF accepted',
    source: 'commit 36e68442d1af "bpf: Load and verify kernel module BTFs"; 5.11-rc5 "bpf: Allow empty module BTFs"',
    evidence: ['commit'],
    apply: (r) => { r.validatesModuleBtf = true; },
  },
  {
    id: 'empty-datasec', since: '5.12',
    summary: 'a DATASEC with no variables (vlen 0) is accepted; before, "vlen == 0"',
    source: 'commit 13ca51d5eb35 "bpf: Permit size-0 datasec"; src 5.10.223 (the check), 6.1.192 (gone)',
    evidence: ['commit', 'src'],
    apply: (r) => { r.emptyDatasec = true; },
  },
  {
    id: 'float-kind', since: '5.13',
    summary: 'FLOAT (16) known; the info word\'s kind grows to 5 bits (BTF_INFO_MASK 0x8f00ffff → 0x9f00ffff): before, kind 16+ is "[N] Invalid btf_info:10000000"',
    source: 'commit b1828f0b0482 "bpf: Add BTF_KIND_FLOAT support"; src 5.10.223 (BTF_INFO_MASK 0x8f00ffff, BTF_INFO_KIND & 0x0f)',
    evidence: ['commit', 'src'],
    apply: (r) => { r.kindMax = 16; r.infoLayout = 'kind5'; },
  },
  {
    id: 'decl-tag-kind', since: '5.16',
    summary: 'DECL_TAG (17) known; before: "[N] Invalid kind:17"',
    source: 'commit b5ea834dde6b "bpf: Support for new btf kind BTF_KIND_TAG"',
    evidence: ['commit'],
    apply: (r) => { r.kindMax = 17; },
  },
  {
    id: 'type-tag-kind', since: '5.17',
    summary: 'TYPE_TAG (18) known; before: "[N] Invalid kind:18"',
    source: 'commit 8c42d2fa4eea "bpf: Support BTF_KIND_TYPE_TAG for btf_type_tag attributes"',
    evidence: ['commit'],
    apply: (r) => { r.kindMax = 18; },
  },
  {
    id: 'log-prefix', since: '5.17',
    summary: 'log lines are "BPF: %s" with a newline only if missing; before, "BPF:%s\\n" for every fragment (no space; a "\\n" fragment prints "BPF:" and an empty line)',
    source: '"bpf: clean-up bpf_verifier_vlog() for BPF_LOG_KERNEL log level" (bpf-next, Dec 2021); src 5.10.223 verifier.c: pr_err("BPF:%s\\n")',
    evidence: ['commit', 'src'],
    apply: (r) => { r.logStyle = 'prefix-space'; },
  },
  {
    id: 'allow-btf-mismatch', since: '5.18',
    summary: 'CONFIG_MODULE_ALLOW_BTF_MISMATCH=y lets a module whose BTF is rejected load without BTF (lines still printed)',
    source: 'commit 5e214f2e43e4 "bpf: Add config to allow loading modules with BTF mismatches"',
    evidence: ['commit'],
    apply: (r) => { r.allowMismatchConfig = true; },
  },
  {
    id: 'type-tag-pass', since: '5.19',
    summary: 'modules get btf_check_type_tags: "Type tags don\'t precede modifiers", "Max chain length or cycle detected" (-ELOOP, chain limit 32), silent -EINVAL on a dangling modifier',
    source: 'commit eb596b090558 "bpf: Ensure type tags precede modifiers in BTF" (module path); src 6.1.192',
    evidence: ['commit', 'src'],
    apply: (r) => { r.typeTagPass = true; r.tagOrderCheck = true; },
  },
  {
    id: 'enum64', since: '6.0',
    summary: 'ENUM64 (19) known, and ENUM\'s kind_flag means signedness; before: "[N] Invalid kind:19", ENUM with kind_flag "Invalid btf_info kind_flag"',
    source: 'commit 6089fb325cf7 "bpf: Add btf enum64 support"',
    evidence: ['commit', 'src'],
    apply: (r) => { r.kindMax = 19; r.enumKflag = true; },
  },
  {
    id: 'ksym-name-len-512', since: '6.1',
    summary: 'KSYM_NAME_LEN 128 → 512: the longest valid name is 512 characters (before: 128)',
    source: 'commit b8a94bfb3395 "kallsyms: increase maximum kernel symbol length to 512"; src 5.10.223 (128), 6.1.192 (512)',
    evidence: ['commit', 'src'],
    apply: (r) => { r.ksymNameLen = 512; },
  },
  {
    id: 'printk-record-1024', since: '6.3',
    summary: 'a printk record holds 1024 bytes with the NUL and the 2-byte level prefix: lines up to 1021 bytes (PRINTKRB_RECORD_MAX); before, 989 (LOG_LINE_MAX = 1024 - 32)',
    source: 'commit 7d7a23a91c91 "printk: move size limit macros into internal.h" (release inferred); src 6.1.192 LOG_LINE_MAX, 6.12.117 PRINTKRB_RECORD_MAX',
    evidence: ['commit', 'src'],
    apply: (r) => { r.printkRecordMax = 1024; },
  },
  {
    id: 'quiet-mismatch', since: '6.3',
    summary: 'with ALLOW_BTF_MISMATCH=y: type and member lines suppressed for module BTF, and "failed to validate" replaced by a once-per-boot "Kernel module BTF mismatch detected" line',
    source: 'commit 9cb61e50bf6b "bpf: Skip logging when loading module BTF with mismatches permitted"; src 6.12.117; oracle 6.12',
    evidence: ['commit', 'src', 'oracle'],
    apply: (r) => { r.quietMismatch = true; },
  },
  {
    id: 'dots-in-names', since: '6.4', backports: ['5.10.186', '5.15.119', '6.1.36', '6.3.10'],
    summary: '"." allowed in every name, also first; before, only in VAR and DATASEC names',
    source: 'commit 9724160b3942 "bpf: Allow dots in BTF names" (stable backports inferred from release dates); src 5.10.223 and 6.1.192 have it',
    evidence: ['commit', 'src'],
    apply: (r) => { r.dotsInNames = true; },
  },
  {
    id: 'datasec-printable-names', since: '6.9',
    summary: 'DATASEC names: any printable characters (isprint); before, the identifier rule',
    source: 'commit bd70a8fb7ca4 "bpf: Allow all printable characters in BTF DATASEC names"; src 6.12.117',
    evidence: ['commit', 'src'],
    apply: (r) => { r.sectionNameRule = 'printable'; },
  },
  {
    id: 'datasec-nonempty-name', since: '6.11',
    summary: 'the printable DATASEC name rule checks the first byte and rejects an empty name; 6.9-6.10 skip the first byte unchecked (an empty name reads on into the next string)',
    source: 'commit bb6705c3f93b "bpf: add check for invalid name in btf_name_valid_section()" (6.11-rc7; later 6.10.y may carry it); src 6.12.117',
    evidence: ['commit', 'src'],
    apply: (r) => { r.sectionNameEmptyRejected = true; },
  },
  {
    id: 'distilled-base', since: '6.11',
    summary: 'a module\'s .BTF.base is parsed as its own base and the module relocated onto vmlinux (btf_relocate); relocation failures print plain lines',
    source: 'commit d4e48e3dd450 "module, bpf: Use resilient split BTF for module BTF"; src 6.12.117',
    evidence: ['commit', 'src'],
    apply: (r) => { r.readsDistilledBase = true; },
  },
  {
    id: 'tag-kflag', since: '6.15',
    summary: 'kind_flag allowed on DECL_TAG and TYPE_TAG (attribute tags); before, "Invalid btf_info kind_flag" (a 7.x vmlinux has such TYPE_TAGs, so older rules reject a 7.x base)',
    source: 'commit 53ee0d66d7a6 "bpf: Allow kind_flag for BTF type and decl tags"; src 7.2.13; oracle 7.2',
    evidence: ['commit', 'src', 'oracle'],
    apply: (r) => { r.tagKflag = true; },
  },
  {
    id: 'sorted-btf', since: '7.0',
    summary: 'btf_check_sorted notes whether BTF is sorted by name (never rejects, never logs); kbuild sorts vmlinux and module BTF, anonymous types first',
    source: 'commit 342bf525ba0d "bpf: Optimize type lookup with binary search"; src 7.2.13',
    evidence: ['commit', 'src'],
    apply: (r) => { r.sortedBtf = true; },
  },
  {
    id: 'header-layout', since: '7.1',
    summary: '32-byte header (layout_off, layout_len): the zero tail starts at byte 32; with hdr_len >= 32 and layout_len != 0 three sections must tile; with hdr_len >= 32 strings need not be last',
    source: 'commit 222edc843c15 "bpf: Add layout section to BTF header"; src 7.2.13; oracle 7.2',
    evidence: ['commit', 'src', 'oracle'],
    apply: (r) => { r.headerSize = 32; },
  },
  {
    id: 'kind7-vlen24', since: '7.2',
    summary: 'info word: 7-bit kind, 24-bit vlen; "Invalid btf_info" gone (bits 29-30 are "Invalid kind:N", bits 16-23 a vlen each kind checks)',
    source: 'commit f7a6b9eaff3e "bpf: Extend BTF kind and vlen"; src 7.2.13; oracle 7.2',
    evidence: ['commit', 'src', 'oracle'],
    apply: (r) => { r.infoLayout = 'kind7'; },
  },
  {
    id: 'no-tag-order', since: '7.2',
    summary: '"Type tags don\'t precede modifiers" no longer checked (btf_check_modifier_chain_length keeps the chain limit and the silent -EINVAL)',
    source: 'commit 39799c63578e "bpf: Remove type tag ordering check"; src 7.2.13',
    evidence: ['commit', 'src'],
    apply: (r) => { r.tagOrderCheck = false; },
  },
  {
    id: 'relocate-string-newline', since: '7.2',
    summary: 'btf_relocate\'s "string \'%s\' [offset %u] is not mapped to base BTF" ends with a newline (6.12: held until the next message)',
    source: 'src 7.2.13 tools/lib/bpf/btf_relocate.c',
    evidence: ['src'],
    apply: (r) => { r.relocateStringNewline = true; },
  },
  {
    id: 'relocate-unsigned-ids', since: '7.3',
    summary: 'btf_relocate prints type ids with %u (6.12 and 7.2: %d)',
    source: 'src 7.3.4 tools/lib/bpf/btf_relocate.c',
    evidence: ['src'],
    apply: (r) => { r.relocateUnsignedIds = true; },
  },
];

/** Series booted in QEMU for the oracle (test/fixtures/oracle): what the rules were checked against. */
export const ORACLE_EVIDENCE: readonly { series: string; kernels: string[] }[] = [
  { series: '6.1', kernels: ['6.1.170 (6.1.0-47-cloud-amd64)', '6.1.192 (6.1.0-56-cloud-amd64)'] },
  { series: '6.12', kernels: ['6.12.115+deb12', '6.12.117+deb12', '6.12.117+deb13 (dkms)'] },
  { series: '7.2', kernels: ['7.2.12+deb13', '7.2.13+deb14'] },
  { series: '7.3', kernels: ['7.3.4+deb13'] },
];
