/**
 * What differs between the kernel series we emulate, as data. Everything here was read from the
 * Debian sources (linux-source 6.1.192 and 6.12.117: kernel/bpf/btf.c, kernel/bpf/log.c,
 * kernel/printk/printk.c, kernel/printk/internal.h) and checked against real boots (the oracle).
 *
 * Not data because nothing differs in them between the two: the per-kind checks and messages
 * (rules/kernel/kinds.ts: identical but for DATASEC names), the header/section/string checks, the
 * type-tag pass, kinds known (ENUM64 in both), KSYM_NAME_LEN, and, for the two-entry section sort,
 * lib/sort.c (rewritten in 6.12, same order for two entries). 6.12's btf_relocate uses its own
 * lib/sort.c (lib/kernel/sort.ts).
 *
 * Adding a series: copy the closest entry, walk the diff of btf.c (btf_parse_module, btf_parse_hdr,
 * btf_check_sec_info, btf_parse_str_sec, btf_check_all_metas, btf_check_meta, every *_check_meta and
 * *_log, __btf_verifier_log_type / _member / _vsi, btf_name_valid_*, btf_check_type_tags,
 * btf_module_notify) and printk's record size, and set the fields below; if a per-kind check
 * changed, add a flag here and read it in rules/kernel/kinds.ts.
 */

export type KernelVersion = '6.1' | '6.12';

/** How DATASEC names are validated (btf_name_valid_section). */
export type SectionNameRule =
  /** 6.1: the identifier rule (__btf_name_valid): [A-Za-z_.][A-Za-z0-9_.]* in the kernel's Latin-1 ctype. */
  | 'identifier'
  /** 6.12: any non-empty run of isprint() characters ("Allow any printable character in DATASEC names"). */
  | 'printable';

export interface KernelRules {
  version: KernelVersion;
  /** The Debian source the rules were read from. */
  source: string;
  /** Highest BTF kind the kernel knows (BTF_KIND_MAX); above it: "[N] Invalid kind:K". */
  kindMax: number;
  /** KSYM_NAME_LEN: the longest valid identifier / section name. */
  ksymNameLen: number;
  sectionNameRule: SectionNameRule;
  /**
   * 6.12 (commit "bpf: Skip logging when loading module BTF with mismatches permitted"): for module
   * BTF with CONFIG_MODULE_ALLOW_BTF_MISMATCH=y, __btf_verifier_log_type and
   * btf_verifier_log_member print nothing. Plain btf_verifier_log calls and btf_verifier_log_vsi
   * still print.
   */
  silenceTypeLogsWhenMismatchAllowed: boolean;
  /** BPF_VERIFIER_TMP_LOG_SIZE: each btf_verifier_log fragment is vscnprintf'ed into this buffer. */
  verifierTmpLogSize: number;
  /**
   * The largest printk record reservation, including the terminating NUL: 6.1 LOG_LINE_MAX
   * (CONSOLE_LOG_MAX 1024 - PREFIX_MAX 32, CONFIG_PRINTK_CALLER unset on Debian), 6.12
   * PRINTKRB_RECORD_MAX (1024). A record keeps at most this minus one byte.
   */
  printkRecordMax: number;
  /** Whether the kernel knows .BTF.base (distilled base BTF relocated onto vmlinux at load). */
  readsDistilledBase: boolean;
  /**
   * What btf_module_notify prints after btf_parse_module fails, and whether the module still
   * loads. `oncePerBoot` lines are pr_warn_once: printed only for the first rejection of a boot.
   */
  rejection(allowBtfMismatch: boolean, moduleName: string, errno: number): { line: string; oncePerBoot: boolean; moduleLoads: boolean };
}

const failedToValidate = (moduleName: string, errno: number): string =>
  `failed to validate module [${moduleName}] BTF: ${errno}`;

export const MISMATCH_LINE = 'Kernel module BTF mismatch detected, BTF debug info may be unavailable for some modules';

const V6_1: KernelRules = {
  version: '6.1',
  source: 'Debian linux-source-6.1 6.1.192',
  kindMax: 19,
  ksymNameLen: 512,
  sectionNameRule: 'identifier',
  silenceTypeLogsWhenMismatchAllowed: false,
  verifierTmpLogSize: 1024,
  printkRecordMax: 1024 - 32,
  readsDistilledBase: false,
  // pr_warn on every rejection; ALLOW_BTF_MISMATCH only decides whether the error is returned.
  rejection: (allow, name, errno) => ({ line: failedToValidate(name, errno), oncePerBoot: false, moduleLoads: allow }),
};

const V6_12: KernelRules = {
  version: '6.12',
  source: 'Debian linux-source-6.12 6.12.117',
  kindMax: 19,
  ksymNameLen: 512,
  sectionNameRule: 'printable',
  silenceTypeLogsWhenMismatchAllowed: true,
  verifierTmpLogSize: 1024,
  printkRecordMax: 1024,
  readsDistilledBase: true,
  // With ALLOW_BTF_MISMATCH the per-module line became a pr_warn_once without the module's name.
  rejection: (allow, name, errno) => allow
    ? { line: MISMATCH_LINE, oncePerBoot: true, moduleLoads: true }
    : { line: failedToValidate(name, errno), oncePerBoot: false, moduleLoads: false },
};

export const KERNEL_RULES: Readonly<Record<KernelVersion, KernelRules>> = { '6.1': V6_1, '6.12': V6_12 };

export const KERNEL_VERSIONS: readonly KernelVersion[] = ['6.1', '6.12'];

/**
 * The series of a kernel release string: '6.1.170', '6.1.0-47-cloud-amd64' → '6.1';
 * '6.12.117+deb12-cloud-amd64' → '6.12'; undefined for a series we do not emulate.
 */
export function kernelSeries(release: string): KernelVersion | undefined {
  const m = /^\s*(\d+)\.(\d+)(?=$|[.\-+_~ ])/.exec(release);
  if (!m) return undefined;
  const series = `${Number(m[1])}.${Number(m[2])}`;
  return (KERNEL_VERSIONS as readonly string[]).includes(series) ? (series as KernelVersion) : undefined;
}
