/**
 * What each kernel line of module-BTF validation means. The messages are those of btf_parse_module()
 * in kernel/bpf/btf.c (identical in 6.1 and 6.12; see rules/kernel/kinds.ts for the checks that
 * print them): a failure is a type line `[id] KIND name` (with its details), a member line
 * `\tname type_id=T bits_offset=O`, a DATASEC entry line, or a plain line, followed by the message.
 */
import { KIND_NAMES } from '../btf/kinds.js';
import { errnoLabel } from '../report/model.js';
import { FailureGroup } from './parse.js';

/**
 * What failed: a type, a member (or DATASEC entry), an enum value, the header or string section,
 * a modifier chain; 'message' when only the kernel's message is in the paste (not the line naming
 * its subject); 'none' when the log holds no `BPF:` line of the failure at all.
 */
export type FailureKind = 'type' | 'member' | 'enum-value' | 'header' | 'string-section' | 'chain' | 'message' | 'none';

/**
 * Root causes: the ids lib/diagnose uses, and two only a log tells: 'vmlinux-btf' (the kernel's own
 * BTF is invalid, so every module fails) and 'toolchain-newer' (BTF a newer pahole/compiler wrote,
 * with kinds or flags this kernel does not know).
 */
export type CauseId = 'base-mismatch' | 'non-reproducible' | 'non-c-names' | 'corrupt' | 'checksum-mismatch' | 'vmlinux-btf' | 'toolchain-newer' | 'unknown';

/**
 * What is known about the kernel that printed the log (lib/explain/kernel.ts): whether it has a
 * kernel change (rules/kernel/changes.ts), true/false, or null when the log and the options do not
 * tell; the base's type count when --base was given.
 */
export interface KernelView {
  has(changeId: string): boolean | null;
  /** "6.1", "before 5.17"; null when nothing is known. */
  label: string | null;
  baseTypes: number | null;
}

export const UNKNOWN_KERNEL: KernelView = { has: () => null, label: null, baseTypes: null };

/**
 * Below this, a DATASEC entry's variable cannot be a module's own: a module's ids start after
 * every vmlinux type (tens of thousands on any kernel with BTF). Modules with a distilled base
 * (6.11+) count from their small .BTF.base instead, so for them only type_id=0 tells.
 */
export const VMLINUX_LOW_ID = 10000;

/** Detail lines kept per failure: the kernel prints one or two (`size=.. vlen=..`, `type_id=..`). */
const DETAILS_KEPT = 8;

export interface MemberRef {
  name: string;
  typeId: number;
  bitsOffset: number;
  bitfieldSize: number | null;
}

export interface InterpretedFailure {
  kind: FailureKind;
  /** The type the kernel named (`[id]`); null when it names none (member and enum-value lines). */
  typeId: number | null;
  typeKind: string | null;
  typeName: string | null;
  member: MemberRef | null;
  /** The kernel's message (`Invalid name`, `Invalid member bits_offset`, ...); null when none was printed. */
  message: string | null;
  /** Detail lines the kernel printed about the type (`size=152 vlen=2`, `type_id=94174`). */
  details: string[];
  /** The kernel check that printed it. */
  check: string | null;
  meaning: string;
  /** What the log alone suggests; the module file and base tell for sure. */
  likelyCause: CauseId;
  /** Why these lines can only be about the kernel's own BTF (vmlinux), when they show it; else null. */
  vmlinuxEvidence: string | null;
}


const TYPE_LINE = /^\[(\d+)\] ([A-Z][A-Z0-9_]*)(?: (.*))?$/;
const TYPE_PLAIN = /^\[(\d+)\] (Invalid kind:(\d+)|Invalid btf_info:([0-9a-f]+)|Invalid name_offset:(\d+)|meta_left:(\d+) meta_needed:(\d+))$/;
/** A type line without its id, as people retell it: `ENUM (anon), Invalid name`. */
const LOOSE_TYPE_LINE = /^([A-Z][A-Z0-9_]*) (\S[^,]*?)(?:,\s*(\S.*))?$/;
const MEMBER_LINE = /^(.*?)\s*type_id=(\d+)(?: bitfield_size=(\d+))? bits_offset=(\d+)$/;
const VSI_LINE = /^type_id=(\d+) offset=(\d+) size=(\d+)$/;
const ENUM_VALUE_OFFSET = /^Invalid name_offset:(\d+)$/;
const MEMBER_NAME_OFFSET = /^Invalid member name_offset:(\d+)$/;

