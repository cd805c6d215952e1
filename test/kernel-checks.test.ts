/**
 * btf_parse_module() message by message, written from kernel/bpf/btf.c of Debian 6.1.192 and
 * 6.12.117 with hand-built BTF: one test per distinct kernel message. Every fragment of a
 * btf_verifier_log* call is its own `BPF:` line (pr_err per fragment), so a type-level error is
 *   "[id] KIND name " + log_details pieces + " " + message + "\n"  →  5+ lines.
 * 6.12 with CONFIG_MODULE_ALLOW_BTF_MISMATCH=y drops the type- and member-level lines (but not
 * plain btf_verifier_log lines nor DATASEC entry lines) and prints the once-per-boot mismatch line
 * instead of `failed to validate module`.
 */
import { describe, expect, it } from 'vitest';
import { Btf } from '../lib/btf/btf.js';
import { Kind, KIND_NAMES } from '../lib/btf/kinds.js';
import { emulateModuleLoad, kernelSeries, KERNEL_VERSIONS, KernelVerdict, KernelVersion } from '../lib/kernel/index.js';
import { KIND_OPS } from '../rules/kernel/kinds.js';
import { KERNEL_RULES } from '../rules/kernel/versions.js';
import { addEveryKind, BtfBuilder, smallBase } from './helpers/btf-builder.js';

const MOD = 'testmod';
const MISMATCH = 'Kernel module BTF mismatch detected, BTF debug info may be unavailable for some modules';
const failed = (errno: number): string => `failed to validate module [${MOD}] BTF: ${errno}`;

const { builder: baseBuilder, ids } = smallBase();
const base = Btf.parseBase(baseBuilder.build());
/** The first module type id: the base's nr_types (void included). */
const FIRST = base.nrTypes;

function emulate(mod: Uint8Array, version: KernelVersion, allowBtfMismatch = true, firstRejectionInBoot?: boolean): KernelVerdict {
  return emulateModuleLoad(base, mod, MOD, { version, allowBtfMismatch, firstRejectionInBoot });
}
const split = (): BtfBuilder => BtfBuilder.splitOf(baseBuilder);
const bpf = (...lines: string[]): string[] => lines.map((l) => `BPF: ${l}`);

/** btf_verifier_log_type: "[id] KIND name " + details (already BPF: lines) + " " + msg + "\n". */
const typeLines = (head: string, details: string[], msg: string): string[] => [...bpf(`${head} `), ...details, ...bpf(' ', msg, '')];
/** btf_verifier_log_basic: no details, no trailing space after the name. */
const basicLines = (head: string, msg: string): string[] => bpf(head, ' ', msg, '');
/** btf_verifier_log_member in CHECK_META: the member line, " ", msg, "\n". */
const memberLines = (member: string, msg: string): string[] => bpf(`\t${member}`, ' ', msg, '');

type Level = 'type' | 'plain';
interface Case {
  name: string;
  build: () => Uint8Array;
  errno: number;
  /** The BPF: lines 6.1 prints (and 6.12 with ALLOW_BTF_MISMATCH=n). */
  lines: string[];
  /** 'type': 6.12 with ALLOW_BTF_MISMATCH=y prints none of them; 'plain': it prints them too. */
  level: Level;
}

/** Asserts one case in both kernels, with and without ALLOW_BTF_MISMATCH. */
function expectCase(c: Case): void {
  const mod = c.build();
  for (const allow of [true, false]) {
    const v61 = emulate(mod, '6.1', allow);
    expect(v61, `6.1 allow=${allow}`).toEqual({ accepted: false, errno: c.errno, loads: allow, log: [...c.lines, failed(c.errno)] });
    const v612 = emulate(mod, '6.12', allow);
    const lines612 = allow && c.level === 'type' ? [] : c.lines;
    expect(v612, `6.12 allow=${allow}`).toEqual({
      accepted: false, errno: c.errno, loads: allow, log: [...lines612, allow ? MISMATCH : failed(c.errno)],
    });
  }
}

function cases(title: string, list: Case[]): void {
  describe(title, () => {
    for (const c of list) it(c.name, () => expectCase(c));
  });
}

/** A module of one raw type, whose name/extra the case sets. */
function oneType(make: (b: BtfBuilder) => void): () => Uint8Array {
  return () => {
    const b = split();
    make(b);
    return b.build();
  };
}

/** Raw BTF: a 24-byte header with the given fields, then `body`. */
function rawBtf(h: { magic?: number; version?: number; flags?: number; hdrLen?: number; typeOff?: number; typeLen?: number; strOff?: number; strLen?: number }, body: number[] = [], total?: number): Uint8Array {
  const out = new Uint8Array(total ?? 24 + body.length);
  const v = new DataView(out.buffer);
  if (out.length >= 2) v.setUint16(0, h.magic ?? 0xeb9f, true);
  if (out.length >= 3) out[2] = h.version ?? 1;
  if (out.length >= 4) out[3] = h.flags ?? 0;
  const fields = [h.hdrLen ?? 24, h.typeOff ?? 0, h.typeLen ?? 0, h.strOff ?? 0, h.strLen ?? body.length];
  fields.forEach((f, i) => { if (out.length >= 8 + i * 4) v.setUint32(4 + i * 4, f >>> 0, true); });
  out.set(body.slice(0, Math.max(0, out.length - 24)), 24);
  return out;
}

