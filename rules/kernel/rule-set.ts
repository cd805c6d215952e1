/**
 * The fields of a kernel's rule set for module BTF: what each kernel change (changes.ts) sets, and
 * what the checks (kinds.ts, lib/kernel) read. versions.ts computes them per kernel.
 */

/** How BTF_INFO_* decode the info word. */
export type InfoLayout =
  /** 5.11-5.12: BTF_INFO_MASK 0x8f00ffff, kind = bits 24-27, vlen = bits 0-15. */
  | 'kind4'
  /** 5.13-7.1: BTF_INFO_MASK 0x9f00ffff, kind = bits 24-28. */
  | 'kind5'
  /** 7.2+: no mask; kind = bits 24-30, vlen = bits 0-23. */
  | 'kind7';

/** How DATASEC names are validated (btf_name_valid_section). */
export type SectionNameRule =
  /** Before 6.9: the identifier rule, with '.' allowed (__btf_name_valid(..., dot_ok)). */
  | 'identifier'
  /** 6.9+: any non-empty run of isprint() characters. */
  | 'printable';

export interface MutableRules {
  /** False before 5.11: the kernel ignores a module's .BTF. */
  validatesModuleBtf: boolean;
  /** Highest BTF kind the kernel knows (BTF_KIND_MAX); above it: "[N] Invalid kind:K". */
  kindMax: number;
  infoLayout: InfoLayout;
  /** 'fragment-line' (before 5.17): pr_err("BPF:%s\n") per fragment; 'prefix-space': "BPF: %s%s". */
  logStyle: 'fragment-line' | 'prefix-space';
  /** CONFIG_MODULE_ALLOW_BTF_MISMATCH exists (5.18+); before, a rejection always fails the load. */
  allowMismatchConfig: boolean;
  /** btf_check_type_tags runs for modules (5.19+). */
  typeTagPass: boolean;
  /** ... and checks that type tags precede modifiers (5.19-7.1). */
  tagOrderCheck: boolean;
  /** ENUM kind_flag is signedness (6.0+); before, it is "Invalid btf_info kind_flag". */
  enumKflag: boolean;
  /** KSYM_NAME_LEN: the longest valid identifier / section name. */
  ksymNameLen: number;
  /** BPF_VERIFIER_TMP_LOG_SIZE: each fragment is vscnprintf'ed into this buffer. */
  verifierTmpLogSize: number;
  /** The largest printk record reservation including the NUL (LOG_LINE_MAX 992 / PRINTKRB_RECORD_MAX 1024). */
  printkRecordMax: number;
  /**
   * 6.3+ with ALLOW_BTF_MISMATCH=y: __btf_verifier_log_type and btf_verifier_log_member print
   * nothing for module BTF, and the rejection line is the once-per-boot mismatch line.
   */
  quietMismatch: boolean;
  /** '.' allowed in every name (6.4, stable 5.10.186 / 5.15.119 / 6.1.36 / 6.3.10). */
  dotsInNames: boolean;
  sectionNameRule: SectionNameRule;
  /** Under the printable rule, an empty DATASEC name is invalid (6.11+). */
  sectionNameEmptyRejected: boolean;
  /** .BTF.base parsed and relocated (6.11+). */
  readsDistilledBase: boolean;
  /** kind_flag allowed on DECL_TAG / TYPE_TAG (6.15+). */
  tagKflag: boolean;
  /** The kernel checks whether BTF is sorted (7.0+; never rejects, never logs). */
  sortedBtf: boolean;
  /** sizeof(struct btf_header): 24, or 32 with layout_off / layout_len (7.1+). */
  headerSize: number;
  /** btf_relocate's string line ends with "\n" (7.2+). */
  relocateStringNewline: boolean;
  /** btf_relocate prints ids with %u (7.3+). */
  relocateUnsignedIds: boolean;
  /** A DATASEC may have no variables (5.12+); before, "vlen == 0". */
  emptyDatasec: boolean;
}