const HEADER_MESSAGES: Record<string, string> = {
  'hdr_len not found': 'the BTF is shorter than the start of its header (btf_parse_hdr): the .BTF section is truncated or empty',
  'btf_header not found': 'the BTF is shorter than the header length it declares (btf_parse_hdr)',
  'Unsupported btf_header': 'the header is longer than the kernel knows and the extra bytes are not zero (btf_parse_hdr, errno -E2BIG): BTF from a newer toolchain or corrupt',
  'Invalid magic': 'the data does not start with the BTF magic 0xeB9F (btf_parse_hdr): not BTF, wrong byte order, or corrupt',
  'Unsupported version': 'the BTF version is not 1 (btf_parse_hdr, errno -ENOTSUPP)',
  'Unsupported flags': 'the header flags are not 0 (btf_parse_hdr, errno -ENOTSUPP)',
  'No data': 'the BTF has a header but no type or string data (btf_parse_hdr)',
  'Invalid section offset': 'the type or string section starts before the end of the header or runs past the data (btf_check_sec_info)',
  'Unsupported section found': 'the sections leave bytes unaccounted for, or one lies outside the data (btf_check_sec_info)',
  'Section overlap found': 'the type and string sections overlap or are out of order (btf_check_sec_info)',
  'Total section length too long': 'the sections together are longer than the data (btf_check_sec_info)',
  'Unaligned type_off': 'the type section does not start at a 4-byte boundary (btf_parse_type_sec)',
  'No type found': 'base BTF without types (btf_parse_type_sec)',
};

const STRING_MESSAGES: Record<string, string> = {
  'String section is not at the end': 'the string section is not the last thing in the BTF data (btf_parse_str_sec)',
  'Invalid string section': 'the string section is empty, longer than 16 MiB, or does not end with a NUL byte (btf_parse_str_sec)',
};

const CHAIN_MESSAGES: Record<string, string> = {
  'Max chain length or cycle detected': 'following a type through typedef/const/volatile/restrict/type_tag modifiers took more than 32 steps or looped (btf_check_type_tags, errno -ELOOP); with ids numbered for another base, references can land on modifiers that loop',
  "Type tags don't precede modifiers": 'a type_tag follows a typedef/const/volatile/restrict in a modifier chain (btf_check_type_tags)',
};

/** Kinds that must be anonymous (btf_ref_type_check_meta, array, func_proto). */
const ANONYMOUS_KINDS = new Set(['PTR', 'CONST', 'VOLATILE', 'RESTRICT', 'ARRAY', 'FUNC_PROTO']);
/** Kinds whose name the kernel checks as a C identifier. */
const IDENTIFIER_KINDS = new Set(['STRUCT', 'UNION', 'ENUM', 'ENUM64', 'FWD', 'TYPEDEF', 'FUNC', 'VAR']);