describe('accepting', () => {
  it('accepts valid split BTF of every kind silently in both kernels', () => {
    const b = split();
    addEveryKind(b, ids);
    const mod = b.build();
    for (const version of KERNEL_VERSIONS) {
      for (const allow of [true, false]) {
        expect(emulate(mod, version, allow)).toEqual({ accepted: true, errno: 0, loads: true, log: [] });
      }
    }
  });

  it('accepts split BTF with no types and no strings of its own', () => {
    for (const version of KERNEL_VERSIONS) expect(emulate(rawBtf({ strLen: 0 }), version).accepted).toBe(true);
  });

  it('does not validate an empty .BTF (btf_data_size == 0): no lines, not accepted, module loads', () => {
    for (const version of KERNEL_VERSIONS) {
      expect(emulate(new Uint8Array(0), version, false)).toEqual({ accepted: false, errno: 0, loads: true, log: [] });
    }
  });

  it('accepts Latin-1 letters in identifiers (the kernel ctype table is Latin-1)', () => {
    const b = split();
    b.struct('caf\u00e9', 4, [{ name: '\u00fcber', type: ids.int, bitsOffset: 0 }]);
    for (const version of KERNEL_VERSIONS) expect(emulate(b.build(), version).accepted).toBe(true);
  });

  it('accepts identifiers of KSYM_NAME_LEN (512) bytes and rejects 513', () => {
    const ok = split();
    ok.fwd('a'.repeat(512));
    const long = split();
    long.fwd('a'.repeat(513));
    for (const version of KERNEL_VERSIONS) {
      expect(emulate(ok.build(), version).accepted).toBe(true);
      expect(emulate(long.build(), version, false).log.slice(-2)).toEqual(['BPF: ', failed(-22)]);
    }
  });
});

cases('header and sections (btf_parse_hdr, btf_check_sec_info, btf_parse_str_sec)', [
  { name: 'hdr_len not found', level: 'plain', errno: -22, build: () => new Uint8Array([0x9f, 0xeb, 1, 0, 24, 0, 0]), lines: bpf('hdr_len not found') },
  { name: 'btf_header not found', level: 'plain', errno: -22, build: () => rawBtf({ hdrLen: 32 }, [], 28), lines: bpf('btf_header not found') },
  {
    name: 'Unsupported btf_header (-E2BIG)', level: 'plain', errno: -7,
    build: () => { const r = rawBtf({ hdrLen: 28 }, [0, 0, 0, 0]); r[26] = 1; return r; }, lines: bpf('Unsupported btf_header'),
  },
  { name: 'Invalid magic', level: 'plain', errno: -22, build: () => rawBtf({ magic: 0xeb9e }), lines: bpf('Invalid magic') },
  { name: 'Unsupported version (-ENOTSUPP)', level: 'plain', errno: -524, build: () => rawBtf({ version: 2 }), lines: bpf('Unsupported version') },
  { name: 'Unsupported flags (-ENOTSUPP)', level: 'plain', errno: -524, build: () => rawBtf({ flags: 1 }), lines: bpf('Unsupported flags') },
  {
    name: 'Invalid section offset', level: 'plain', errno: -22,
    build: () => rawBtf({ typeOff: 100, typeLen: 0, strOff: 0, strLen: 4 }, [0x61, 0, 0x62, 0]), lines: bpf('Invalid section offset'),
  },
  {
    name: 'Unsupported section found (a gap before the first section)', level: 'plain', errno: -22,
    build: () => rawBtf({ typeOff: 4, typeLen: 0, strOff: 4, strLen: 4 }, [0, 0, 0, 0, 0x61, 0, 0x62, 0]), lines: bpf('Unsupported section found'),
  },
  {
    name: 'Unsupported section found (data after the known sections)', level: 'plain', errno: -22,
    build: () => rawBtf({ typeOff: 0, typeLen: 0, strOff: 0, strLen: 2 }, [0x61, 0, 0, 0]), lines: bpf('Unsupported section found'),
  },
  {
    name: 'Section overlap found', level: 'plain', errno: -22,
    build: () => rawBtf({ typeOff: 0, typeLen: 4, strOff: 2, strLen: 2 }, [0, 0, 0x61, 0]), lines: bpf('Section overlap found'),
  },
  {
    name: 'Total section length too long', level: 'plain', errno: -22,
    build: () => rawBtf({ typeOff: 0, typeLen: 0, strOff: 0, strLen: 8 }, [0x61, 0, 0x62, 0]), lines: bpf('Total section length too long'),
  },
  {
    name: "sections are sorted by (int)(off1 - off2): offsets 2 GiB apart compare backwards", level: 'plain', errno: -22,
    // A true sort would check the string section first and say "Total section length too long".
    build: () => rawBtf({ typeOff: 0x90000000, typeLen: 0, strOff: 0, strLen: 8 }, [0x61, 0, 0x62, 0]), lines: bpf('Invalid section offset'),
  },
  {
    name: 'String section is not at the end', level: 'plain', errno: -22,
    build: () => rawBtf({ typeOff: 4, typeLen: 12, strOff: 0, strLen: 4 }, [0x61, 0, 0x62, 0, ...new Array(12).fill(0)]),
    lines: bpf('String section is not at the end'),
  },
  {
    name: 'Invalid string section (last byte is not NUL)', level: 'plain', errno: -22,
    build: () => rawBtf({ strLen: 4 }, [0x61, 0, 0x62, 0x63]), lines: bpf('Invalid string section'),
  },
  {
    name: 'a hdr_len below 24 copies only that much of the header (later fields read as zero)', level: 'plain', errno: -22,
    // hdr_len 4: hdr->hdr_len stays 0, so the sections must tile the whole data, and cannot.
    build: () => rawBtf({ hdrLen: 4 }, [0, 0]), lines: bpf('Unsupported section found'),
  },
]);

