/**
 * What the per-kind checks (rules/kernel/kinds.ts) see of the kernel's btf_verifier_env while
 * btf_check_all_metas() walks a module's type section. Strings are byte strings (see text.ts).
 */
import type { KernelRules } from '../../rules/kernel/versions.js';

/**
 * The btf_type being checked. One object is reused for every type of a walk (no per-type
 * allocation); checks must not keep it.
 */
export interface TypeCursor {
  /** Byte offset of the struct btf_type in the module's raw BTF; kind data follows at off + 12. */
  off: number;
  nameOff: number;
  info: number;
  kind: number;
  vlen: number;
  kflag: boolean;
  /** The size/type union, as a u32. */
  sizeType: number;
}

export interface MetaEnv {
  readonly rules: KernelRules;
  /** u32 / s32 at a byte offset of the module's raw BTF (in bounds: the kernel checked meta_left). */
  u32(off: number): number;
  i32(off: number): number;

  /** btf_name_offset_valid(). */
  nameOffsetValid(nameOff: number): boolean;
  /** First byte of btf_str_by_offset(), or -1 when it returns NULL. */
  strFirstByte(nameOff: number): number;
  /**
   * btf_name_valid_identifier() (offset must be valid). dotOk: the caller allowed '.' before
   * dots were allowed everywhere (__btf_name_valid(..., true) for VAR names).
   */
  nameValidIdentifier(nameOff: number, dotOk?: boolean): boolean;
  /** btf_name_valid_section() (offset must be valid). */
  nameValidSection(nameOff: number): boolean;
  /** __btf_name_by_offset(): "(anon)" for 0, "(invalid-name-offset)" when out of range. */
  nameByOffset(nameOff: number): string;

  /** btf_verifier_log(env, fmt, ...): one already-formatted fragment. */
  log(text: string): void;
  /** btf_verifier_log_type (details = true) / btf_verifier_log_basic (false); msg null = the fmt NULL trace call. */
  logType(t: TypeCursor, details: boolean, msg: string | null): void;
  /** btf_verifier_log_member for the btf_member at byte offset memberOff. */
  logMember(t: TypeCursor, memberOff: number, msg: string | null): void;
  /** btf_verifier_log_vsi for the btf_var_secinfo at byte offset vsiOff. */
  logVsi(t: TypeCursor, vsiOff: number, msg: string | null): void;
}