const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Characters that C never puts in a type name but Rust and C++ do: `closure-0`, `{impl#0}`, `Foo<T>`, `a::b`. */
const FOREIGN_NAME = /[-{}<>:#$ ,&*()[\]]/;
/** Compiler clone suffixes of function names (`foo.isra.0`), valid only on kernels that allow dots. */
const CLONE_SUFFIX = /\.(isra|constprop|part|cold|llvm)\b/;

/** What __btf_name_by_offset() prints for offset 0 and for an offset past the strings. */
export const ANON_NAME = '(anon)';
export const INVALID_NAME_OFFSET = '(invalid-name-offset)';

function nameVerdict(kindName: string, name: string, k: KernelView = UNKNOWN_KERNEL): { text: string; cause: CauseId } {
  if (name === ANON_NAME) {
    return { text: `its name offset is 0 (the kernel prints '(anon)'), but a ${kindName} must be named: the record is not what the compiler wrote`, cause: 'corrupt' };
  }
  if (name === INVALID_NAME_OFFSET) {
    return { text: 'its name offset lies past the end of the base\'s and the module\'s strings: offsets numbered for a longer base string table (a module built against a different vmlinux)', cause: 'base-mismatch' };
  }
  if (name === '') {
    return {
      text: 'its name offset is not 0 but points at an empty string (a NUL byte of the string table). A module\'s name offsets index the base\'s strings followed by its own; when they land on a NUL, the module was almost certainly built against a different vmlinux, whose string table has another length',
      cause: 'base-mismatch',
    };
  }
  if (FOREIGN_NAME.test(name)) {
    return {
      text: `'${name}' is not a C identifier; names like this come from Rust (or C++) types, which the kernel's BTF checks do not accept — build the module's BTF without them (e.g. pahole --lang_exclude=rust)`,
      cause: 'non-c-names',
    };
  }
  const dots = k.has('dots-in-names');
  if (name.includes('.') && dots !== true) {
    const which = dots === false ? `${kernelLabel(k)} predates the dots-in-names change (6.4; stable 5.10.186, 5.15.119, 6.1.36, 6.3.10) and rejects '.'` : 'kernels before the dots-in-names change reject \'.\'';
    if (kindName === 'FUNC' && CLONE_SUFFIX.test(name)) {
      return { text: `'${name}' carries a compiler clone suffix; ${which} — BTF from a newer pahole than this kernel expects`, cause: 'non-c-names' };
    }
    return {
      text: `'${name}' contains '.', which ${dots === false ? `${kernelLabel(k)} rejects (it predates the dots-in-names change)` : 'kernels before the dots-in-names change reject'}, and no C type has it: a name like this is usually the tail of a base string (such as '.data..percpu'), i.e. the name offset lands inside a string of a different base's table — a module built against another vmlinux`,
      cause: 'base-mismatch',
    };
  }
  if (!C_IDENTIFIER.test(name) && !(dots === true && /^[A-Za-z_.][A-Za-z0-9_.]*$/.test(name))) {
    return { text: `'${name}' is not a C identifier ([A-Za-z_][A-Za-z0-9_]*): the name offset likely lands inside another string`, cause: 'base-mismatch' };
  }
  if (k.has('ksym-name-len-512') === false && name.length >= 128) {
    return { text: `'${name}' is ${name.length} characters long; ${kernelLabel(k)} allows at most 127 (KSYM_NAME_LEN 128 before 6.1)`, cause: 'toolchain-newer' };
  }
  return { text: `'${name}' looks valid as printed; the kernel still rejected it (a name longer than KSYM_NAME_LEN, or bytes lost in the paste)`, cause: 'unknown' };
}

const TYPE_MESSAGES: Record<string, { text: string; cause: CauseId }> = {
  'vlen != 0': { text: 'this kind must have vlen 0, but its info word has a vlen', cause: 'corrupt' },
  'Invalid btf_info kind_flag': { text: 'this kind must not have kind_flag set', cause: 'corrupt' },
  'Invalid type_id': { text: 'it refers to a type id above BTF_MAX_TYPE (or, where void is not allowed, to 0)', cause: 'corrupt' },
  'type != 0': { text: 'a FWD must have type 0', cause: 'corrupt' },
  'size != 0': { text: 'an ARRAY must have size 0', cause: 'corrupt' },
  'Invalid elem': { text: 'the array element type is void or above BTF_MAX_TYPE', cause: 'corrupt' },
  'Invalid index': { text: 'the array index type is void or above BTF_MAX_TYPE', cause: 'corrupt' },
  'Unexpected size': { text: 'an enum size must be 1, 2, 4 or 8', cause: 'corrupt' },
  'Invalid func linkage': { text: 'a FUNC linkage must be static (0) or global (1)', cause: 'corrupt' },
  'Linkage not supported': { text: 'a VAR linkage must be static (0) or global allocated (1)', cause: 'corrupt' },
  'size == 0': { text: 'a DATASEC must have a size', cause: 'corrupt' },
  'Invalid btf_info size': { text: 'the DATASEC entries add up to more than its size', cause: 'corrupt' },
  'Invalid type_size': { text: 'a FLOAT size must be 2, 4, 8, 12 or 16', cause: 'corrupt' },
  'Invalid value': { text: 'a DECL_TAG value (its name) is empty', cause: 'base-mismatch' },
  'Invalid component_idx': { text: 'a DECL_TAG component index is below -1', cause: 'corrupt' },
  'vlen == 0': { text: 'a DATASEC without variables, which kernels before 5.12 reject (newer pahole versions write them): BTF from a toolchain newer than the kernel', cause: 'toolchain-newer' },
  'nr_bits exceeds 128': { text: 'an INT has more than 128 bits', cause: 'corrupt' },
  'nr_bits exceeds type_size': { text: 'an INT has more bits than its size holds', cause: 'corrupt' },
  'Unsupported encoding': { text: 'an INT encoding is none of signed/char/bool (errno -ENOTSUPP)', cause: 'corrupt' },
};

const MEMBER_MESSAGES: Record<string, { text: string; cause: CauseId }> = {
  'Invalid type_id': { text: 'the member\'s type is void (0) or an id above BTF_MAX_TYPE', cause: 'corrupt' },
  'Invalid member bits_offset': {
    text: 'members must come in increasing bit-offset order (a union\'s all at 0), and this one comes before the previous member. Rust reorders struct fields, so Rust types in BTF trip this; if it shows with no module line, or for every module, the base (vmlinux) BTF itself is invalid — the kernel validates the base lazily, at the first module load',
    cause: 'unknown',
  },
  'Member bits_offset exceeds its struct size': { text: 'the member starts beyond the end of its struct', cause: 'corrupt' },
};

const VSI_MESSAGES: Record<string, string> = {
  'Invalid type_id': 'the DATASEC entry refers to void or an id above BTF_MAX_TYPE',
  'Invalid offset': 'the DATASEC entries are out of order or one starts beyond the section size',
  'Invalid size': 'a DATASEC entry has size 0 or one larger than the section',
  'Invalid offset+size': 'a DATASEC entry ends beyond the section',
};

const KNOWN_KINDS = new Set<string>(KIND_NAMES);

/** The kernel change that taught the kernel each kind newer than 5.11's (rules/kernel/changes.ts). */
const KIND_CHANGE: Record<number, { change: string; since: string }> = {
  16: { change: 'float-kind', since: '5.13' },
  17: { change: 'decl-tag-kind', since: '5.16' },
  18: { change: 'type-tag-kind', since: '5.17' },
  19: { change: 'enum64', since: '6.0' },
};

function looseTypeLine(text: string): RegExpExecArray | null {
  const m = LOOSE_TYPE_LINE.exec(text);
  return m && KNOWN_KINDS.has(m[1]) && m[1] !== 'UNKNOWN' ? m : null;
}

/** True for a line that starts a failure: a type, member or DATASEC-entry line, or a plain message. */
export function startsFailure(text: string): boolean {
  const c = text.charCodeAt(0);
  if (c === 0x5b /* [ */) {
    if (TYPE_PLAIN.test(text)) return true;
    const typeLine = TYPE_LINE.exec(text);
    return typeLine !== null && KNOWN_KINDS.has(typeLine[2]);
  }
  if (text.includes('type_id=')) return VSI_LINE.test(text) || MEMBER_LINE.test(text);
  return ENUM_VALUE_OFFSET.test(text) || text in HEADER_MESSAGES || text in STRING_MESSAGES ||
    text in CHAIN_MESSAGES || text === 'Exceeded max num of types' || (c >= 0x41 && c <= 0x5a && looseTypeLine(text) !== null);
}

/** "kernel 6.1", "this kernel" */
function kernelLabel(k: KernelView): string {
  return k.label ? `kernel ${k.label}` : 'this kernel';
}

/**
 * A kind_flag message on a kind whose flag newer toolchains set: signed ENUMs (pahole 1.24+; kernels
 * before 6.0 reject the flag on ENUM) and attribute DECL_TAG/TYPE_TAG (kernels before 6.15).
 */
function kindFlagVerdict(kindName: string | null, k: KernelView): { text: string; cause: CauseId } {
  if (kindName === 'ENUM') {
    const contradiction = k.has('enum64') === true ? ` (${kernelLabel(k)} does not check an ENUM's kind_flag: the log comes from an older kernel than assumed)` : '';
    return {
      text: `an ENUM with kind_flag set (a signed enum, as pahole 1.24+ and clang write it); kernels before 6.0 (ENUM64) reject the flag, so this is BTF from a toolchain newer than the kernel${contradiction} — build the kernel's or module's BTF with the pahole the kernel was made for (or pahole --skip_encoding_btf_enum64 --btf_features without enum64)`,
      cause: 'toolchain-newer',
    };
  }
  if (kindName === 'DECL_TAG' || kindName === 'TYPE_TAG') {
    return {
      text: `a ${kindName} with kind_flag set (an attribute tag, as pahole 1.28+ writes it); kernels before 6.15 reject it, so this is BTF from a toolchain newer than the kernel`,
      cause: 'toolchain-newer',
    };
  }
  if (kindName !== null) return { text: 'this kind must not have kind_flag set: the type record is not what any toolchain writes (corrupt or misaligned type data)', cause: 'corrupt' };
  // Message only: which type the kernel complained about is not in the paste.
  const beforeEnum64 = k.has('enum64') === false;
  const tagsOk = k.has('tag-kflag') === true;
  if (tagsOk) {
    return { text: `a type whose kind may not carry kind_flag has it set (the line naming the type is not in the paste); ${kernelLabel(k)} accepts the flag wherever toolchains set it, so the type data is corrupt`, cause: 'corrupt' };
  }
  return {
    text: `a type whose kind may not carry kind_flag has it set; the line naming the type is not in the paste. ${beforeEnum64 ? `${kernelLabel(k)} is older than 6.0, which rejects kind_flag on an ENUM — a signed enum as pahole 1.24+ and clang write it` : 'Kernels before 6.0 reject kind_flag on an ENUM (a signed enum, as pahole 1.24+ and clang write it), kernels before 6.15 on DECL_TAG/TYPE_TAG attributes'}: BTF from a toolchain newer than the kernel (build with the pahole the kernel was made for, or pahole --skip_encoding_btf_enum64). On any other kind the type data is corrupt`,
    cause: 'toolchain-newer',
  };
}

/** "Invalid kind:K": a kind this kernel does not know. */
function unknownKindVerdict(typeId: number, kind: number, k: KernelView): { text: string; cause: CauseId } {
  const known = KIND_CHANGE[kind];
  if (known) {
    return {
      text: `type [${typeId}] has kind ${kind} (${KIND_NAMES[kind]}), which kernels before ${known.since} do not know: ${k.has(known.change) === true ? `${kernelLabel(k)} does know it, so the log comes from an older kernel than assumed; ` : ''}BTF from a toolchain newer than the kernel (build it with the pahole the kernel was made for)`,
      cause: 'toolchain-newer',
    };
  }
  return { text: `type [${typeId}] has kind ${kind}, which no kernel before 7.2 knows: the type section is misaligned or corrupt, or the BTF comes from a much newer toolchain`, cause: 'corrupt' };
}

/** "Invalid btf_info:X": info bits no kind uses; before 5.13 a 5-bit kind (FLOAT and later) shows here. */
function btfInfoVerdict(typeId: number, hex: string, k: KernelView): { text: string; cause: CauseId } {
  const info = parseInt(hex, 16);
  const kind5 = (info >>> 24) & 0x1f;
  if ((info & 0x60e00000) === 0 && KIND_CHANGE[kind5] && k.has('float-kind') !== true) {
    return {
      text: `type [${typeId}]'s info word 0x${hex} has kind ${kind5} (${KIND_NAMES[kind5]}), which kernels before 5.13 cannot even decode (their kind field has 4 bits): BTF from a toolchain newer than the kernel`,
      cause: 'toolchain-newer',
    };
  }
  return { text: `type [${typeId}]'s info word 0x${hex} has bits set that no kind uses: the type section is misaligned or corrupt`, cause: 'corrupt' };
}

/** Why a DATASEC entry or a type id can only be vmlinux's, or null. */
function vmlinuxIdEvidence(g: FailureGroup, what: 'entry' | 'type', id: number, k: KernelView): string | null {
  if (what === 'entry' && id === 0) return 'a DATASEC entry with type_id=0: a module\'s DATASEC lists its own variables, so only vmlinux\'s can be printed like this';
  // A module with a distilled base (6.11+) counts its ids from its small .BTF.base: a failure
  // closed by a module's line may be one unless the kernel predates 6.11; lines no closing line
  // claims, unless the kernel is known to read distilled bases.
  const distilled = k.has('distilled-base');
  const distilledPossible = distilled === true || (g.module !== null && distilled !== false);
  if (distilledPossible) return null;
  if (k.baseTypes !== null && id < k.baseTypes) {
    return what === 'entry'
      ? `a DATASEC entry refers to type ${id}, below the base's ${k.baseTypes} types: a module's variables come after every vmlinux type, so this is vmlinux's DATASEC`
      : `type [${id}] is below the base's ${k.baseTypes} types: a module's own types are numbered after vmlinux's, so this is a vmlinux type`;
  }
  if (what === 'entry' && k.baseTypes === null && id < VMLINUX_LOW_ID) {
    return `a DATASEC entry refers to type ${id}: a module's variables come after every vmlinux type (tens of thousands), so this is vmlinux's DATASEC`;
  }
  return null;
}

/** Interprets one failure group's `BPF:` lines, on the kernel `k` as far as it is known. */
export function interpretFailure(g: FailureGroup, k: KernelView = UNKNOWN_KERNEL): InterpretedFailure {
  const out: InterpretedFailure = {
    kind: 'none', typeId: null, typeKind: null, typeName: null, member: null, message: null, details: [], check: null,
    meaning: '', likelyCause: 'unknown', vmlinuxEvidence: null,
  };
  const texts = g.bpf;
  // The subject: the last type, member or DATASEC-entry line; the message is the last line after it.
  let subject = -1;
  let subjectKind: 'type' | 'member' | 'vsi' | null = null;
  let inlineMessage: string | null = null;
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i].trim();
    const plain = TYPE_PLAIN.exec(t);
    if (plain) {
      out.kind = 'type';
      out.typeId = Number(plain[1]);
      out.message = plain[2];
      subject = i;
      subjectKind = null;
      continue;
    }
    const typeLine = TYPE_LINE.exec(t);
    if (typeLine && KNOWN_KINDS.has(typeLine[2])) {
      subject = i;
      subjectKind = 'type';
      out.typeId = Number(typeLine[1]);
      out.typeKind = typeLine[2];
      out.typeName = (typeLine[3] ?? '').trimEnd();
      out.member = null;
      inlineMessage = null;
      continue;
    }
    const vsi = VSI_LINE.exec(t);
    if (vsi) {
      subject = i;
      subjectKind = 'vsi';
      out.member = { name: '', typeId: Number(vsi[1]), bitsOffset: Number(vsi[2]), bitfieldSize: null };
      continue;
    }
    const member = MEMBER_LINE.exec(t);
    if (member) {
      subject = i;
      subjectKind = 'member';
      out.member = { name: member[1].trim(), typeId: Number(member[2]), bitsOffset: Number(member[4]), bitfieldSize: member[3] !== undefined ? Number(member[3]) : null };
      continue;
    }
    const loose = looseTypeLine(t);
    if (loose) {
      subject = i;
      subjectKind = 'type';
      out.typeId = null;
      out.typeKind = loose[1];
      out.typeName = loose[2].trim();
      out.member = null;
      inlineMessage = loose[3]?.trim() || null;
      continue;
    }
  }
  const after = texts.slice(subject + 1).map((t) => t.trim()).filter((t) => t !== '');
  if (inlineMessage) after.push(inlineMessage);
  const lastLine = after.length ? after[after.length - 1] : null;

  if (out.message && subjectKind === null && out.typeId !== null) {
    // `[id] Invalid kind:K` and friends, printed by btf_check_meta before any kind check.
    out.check = 'btf_check_meta';
    const m = out.message;
    if (m.startsWith('Invalid name_offset')) {
      out.meaning = `type [${out.typeId}]'s name offset ${m.split(':')[1]} lies beyond the end of the base's and the module's strings together: the module's offsets were numbered for a longer base string table (built against a different vmlinux), or the BTF is corrupt`;
      out.likelyCause = 'base-mismatch';
    } else if (m.startsWith('Invalid kind')) {
      const v = unknownKindVerdict(out.typeId, Number(m.split(':')[1]), k);
      out.meaning = v.text;
      out.likelyCause = v.cause;
    } else if (m.startsWith('Invalid btf_info')) {
      const v = btfInfoVerdict(out.typeId, m.split(':')[1], k);
      out.meaning = v.text;
      out.likelyCause = v.cause;
    } else {
      out.meaning = `the type section ends in the middle of type [${out.typeId}] (${m}): truncated or corrupt BTF`;
      out.likelyCause = 'corrupt';
    }
    out.vmlinuxEvidence = vmlinuxIdEvidence(g, 'type', out.typeId, k);
    return out;
  }

  if (subjectKind === 'type') {
    out.kind = 'type';
    out.message = lastLine && after.length > 0 ? lastLine : null;
    out.details = after.slice(0, Math.min(DETAILS_KEPT, Math.max(0, after.length - 1)));
    const kindName = out.typeKind!;
    const name = out.typeName ?? '';
    const label = `${kindName}${out.typeId !== null ? ` [${out.typeId}]` : ''}${name ? ` '${name}'` : ''}`;
    out.check = `btf_${kindName.toLowerCase()}_check_meta`;
    if (out.typeId !== null) out.vmlinuxEvidence = vmlinuxIdEvidence(g, 'type', out.typeId, k);
    if (out.message === 'Invalid name') {
      if ((kindName === 'ENUM' || kindName === 'ENUM64') && (C_IDENTIFIER.test(name) || name === ANON_NAME)) {
        // The enum's own name passes (an anonymous enum is allowed); btf_enum_check_meta then checks every value's name.
        out.kind = 'enum-value';
        out.meaning = name === ANON_NAME
          ? `${label}: an anonymous enum (name offset 0, which the kernel allows), so the 'Invalid name' is about one of its enumerators: btf_enum_check_meta checks every value's name and prints the enum's line for the first bad one. A module's value names index the base's strings followed by its own; an empty or partial one means the module was built against a different vmlinux`
          : `${label}: the enum's own name is valid, so one of its value names is empty or not a C identifier (btf_enum_check_meta checks every value). A module's value names index the base's strings followed by its own; an empty or partial one means the module was built against a different vmlinux`;
        out.likelyCause = 'base-mismatch';
      } else if (ANONYMOUS_KINDS.has(kindName)) {
        out.meaning = `${label}: a ${kindName} must be anonymous, but its name offset is not 0 — the record's fields are not what the compiler wrote (misaligned or corrupt type data)`;
        out.likelyCause = 'corrupt';
      } else if (kindName === 'TYPE_TAG') {
        out.meaning = `${label}: a type tag's value (its name) must not be empty`;
        out.likelyCause = name === '' ? 'base-mismatch' : 'unknown';
      } else if (kindName === 'DATASEC') {
        const v = nameVerdict(kindName, name, k);
        out.meaning = `${label}: the section name is invalid; ${v.text}`;
        out.likelyCause = v.cause;
      } else {
        const v = nameVerdict(kindName, name, k);
        out.meaning = `${label}: the kernel accepts only C identifiers as ${kindName} names (btf_name_valid_identifier); ${v.text}`;
        out.likelyCause = IDENTIFIER_KINDS.has(kindName) ? v.cause : 'unknown';
      }
    } else if (out.message === 'Invalid btf_info kind_flag') {
      const v = kindFlagVerdict(kindName, k);
      out.meaning = `${label}: ${v.text}`;
      out.likelyCause = v.cause;
    } else if (out.message && TYPE_MESSAGES[out.message]) {
      const m = TYPE_MESSAGES[out.message];
      out.meaning = `${label}: ${m.text}`;
      out.likelyCause = m.cause;
    } else if (out.message && /^Invalid int_data:/.test(out.message)) {
      out.meaning = `${label}: an INT's data word has bits set outside encoding/offset/bits`;
      out.likelyCause = 'corrupt';
    } else if (out.message && /^meta_left:\d+ meta_needed:\d+$/.test(out.message)) {
      out.meaning = `${label}: the type section ends before this type's ${out.message.split(' ')[1].split(':')[1]} bytes of members/values: truncated or corrupt BTF`;
      out.likelyCause = 'corrupt';
    } else if (out.message) {
      out.meaning = `${label}: the kernel says '${out.message}'`;
    } else {
      out.meaning = `${label}: the kernel's message about this type is not in the log (lines lost in the paste)`;
    }
    return out;
  }

  if (subjectKind === 'member' || subjectKind === 'vsi') {
    out.kind = 'member';
    out.message = lastLine;
    const m = out.member!;
    if (subjectKind === 'vsi') {
      out.check = 'btf_datasec_check_meta';
      out.meaning = `a DATASEC entry (type_id=${m.typeId}, offset=${m.bitsOffset}): ${VSI_MESSAGES[out.message ?? ''] ?? `the kernel says '${out.message}'`}`;
      out.likelyCause = 'corrupt';
      out.vmlinuxEvidence = vmlinuxIdEvidence(g, 'entry', m.typeId, k);
      return out;
    }
    out.check = 'btf_struct_check_meta';
    const label = `member ${m.name === ANON_NAME ? '(anonymous)' : m.name ? `'${m.name}'` : '(empty name)'} (type_id=${m.typeId}, bits_offset=${m.bitsOffset}) of a struct or union (the kernel does not print which)`;
    const nameOff = out.message ? MEMBER_NAME_OFFSET.exec(out.message) : null;
    if (out.message === 'Invalid name') {
      const v = nameVerdict('STRUCT', m.name, k);
      out.meaning = `${label}: member names must be C identifiers; ${v.text}`;
      out.likelyCause = v.cause;
    } else if (nameOff) {
      out.meaning = `${label}: its name offset ${nameOff[1]} lies beyond the end of the base's and the module's strings: offsets numbered for a longer base string table (a module built against a different vmlinux), or corrupt BTF`;
      out.likelyCause = 'base-mismatch';
    } else if (out.message && MEMBER_MESSAGES[out.message]) {
      out.meaning = `${label}: ${MEMBER_MESSAGES[out.message].text}`;
      out.likelyCause = MEMBER_MESSAGES[out.message].cause;
    } else {
      out.meaning = `${label}: ${out.message ? `the kernel says '${out.message}'` : 'the kernel\'s message is not in the log'}`;
    }
    return out;
  }

  // Plain lines: no type, member or entry line before them.
  const text = lastLine ?? '';
  const enumOff = ENUM_VALUE_OFFSET.exec(text);
  out.message = text || null;
  if (enumOff) {
    out.kind = 'enum-value';
    out.check = 'btf_enum_check_meta';
    out.meaning = `an enum value's name offset ${enumOff[1]} lies beyond the end of the base's and the module's strings (the kernel does not print which enum): offsets numbered for a longer base string table — a module built against a different vmlinux — or corrupt BTF`;
    out.likelyCause = 'base-mismatch';
  } else if (HEADER_MESSAGES[text]) {
    out.kind = 'header';
    out.check = text.startsWith('Unaligned') || text === 'No type found' ? 'btf_parse_type_sec' : 'btf_parse_hdr';
    out.meaning = HEADER_MESSAGES[text];
    out.likelyCause = 'corrupt';
  } else if (STRING_MESSAGES[text]) {
    out.kind = 'string-section';
    out.check = 'btf_parse_str_sec';
    out.meaning = STRING_MESSAGES[text];
    out.likelyCause = 'corrupt';
  } else if (CHAIN_MESSAGES[text]) {
    out.kind = 'chain';
    out.check = 'btf_check_type_tags';
    out.meaning = CHAIN_MESSAGES[text];
    out.likelyCause = text.startsWith('Max chain') ? 'base-mismatch' : 'corrupt';
  } else if (text === 'Exceeded max num of types') {
    out.kind = 'type';
    out.check = 'btf_add_type';
    out.meaning = 'the base and the module together have more types than the kernel allows (BTF_MAX_TYPE)';
    out.likelyCause = 'corrupt';
  } else if (text !== '') {
    // Only the kernel's message is in the paste: explain the message itself.
    out.kind = 'message';
    const only = 'only the kernel\'s message is in the paste, not the line before it naming the type, member or entry';
    if (text === 'Invalid btf_info kind_flag') {
      const v = kindFlagVerdict(null, k);
      out.check = 'btf_check_meta (a kind\'s check_meta)';
      out.meaning = `'${text}': ${v.text}`;
      out.likelyCause = v.cause;
    } else if (text === 'Invalid name') {
      out.check = 'btf_name_valid_identifier';
      out.meaning = `'${text}': a type, member or enumerator name is empty or not a C identifier (${only}). For a module, an empty or partial name almost always means its name offsets were numbered for a different vmlinux's strings; Rust-style names mean Rust types in the BTF`;
      out.likelyCause = 'base-mismatch';
    } else if (TYPE_MESSAGES[text]) {
      out.check = 'a kind\'s check_meta';
      out.meaning = `'${text}': ${TYPE_MESSAGES[text].text} (${only})`;
      out.likelyCause = TYPE_MESSAGES[text].cause;
    } else if (MEMBER_MESSAGES[text]) {
      out.check = 'btf_struct_check_meta';
      out.meaning = `'${text}': a struct or union member: ${MEMBER_MESSAGES[text].text} (${only})`;
      out.likelyCause = MEMBER_MESSAGES[text].cause;
    } else if (VSI_MESSAGES[text]) {
      out.check = 'btf_datasec_check_meta';
      out.meaning = `'${text}': a DATASEC entry: ${VSI_MESSAGES[text]} (${only})`;
      out.likelyCause = 'corrupt';
    } else {
      out.check = null;
      out.meaning = `the kernel printed '${text}' for this failure (${only}); btfcheck does not know this message`;
    }
  } else {
    out.kind = 'none';
    out.message = null;
    out.meaning = noLinesMeaning(g, k);
  }
  return out;
}

function noLinesMeaning(g: FailureGroup, k: KernelView): string {
  if (g.closedByMismatchLine) {
    return `${k.label ? `${kernelLabel(k)}, ` : ''}6.3+ with CONFIG_MODULE_ALLOW_BTF_MISMATCH=y prints this once per boot, naming neither the module nor the check; the module loaded without BTF. Run btfcheck check on the installed modules to find which and why`;
  }
  const e = g.errno;
  const errno = e !== null ? `errno ${errnoLabel(e)}` : 'an error';
  const common = e === -22
    ? ' -22 (EINVAL) is what any failed check returns; by far the most common reason is a module built against a different vmlinux than the running one (the distro shipped image and modules from different builds, or a DKMS build used the wrong vmlinux)'
    : '';
  return `the kernel rejected the module's BTF with ${errno} but the log holds none of the BPF: lines that say which check failed (cut from the paste, or filtered by the log level).${common}`;
}