/** A module whose type section holds exactly the given u32 words (strings: one name 'nm'). */
function rawTypes(words: number[], extraBytes: number[] = []): () => Uint8Array {
  return () => {
    const strs = [0x6e, 0x6d, 0]; // "nm" at the module's first string offset
    const typeBytes = new Uint8Array(words.length * 4 + extraBytes.length);
    const v = new DataView(typeBytes.buffer);
    words.forEach((w, i) => v.setUint32(i * 4, w >>> 0, true));
    typeBytes.set(extraBytes, words.length * 4);
    return rawBtf({ typeOff: 0, typeLen: typeBytes.length, strOff: typeBytes.length, strLen: strs.length }, [...typeBytes, ...strs]);
  };
}
const info = (kind: number, vlen = 0, kflag = false): number => ((kflag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0;

cases('btf_check_meta (every type)', [
  {
    name: '[N] meta_left:N meta_needed:12', level: 'plain', errno: -22,
    build: rawTypes([0, info(Kind.PTR), ids.int], [0, 0, 0, 0, 0, 0, 0, 0]), lines: bpf(`[${FIRST + 1}] meta_left:8 meta_needed:12`),
  },
  { name: '[N] Invalid btf_info:%x', level: 'plain', errno: -22, build: rawTypes([0, 0x02100000, 1]), lines: bpf(`[${FIRST}] Invalid btf_info:2100000`) },
  { name: '[N] Invalid kind:N (above BTF_KIND_MAX)', level: 'plain', errno: -22, build: rawTypes([0, info(20), 1]), lines: bpf(`[${FIRST}] Invalid kind:20`) },
  { name: '[N] Invalid kind:0 (UNKN)', level: 'plain', errno: -22, build: rawTypes([0, info(0), 1]), lines: bpf(`[${FIRST}] Invalid kind:0`) },
  {
    name: '[N] Invalid name_offset:N', level: 'plain', errno: -22,
    build: rawTypes([baseBuilder.strLen + 3, info(Kind.PTR), 1]), lines: bpf(`[${FIRST}] Invalid name_offset:${baseBuilder.strLen + 3}`),
  },
]);

const INT_DETAILS = (size: number, off: number, bits: number, enc: string): string => `size=${size} bits_offset=${off} nr_bits=${bits} encoding=${enc}`;
const I = `[${FIRST}]`;

cases('INT (btf_int_check_meta)', [
  {
    name: 'meta_left:N meta_needed:4', level: 'type', errno: -22,
    build: oneType((b) => b.add({ nameOff: b.str('myint'), kind: Kind.INT, sizeOrType: 4 })), lines: basicLines(`${I} INT myint`, 'meta_left:0 meta_needed:4'),
  },
  {
    name: 'vlen != 0', level: 'type', errno: -22,
    build: oneType((b) => b.add({ nameOff: b.str('myint'), kind: Kind.INT, vlen: 1, sizeOrType: 4, extra: [32] })),
    lines: typeLines(`${I} INT myint`, bpf(INT_DETAILS(4, 0, 32, '(none)')), 'vlen != 0'),
  },
  {
    name: 'Invalid btf_info kind_flag', level: 'type', errno: -22,
    build: oneType((b) => b.add({ nameOff: b.str('myint'), kind: Kind.INT, kflag: true, sizeOrType: 4, extra: [32] })),
    lines: typeLines(`${I} INT myint`, bpf(INT_DETAILS(4, 0, 32, '(none)')), 'Invalid btf_info kind_flag'),
  },
  {
    name: 'Invalid int_data:%x', level: 'type', errno: -22,
    build: oneType((b) => b.add({ nameOff: b.str('myint'), kind: Kind.INT, sizeOrType: 4, extra: [0x10000020] })),
    lines: basicLines(`${I} INT myint`, 'Invalid int_data:10000020'),
  },
  {
    name: 'nr_bits exceeds 128', level: 'type', errno: -22,
    build: oneType((b) => b.int('myint', 32, 200)), lines: typeLines(`${I} INT myint`, bpf(INT_DETAILS(32, 0, 200, '(none)')), 'nr_bits exceeds 128'),
  },
  {
    name: 'nr_bits exceeds type_size', level: 'type', errno: -22,
    build: oneType((b) => b.int('myint', 2, 16, 1, 1)), lines: typeLines(`${I} INT myint`, bpf(INT_DETAILS(2, 1, 16, 'SIGNED')), 'nr_bits exceeds type_size'),
  },
  {
    name: 'Unsupported encoding (-ENOTSUPP)', level: 'type', errno: -524,
    build: oneType((b) => b.int('myint', 4, 32, 3)), lines: typeLines(`${I} INT myint`, bpf(INT_DETAILS(4, 0, 32, 'UNKN')), 'Unsupported encoding'),
  },
]);

cases('PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG (btf_ref_type_check_meta)', [
  {
    name: 'vlen != 0', level: 'type', errno: -22, build: oneType((b) => b.add({ kind: Kind.PTR, vlen: 1, sizeOrType: ids.int })),
    lines: typeLines(`${I} PTR (anon)`, bpf(`type_id=${ids.int}`), 'vlen != 0'),
  },
  {
    name: 'Invalid btf_info kind_flag', level: 'type', errno: -22, build: oneType((b) => b.add({ kind: Kind.VOLATILE, kflag: true, sizeOrType: ids.int })),
    lines: typeLines(`${I} VOLATILE (anon)`, bpf(`type_id=${ids.int}`), 'Invalid btf_info kind_flag'),
  },
  {
    name: 'Invalid type_id (> BTF_MAX_TYPE)', level: 'type', errno: -22, build: oneType((b) => b.add({ kind: Kind.CONST, sizeOrType: 0x100000 })),
    lines: typeLines(`${I} CONST (anon)`, bpf('type_id=1048576'), 'Invalid type_id'),
  },
  {
    name: 'Invalid name (typedef: not an identifier)', level: 'type', errno: -22, build: oneType((b) => b.typedef('1abc', ids.int)),
    lines: typeLines(`${I} TYPEDEF 1abc`, bpf(`type_id=${ids.int}`), 'Invalid name'),
  },
  {
    name: 'Invalid name (typedef: anonymous)', level: 'type', errno: -22, build: oneType((b) => b.add({ kind: Kind.TYPEDEF, sizeOrType: ids.int })),
    lines: typeLines(`${I} TYPEDEF (anon)`, bpf(`type_id=${ids.int}`), 'Invalid name'),
  },
  {
    name: 'Invalid name (type tag: empty value)', level: 'type', errno: -22, build: oneType((b) => b.add({ kind: Kind.TYPE_TAG, sizeOrType: ids.int })),
    lines: typeLines(`${I} TYPE_TAG (anon)`, bpf(`type_id=${ids.int}`), 'Invalid name'),
  },
  {
    name: 'Invalid name (restrict/const/volatile/ptr must be anonymous)', level: 'type', errno: -22,
    build: oneType((b) => b.modifier(Kind.RESTRICT, ids.pListHead, 'named')),
    lines: typeLines(`${I} RESTRICT named`, bpf(`type_id=${ids.pListHead}`), 'Invalid name'),
  },
]);

cases('FWD (btf_fwd_check_meta)', [
  {
    name: 'vlen != 0', level: 'type', errno: -22, build: oneType((b) => b.add({ nameOff: b.str('later'), kind: Kind.FWD, vlen: 2, kflag: true })),
    lines: typeLines(`${I} FWD later`, bpf('union'), 'vlen != 0'),
  },
  {
    name: 'type != 0', level: 'type', errno: -22, build: oneType((b) => b.add({ nameOff: b.str('later'), kind: Kind.FWD, sizeOrType: 5 })),
    lines: typeLines(`${I} FWD later`, bpf('struct'), 'type != 0'),
  },
  {
    name: 'Invalid name', level: 'type', errno: -22, build: oneType((b) => b.fwd('no-dash')),
    lines: typeLines(`${I} FWD no-dash`, bpf('struct'), 'Invalid name'),
  },
]);

const ARRAY_DETAILS = (elem: number, index: number, n: number): string => `type_id=${elem} index_type_id=${index} nr_elems=${n}`;
cases('ARRAY (btf_array_check_meta)', [
  {
    name: 'meta_left:N meta_needed:12', level: 'type', errno: -22, build: oneType((b) => b.add({ kind: Kind.ARRAY, extra: [1, 1] })),
    lines: basicLines(`${I} ARRAY (anon)`, 'meta_left:8 meta_needed:12'),
  },
  {
    name: 'Invalid name', level: 'type', errno: -22, build: oneType((b) => b.add({ nameOff: b.str('arr'), kind: Kind.ARRAY, extra: [1, 1, 4] })),
    lines: typeLines(`${I} ARRAY arr`, bpf(ARRAY_DETAILS(1, 1, 4)), 'Invalid name'),
  },
  {
    name: 'vlen != 0', level: 'type', errno: -22, build: oneType((b) => b.add({ kind: Kind.ARRAY, vlen: 1, extra: [1, 1, 4] })),
    lines: typeLines(`${I} ARRAY (anon)`, bpf(ARRAY_DETAILS(1, 1, 4)), 'vlen != 0'),
  },
  {
    name: 'Invalid btf_info kind_flag', level: 'type', errno: -22, build: oneType((b) => b.add({ kind: Kind.ARRAY, kflag: true, extra: [1, 1, 4] })),
    lines: typeLines(`${I} ARRAY (anon)`, bpf(ARRAY_DETAILS(1, 1, 4)), 'Invalid btf_info kind_flag'),
  },
  {
    name: 'size != 0', level: 'type', errno: -22, build: oneType((b) => b.add({ kind: Kind.ARRAY, sizeOrType: 16, extra: [1, 1, 4] })),
    lines: typeLines(`${I} ARRAY (anon)`, bpf(ARRAY_DETAILS(1, 1, 4)), 'size != 0'),
  },
  {
    name: 'Invalid elem', level: 'type', errno: -22, build: oneType((b) => b.array(0, 1, 4)),
    lines: typeLines(`${I} ARRAY (anon)`, bpf(ARRAY_DETAILS(0, 1, 4)), 'Invalid elem'),
  },
  {
    name: 'Invalid index', level: 'type', errno: -22, build: oneType((b) => b.array(1, 0x200000, 4)),
    lines: typeLines(`${I} ARRAY (anon)`, bpf(ARRAY_DETAILS(1, 0x200000, 4)), 'Invalid index'),
  },
]);

cases('STRUCT and UNION (btf_struct_check_meta)', [
  {
    name: 'meta_left:N meta_needed:N', level: 'type', errno: -22,
    build: oneType((b) => b.add({ nameOff: b.str('s'), kind: Kind.STRUCT, vlen: 2, sizeOrType: 8, extra: [0, 1, 0] })),
    lines: basicLines(`${I} STRUCT s`, 'meta_left:12 meta_needed:24'),
  },
  {
    name: 'Invalid name', level: 'type', errno: -22, build: oneType((b) => b.struct('s s', 4, [{ name: 'a', type: 1, bitsOffset: 0 }])),
    lines: typeLines(`${I} STRUCT s s`, bpf('size=4 vlen=1'), 'Invalid name'),
  },
  {
    name: 'Invalid member name_offset:N', level: 'type', errno: -22,
    build: oneType((b) => b.add({ nameOff: b.str('s'), kind: Kind.STRUCT, vlen: 1, sizeOrType: 4, extra: [0x7fffffff, 1, 0] })),
    lines: memberLines('(invalid-name-offset) type_id=1 bits_offset=0', 'Invalid member name_offset:2147483647'),
  },
  {
    name: 'Invalid name (member)', level: 'type', errno: -22, build: oneType((b) => b.struct('s', 4, [{ name: '9lives', type: 1, bitsOffset: 0 }])),
    lines: memberLines('9lives type_id=1 bits_offset=0', 'Invalid name'),
  },
  {
    name: 'Invalid type_id (member of type void)', level: 'type', errno: -22, build: oneType((b) => b.struct('s', 4, [{ name: 'a', type: 0, bitsOffset: 0 }])),
    lines: memberLines('a type_id=0 bits_offset=0', 'Invalid type_id'),
  },
  {
    name: 'Invalid member bits_offset (a union member not at 0)', level: 'type', errno: -22,
    build: oneType((b) => b.struct('u', 8, [{ name: 'a', type: 1, bitsOffset: 0 }, { name: 'b', type: 1, bitsOffset: 32 }], true)),
    lines: memberLines('b type_id=1 bits_offset=32', 'Invalid member bits_offset'),
  },
  {
    name: 'Invalid member bits_offset (going backwards)', level: 'type', errno: -22,
    build: oneType((b) => b.struct('s', 8, [{ name: 'a', type: 1, bitsOffset: 32 }, { name: '', type: 1, bitsOffset: 0 }])),
    lines: memberLines('(anon) type_id=1 bits_offset=0', 'Invalid member bits_offset'),
  },
  {
    name: 'Member bits_offset exceeds its struct size', level: 'type', errno: -22,
    build: oneType((b) => b.struct('s', 8, [{ name: 'a', type: 1, bitsOffset: 65 }])),
    lines: memberLines('a type_id=1 bits_offset=65', 'Member bits_offset exceeds its struct size'),
  },
  {
    name: 'kind_flag members print bitfield_size and the 24-bit offset', level: 'type', errno: -22,
    build: oneType((b) => b.struct('s', 8, [{ name: 'f', type: 1, bitsOffset: 72, bitfieldSize: 3 }])),
    lines: memberLines('f type_id=1 bitfield_size=3 bits_offset=72', 'Member bits_offset exceeds its struct size'),
  },
]);

cases('ENUM and ENUM64 (btf_enum_check_meta, btf_enum64_check_meta)', [
  {
    name: 'meta_left:N meta_needed:N', level: 'type', errno: -22,
    build: oneType((b) => b.add({ nameOff: b.str('e'), kind: Kind.ENUM, vlen: 2, sizeOrType: 4, extra: [b.str('A'), 0] })),
    lines: basicLines(`${I} ENUM e`, 'meta_left:8 meta_needed:16'),
  },
  {
    name: 'Unexpected size', level: 'type', errno: -22, build: oneType((b) => b.enum('e', 3, [['A', 1]])),
    lines: typeLines(`${I} ENUM e`, bpf('size=3 vlen=1'), 'Unexpected size'),
  },
  {
    name: 'Invalid name', level: 'type', errno: -22, build: oneType((b) => b.enum('e+', 4, [['A', 1]])),
    lines: typeLines(`${I} ENUM e+`, bpf('size=4 vlen=1'), 'Invalid name'),
  },
  {
    name: '\\tInvalid name_offset:N (a plain log: printed by 6.12 too)', level: 'plain', errno: -22,
    build: oneType((b) => b.add({ nameOff: b.str('e'), kind: Kind.ENUM, vlen: 1, sizeOrType: 4, extra: [0x1000000, 1] })),
    lines: bpf('\tInvalid name_offset:16777216'),
  },
  {
    name: 'Invalid name (enumerator)', level: 'type', errno: -22,
    build: oneType((b) => b.add({ kind: Kind.ENUM, vlen: 1, sizeOrType: 4, extra: [0, 1] })),
    lines: typeLines(`${I} ENUM (anon)`, bpf('size=4 vlen=1'), 'Invalid name'),
  },
  {
    name: 'Unexpected size (ENUM64)', level: 'type', errno: -22, build: oneType((b) => b.enum64('e64', 16, [['A', 1n]])),
    lines: typeLines(`${I} ENUM64 e64`, bpf('size=16 vlen=1'), 'Unexpected size'),
  },
  {
    name: '\\tInvalid name_offset:N (ENUM64)', level: 'plain', errno: -22,
    build: oneType((b) => b.add({ nameOff: b.str('e64'), kind: Kind.ENUM64, vlen: 1, sizeOrType: 8, extra: [0xffffffff, 1, 0] })),
    lines: bpf('\tInvalid name_offset:4294967295'),
  },
]);

cases('FUNC_PROTO (btf_func_proto_check_meta, btf_func_proto_log)', [
  {
    name: 'meta_left:N meta_needed:N', level: 'type', errno: -22, build: oneType((b) => b.add({ kind: Kind.FUNC_PROTO, vlen: 1, sizeOrType: 1 })),
    lines: basicLines(`${I} FUNC_PROTO (anon)`, 'meta_left:0 meta_needed:8'),
  },
  {
    name: 'Invalid name (each argument is its own line)', level: 'type', errno: -22,
    build: oneType((b) => b.add({ nameOff: b.str('fp'), kind: Kind.FUNC_PROTO, vlen: 3, sizeOrType: 1, extra: [b.str('a'), 1, 0, 2, 0x7ffffff0, 3] })),
    lines: typeLines(`${I} FUNC_PROTO fp`, bpf('return=1 args=(', '1 a', ', 2 (anon)', ', 3 (invalid-name-offset)', ')'), 'Invalid name'),
  },
  {
    name: 'Invalid btf_info kind_flag (no arguments: void)', level: 'type', errno: -22,
    build: oneType((b) => b.add({ kind: Kind.FUNC_PROTO, kflag: true, sizeOrType: 0 })),
    lines: typeLines(`${I} FUNC_PROTO (anon)`, bpf('return=0 args=(', 'void', ')'), 'Invalid btf_info kind_flag'),
  },
  {
    name: 'log details: a lone vararg', level: 'type', errno: -22,
    build: oneType((b) => b.add({ kind: Kind.FUNC_PROTO, kflag: true, vlen: 1, sizeOrType: 1, extra: [0, 0] })),
    lines: typeLines(`${I} FUNC_PROTO (anon)`, bpf('return=1 args=(', 'vararg', ')'), 'Invalid btf_info kind_flag'),
  },
  {
    name: 'log details: a trailing vararg', level: 'type', errno: -22,
    build: oneType((b) => b.add({ kind: Kind.FUNC_PROTO, kflag: true, vlen: 2, sizeOrType: 1, extra: [b.str('fmt'), 6, 0, 0] })),
    lines: typeLines(`${I} FUNC_PROTO (anon)`, bpf('return=1 args=(', '6 fmt', ', vararg', ')'), 'Invalid btf_info kind_flag'),
  },
]);

cases('FUNC (btf_func_check_meta)', [
  {
    name: 'Invalid name', level: 'type', errno: -22, build: oneType((b) => b.add({ kind: Kind.FUNC, sizeOrType: 1 })),
    lines: typeLines(`${I} FUNC (anon)`, bpf('type_id=1'), 'Invalid name'),
  },
  {
    name: 'Invalid func linkage (extern is not accepted)', level: 'type', errno: -22, build: oneType((b) => b.func('f', 1, 2)),
    lines: typeLines(`${I} FUNC f`, bpf('type_id=1'), 'Invalid func linkage'),
  },
  {
    name: 'Invalid btf_info kind_flag', level: 'type', errno: -22, build: oneType((b) => b.add({ nameOff: b.str('f'), kind: Kind.FUNC, kflag: true, sizeOrType: 1 })),
    lines: typeLines(`${I} FUNC f`, bpf('type_id=1'), 'Invalid btf_info kind_flag'),
  },
]);

cases('VAR (btf_var_check_meta)', [
  {
    name: 'meta_left:N meta_needed:4', level: 'type', errno: -22, build: oneType((b) => b.add({ nameOff: b.str('v'), kind: Kind.VAR, sizeOrType: 1 })),
    lines: basicLines(`${I} VAR v`, 'meta_left:0 meta_needed:4'),
  },
  {
    name: 'vlen != 0', level: 'type', errno: -22, build: oneType((b) => b.add({ nameOff: b.str('v'), kind: Kind.VAR, vlen: 1, sizeOrType: 1, extra: [1] })),
    lines: typeLines(`${I} VAR v`, bpf('type_id=1 linkage=1'), 'vlen != 0'),
  },
  {
    name: 'Invalid btf_info kind_flag', level: 'type', errno: -22, build: oneType((b) => b.add({ nameOff: b.str('v'), kind: Kind.VAR, kflag: true, sizeOrType: 1, extra: [0] })),
    lines: typeLines(`${I} VAR v`, bpf('type_id=1 linkage=0'), 'Invalid btf_info kind_flag'),
  },
  {
    name: 'Invalid name', level: 'type', errno: -22, build: oneType((b) => b.variable('v!', 1)),
    lines: typeLines(`${I} VAR v!`, bpf('type_id=1 linkage=1'), 'Invalid name'),
  },
  {
    name: 'Invalid type_id', level: 'type', errno: -22, build: oneType((b) => b.variable('v', 0)),
    lines: typeLines(`${I} VAR v`, bpf('type_id=0 linkage=1'), 'Invalid type_id'),
  },
  {
    name: 'Linkage not supported', level: 'type', errno: -22, build: oneType((b) => b.variable('v', 1, 2)),
    lines: typeLines(`${I} VAR v`, bpf('type_id=1 linkage=2'), 'Linkage not supported'),
  },
]);

/** A DATASEC over one int VAR (id FIRST), so the section is [FIRST + 1]. */
function datasec(name: string, size: number, vars: { type?: number; offset: number; size: number }[], raw?: Partial<{ kflag: boolean; vlen: number; extra: number[] }>): () => Uint8Array {
  return () => {
    const b = split();
    const v = b.variable('v', ids.int);
    if (raw) {
      b.add({ nameOff: name ? b.str(name) : 0, kind: Kind.DATASEC, sizeOrType: size, vlen: raw.vlen ?? vars.length, kflag: raw.kflag, extra: raw.extra ?? vars.flatMap((x) => [x.type ?? v, x.offset, x.size]) });
    } else {
      b.datasec(name, size, vars.map((x) => ({ type: x.type ?? v, offset: x.offset, size: x.size })));
    }
    return b.build();
  };
}
const D = `[${FIRST + 1}]`;
const vsiLines = (type: number, offset: number, size: number, msg: string): string[] => bpf(`\t type_id=${type} offset=${offset} size=${size}`, ' ', msg, '');

cases('DATASEC (btf_datasec_check_meta; entry lines are never silenced)', [
  {
    name: 'meta_left:N meta_needed:N', level: 'type', errno: -22, build: datasec('.data', 8, [], { vlen: 1, extra: [] }),
    lines: basicLines(`${D} DATASEC .data`, 'meta_left:0 meta_needed:12'),
  },
  {
    name: 'size == 0', level: 'type', errno: -22, build: datasec('.data', 0, [{ offset: 0, size: 4 }]),
    lines: typeLines(`${D} DATASEC .data`, bpf('size=0 vlen=1'), 'size == 0'),
  },
  {
    name: 'Invalid btf_info kind_flag', level: 'type', errno: -22, build: datasec('.data', 8, [{ offset: 0, size: 4 }], { kflag: true }),
    lines: typeLines(`${D} DATASEC .data`, bpf('size=8 vlen=1'), 'Invalid btf_info kind_flag'),
  },
  {
    name: 'Invalid name (anonymous)', level: 'type', errno: -22, build: datasec('', 8, [{ offset: 0, size: 4 }], {}),
    lines: typeLines(`${D} DATASEC (anon)`, bpf('size=8 vlen=1'), 'Invalid name'),
  },
  { name: 'Invalid type_id', level: 'plain', errno: -22, build: datasec('.data', 8, [{ type: 0, offset: 0, size: 4 }]), lines: vsiLines(0, 0, 4, 'Invalid type_id') },
  { name: 'Invalid offset', level: 'plain', errno: -22, build: datasec('.data', 8, [{ offset: 8, size: 4 }]), lines: vsiLines(FIRST, 8, 4, 'Invalid offset') },
  { name: 'Invalid size', level: 'plain', errno: -22, build: datasec('.data', 8, [{ offset: 0, size: 0 }]), lines: vsiLines(FIRST, 0, 0, 'Invalid size') },
  { name: 'Invalid offset+size', level: 'plain', errno: -22, build: datasec('.data', 8, [{ offset: 6, size: 4 }]), lines: vsiLines(FIRST, 6, 4, 'Invalid offset+size') },
  {
    name: 'Invalid btf_info size (the end offset is a u32 sum and wraps)', level: 'type', errno: -22,
    build: datasec('.data', 0xffffffff, [{ offset: 0x80000000, size: 0x80000000 }, { offset: 0, size: 0x90000000 }]),
    lines: typeLines(`${D} DATASEC .data`, bpf('size=4294967295 vlen=2'), 'Invalid btf_info size'),
  },
]);

describe('DATASEC names (btf_name_valid_section differs)', () => {
  const mod = datasec('.data!sec', 8, [{ offset: 0, size: 4 }])();
  it('6.1 requires an identifier', () => {
    expect(emulate(mod, '6.1').log).toEqual([...typeLines(`${D} DATASEC .data!sec`, bpf('size=8 vlen=1'), 'Invalid name'), failed(-22)]);
  });
  it('6.12 accepts any printable name', () => {
    expect(emulate(mod, '6.12').accepted).toBe(true);
  });
  it('6.12 still rejects a non-printable byte', () => {
    const bad = datasec('.data\u0001', 8, [{ offset: 0, size: 4 }])();
    expect(emulate(bad, '6.12', false).log).toEqual([...typeLines(`${D} DATASEC .data\u0001`, bpf('size=8 vlen=1'), 'Invalid name'), failed(-22)]);
  });
});

cases('FLOAT (btf_float_check_meta)', [
  { name: 'vlen != 0', level: 'type', errno: -22, build: oneType((b) => b.add({ nameOff: b.str('double'), kind: Kind.FLOAT, vlen: 1, sizeOrType: 8 })), lines: typeLines(`${I} FLOAT double`, bpf('size=8'), 'vlen != 0') },
  {
    name: 'Invalid btf_info kind_flag', level: 'type', errno: -22, build: oneType((b) => b.add({ nameOff: b.str('double'), kind: Kind.FLOAT, kflag: true, sizeOrType: 8 })),
    lines: typeLines(`${I} FLOAT double`, bpf('size=8'), 'Invalid btf_info kind_flag'),
  },
  { name: 'Invalid type_size', level: 'type', errno: -22, build: oneType((b) => b.float('f24', 3)), lines: typeLines(`${I} FLOAT f24`, bpf('size=3'), 'Invalid type_size') },
]);

cases('DECL_TAG (btf_decl_tag_check_meta)', [
  {
    name: 'meta_left:N meta_needed:4', level: 'type', errno: -22, build: oneType((b) => b.add({ nameOff: b.str('tag'), kind: Kind.DECL_TAG, sizeOrType: 1 })),
    lines: basicLines(`${I} DECL_TAG tag`, 'meta_left:0 meta_needed:4'),
  },
  {
    name: 'Invalid value', level: 'type', errno: -22, build: oneType((b) => b.add({ kind: Kind.DECL_TAG, sizeOrType: 7, extra: [0xffffffff] })),
    lines: typeLines(`${I} DECL_TAG (anon)`, bpf('type=7 component_idx=-1'), 'Invalid value'),
  },
  {
    name: 'vlen != 0', level: 'type', errno: -22, build: oneType((b) => b.add({ nameOff: b.str('tag'), kind: Kind.DECL_TAG, vlen: 1, sizeOrType: 7, extra: [0] })),
    lines: typeLines(`${I} DECL_TAG tag`, bpf('type=7 component_idx=0'), 'vlen != 0'),
  },
  {
    name: 'Invalid btf_info kind_flag', level: 'type', errno: -22, build: oneType((b) => b.add({ nameOff: b.str('tag'), kind: Kind.DECL_TAG, kflag: true, sizeOrType: 7, extra: [1] })),
    lines: typeLines(`${I} DECL_TAG tag`, bpf('type=7 component_idx=1'), 'Invalid btf_info kind_flag'),
  },
  {
    name: 'Invalid component_idx', level: 'type', errno: -22, build: oneType((b) => b.declTag('tag', 7, -2)),
    lines: typeLines(`${I} DECL_TAG tag`, bpf('type=7 component_idx=-2'), 'Invalid component_idx'),
  },
]);

cases('modifier chains (btf_check_type_tags)', [
  {
    name: 'Max chain length or cycle detected (-ELOOP): a cycle', level: 'plain', errno: -40,
    build: oneType((b) => { b.modifier(Kind.CONST, FIRST + 1); b.modifier(Kind.VOLATILE, FIRST); }), lines: bpf('Max chain length or cycle detected'),
  },
  {
    name: 'Max chain length or cycle detected (-ELOOP): 33 modifiers in a row', level: 'plain', errno: -40,
    // Checked from the last one down so that no prefix of the chain is known good yet.
    build: oneType((b) => { for (let k = 0; k < 33; k++) b.modifier(Kind.CONST, k === 32 ? ids.int : FIRST + k + 1); }),
    lines: bpf('Max chain length or cycle detected'),
  },
  {
    name: "Type tags don't precede modifiers", level: 'plain', errno: -22,
    build: oneType((b) => { b.modifier(Kind.CONST, FIRST + 1); b.typeTag('user', ids.int); }), lines: bpf("Type tags don't precede modifiers"),
  },
  {
    name: 'a modifier pointing past the last type: -EINVAL without a BPF: line', level: 'plain', errno: -22,
    build: oneType((b) => b.modifier(Kind.CONST, FIRST + 5)), lines: [],
  },
]);

describe('modifier chains that are fine', () => {
  it('accepts 32 modifiers in a row, and type tags before modifiers', () => {
    const b = split();
    for (let k = 0; k < 32; k++) b.modifier(Kind.CONST, k === 31 ? ids.int : FIRST + k + 1);
    b.typeTag('user', b.nextId + 1);
    b.modifier(Kind.CONST, ids.int);
    for (const version of KERNEL_VERSIONS) expect(emulate(b.build(), version).accepted).toBe(true);
  });
  it('accepts a pointer loop (only modifiers are followed)', () => {
    const b = split();
    b.ptr(FIRST + 1);
    b.modifier(Kind.CONST, FIRST);
    for (const version of KERNEL_VERSIONS) expect(emulate(b.build(), version).accepted).toBe(true);
  });
});

describe('what the kernel log does to a fragment', () => {
  it('keeps 1023 bytes of a fragment, then 989 (6.1, LOG_LINE_MAX) or 1021 (6.12) bytes of the record (the level prefix counts)', () => {
    const longName = 'x'.repeat(1500) + '!';
    const mod = oneType((b) => b.struct('s', 4, [{ name: longName, type: 1, bitsOffset: 0 }]))();
    const fragment = `\t${longName} type_id=1 bits_offset=0`;
    const kbuf = fragment.slice(0, 1023);
    const l61 = emulate(mod, '6.1').log;
    const l612 = emulate(mod, '6.12', false).log;
    expect(l61[0]).toBe(('BPF: ' + kbuf).slice(0, 989));
    expect(l61[0].length).toBe(989);
    expect(l612[0]).toBe(('BPF: ' + kbuf).slice(0, 1021));
    expect(l61.slice(1)).toEqual([...bpf(' ', 'Invalid name', ''), failed(-22)]);
  });

  it('prints a byte that is not UTF-8 as \\xNN and keeps valid UTF-8 and control bytes', () => {
    const b = split();
    b.rawStr([0x72, 0x82, 0x21, 0]); // "r\x82!" — not an identifier
    const bad = baseBuilder.strLen;
    b.str('caf\u00c3\u00a9!'); // the UTF-8 bytes of "café" then '!'
    const utf8 = baseBuilder.strLen + 4;
    b.add({ nameOff: b.str('s'), kind: Kind.STRUCT, vlen: 1, sizeOrType: 4, extra: [bad, 1, 0] });
    expect(emulate(b.build(), '6.1').log[0]).toBe('BPF: \tr\\x82! type_id=1 bits_offset=0');
    const c = split();
    c.str('caf\u00c3\u00a9!');
    c.add({ nameOff: c.str('t\u0001b'), kind: Kind.STRUCT, vlen: 1, sizeOrType: 4, extra: [utf8 - 4, 1, 0] });
    const lines = emulate(c.build(), '6.1').log;
    expect(lines[0]).toBe('BPF: [8] STRUCT t\u0001b ');
    const d = split();
    d.str('caf\u00c3\u00a9!');
    d.add({ nameOff: 0, kind: Kind.STRUCT, vlen: 1, sizeOrType: 4, extra: [baseBuilder.strLen, 1, 0] });
    expect(emulate(d.build(), '6.1').log[0]).toBe('BPF: \tcafé! type_id=1 bits_offset=0');
  });

  it('prints the mismatch line only for the first rejection of a boot (pr_warn_once)', () => {
    const mod = oneType((b) => b.fwd('bad name'))();
    expect(emulate(mod, '6.12', true, true).log).toEqual([MISMATCH]);
    expect(emulate(mod, '6.12', true, false).log).toEqual([]);
    // 6.1's line is a plain pr_warn: every time
    expect(emulate(mod, '6.1', true, false).log.at(-1)).toBe(failed(-22));
  });
});

describe('btf_add_type capacity', () => {
  it('logs "Exceeded max num of types" when start_id + types_size reaches BTF_MAX_TYPE, and goes on (the error is ignored)', () => {
    // A base whose nr_types is BTF_MAX_TYPE - 16: the module's 17th type finds the 16-slot array
    // full and start_id + 16 == BTF_MAX_TYPE.
    const big = new BtfBuilder();
    const int = big.int('int');
    while (big.nextId < 0xfffff - 16) big.add({ kind: Kind.PTR, sizeOrType: int });
    const bigBase = Btf.parseBase(big.build());
    expect(bigBase.nrTypes).toBe(0xfffff - 16);
    const b = BtfBuilder.splitOf(big);
    for (let k = 0; k < 18; k++) b.ptr(int);
    for (const version of KERNEL_VERSIONS) {
      const v = emulateModuleLoad(bigBase, b.build(), MOD, { version, allowBtfMismatch: true });
      expect(v).toEqual({ accepted: true, errno: 0, loads: true, log: bpf('Exceeded max num of types', 'Exceeded max num of types') });
    }
  }, 60_000);
});

describe('kind_ops', () => {
  it('has one entry per kind the kernels know (1..BTF_KIND_MAX), named as btf_kind_str[]', () => {
    for (const version of KERNEL_VERSIONS) {
      const kindMax = KERNEL_RULES[version].kindMax;
      expect(kindMax).toBe(19);
      expect(KIND_OPS[0]).toBeUndefined();
      for (let kind = 1; kind <= kindMax; kind++) {
        expect(KIND_OPS[kind]).toMatchObject({ kind, name: KIND_NAMES[kind] });
      }
    }
  });
});

describe('kernelSeries', () => {
  it.each([
    ['6.1.170', '6.1'], ['6.1.0-47-cloud-amd64', '6.1'], ['6.12.117+deb12-cloud-amd64', '6.12'], ['6.12.115', '6.12'],
    ['6.11.2', '6.11'], ['6.10.0', '6.10'], ['5.10.0-30-amd64', '5.10'], ['7.2.13+deb14-cloud-amd64', '7.2'],
    ['garbage', undefined], ['6', undefined], ['6.1.x', undefined], ['', undefined],
  ])('%s → %s', (release, series) => {
    expect(kernelSeries(release)).toBe(series);
  });
});
