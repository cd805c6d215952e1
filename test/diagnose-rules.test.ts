/**
 * The finding rules, inference, candidates and explanations on hand-built BTF. Every rule has a
 * test that makes it fire and the clean module shows it silent, so each test can fail.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Btf } from '../lib/btf/btf.js';
import { Kind } from '../lib/btf/kinds.js';
import { analyze, CandidateBase, diagnoseModule, Finding } from '../lib/diagnose/index.js';
import { FINDING_RULES } from '../rules/findings/index.js';
import { BtfBuilder, smallBase } from './helpers/btf-builder.js';

/** A base like smallBase() with `extra` more types (and strings) appended: another build's base. */
function grownBase(extra: number): BtfBuilder {
  const { builder } = smallBase();
  for (let i = 0; i < extra; i++) builder.int(`extra_int_${i}`, 4);
  return builder;
}

/**
 * A small but realistic module on top of `b`: a struct with a base-typed member and a pointer to a
 * base struct, a pointer to it, and two functions each preceded by its prototype (as pahole writes).
 */
function moduleOn(b: BtfBuilder): { split: BtfBuilder; ids: Record<string, number> } {
  const int = 1; const long = 3; const device = 7; // ids in smallBase()
  const split = BtfBuilder.splitOf(b);
  const pdev = split.ptr(device);
  const state = split.struct('mod_state', 24, [
    { name: 'count', type: int, bitsOffset: 0 },
    { name: 'total', type: long, bitsOffset: 64 },
    { name: 'dev', type: pdev, bitsOffset: 128 },
  ]);
  const pstate = split.ptr(state);
  const protoInit = split.funcProto(int, [{ name: 'st', type: pstate }]);
  const fInit = split.func('mod_init', protoInit);
  const protoExit = split.funcProto(0, [{ name: 'st', type: pstate }, { name: 'code', type: int }]);
  const fExit = split.func('mod_exit', protoExit);
  return { split, ids: { int, long, device, pdev, state, pstate, protoInit, fInit, protoExit, fExit } };
}

const base = (b: BtfBuilder): Btf => Btf.parseBase(b.build());
const rules = (fs: Finding[]): string[] => [...new Set(fs.map((f) => f.rule))];

/** Findings of one module (split builder) against the base it was built on. */
function findingsOf(b: BtfBuilder, split: BtfBuilder): Finding[] {
  return diagnoseModule(base(b), split.build()).findings;
}

describe('clean module', () => {
  it('has no findings, no explanation and the right inferred base', () => {
    const { builder } = smallBase();
    const { split } = moduleOn(builder);
    const d = diagnoseModule(base(builder), split.build());
    expect(d.findings).toEqual([]);
    expect(d.explanation).toBeNull();
    expect(d.baseMismatch).toBe(false);
    expect(d.inferredBase).toEqual({ types: builder.nextId, strLen: builder.strLen });
  });

  it('every rule id is documented in docs/diagnosis.md', () => {
    const doc = fs.readFileSync(path.join(import.meta.dirname, '..', 'docs', 'diagnosis.md'), 'utf8');
    for (const id of [...FINDING_RULES.map((r) => r.id), 'base-shape-mismatch', 'base-checksum-mismatch', 'base-checksum-match', 'btf-structure']) {
      expect(doc).toContain('`' + id + '`');
    }
  });

  it('every rule has a unique id, a severity and a description', () => {
    const ids = FINDING_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of FINDING_RULES) {
      expect(['error', 'warning', 'info']).toContain(r.severity);
      expect(r.description.length).toBeGreaterThan(20);
    }
  });
});

describe('reference rules', () => {
  it('type-id-out-of-range: a pointer to a type past the end', () => {
    const { builder } = smallBase();
    const { split } = moduleOn(builder);
    split.ptr(9999);
    expect(rules(findingsOf(builder, split))).toContain('type-id-out-of-range');
  });

  it('func-type: a FUNC whose type is not a FUNC_PROTO', () => {
    const { builder } = smallBase();
    const { split } = moduleOn(builder);
    split.func('bad_func', 1);
    const fs = findingsOf(builder, split);
    expect(rules(fs)).toContain('func-type');
    expect(fs.find((f) => f.rule === 'func-type')!.typeId).toBe(split.nextId - 1);
  });

  it('member-type: a member of a FUNC type', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    split.struct('bad', 8, [{ name: 'f', type: ids.fInit, bitsOffset: 0 }]);
    expect(rules(findingsOf(builder, split))).toContain('member-type');
  });

  it('member-type: a void member', () => {
    const { builder } = smallBase();
    const { split } = moduleOn(builder);
    split.struct('bad', 8, [{ name: 'v', type: 0, bitsOffset: 0 }]);
    expect(rules(findingsOf(builder, split))).toContain('member-type');
  });

  it('array-type: an index type that is a struct', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    split.array(ids.int, ids.device, 4);
    expect(rules(findingsOf(builder, split))).toContain('array-type');
  });

  it('pointer-target: a pointer to a VAR', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    const v = split.variable('counter', ids.int);
    split.ptr(v);
    expect(rules(findingsOf(builder, split))).toContain('pointer-target');
  });

  it('modifier-target: a const FUNC', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    split.modifier(Kind.CONST, ids.fInit);
    expect(rules(findingsOf(builder, split))).toContain('modifier-target');
  });

  it('func-proto-type: a void parameter that is not the last (varargs is fine)', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    const varargs = split.funcProto(ids.int, [{ name: 'fmt', type: ids.int }, { type: 0 }]);
    split.func('mod_printf', varargs);
    expect(rules(findingsOf(builder, split))).not.toContain('func-proto-type');
    const bad = split.funcProto(ids.int, [{ type: 0 }, { name: 'x', type: ids.int }]);
    split.func('mod_bad', bad);
    expect(rules(findingsOf(builder, split))).toContain('func-proto-type');
  });

  it('var-type: a VAR of a FUNC_PROTO', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    split.variable('weird', ids.protoInit);
    expect(rules(findingsOf(builder, split))).toContain('var-type');
  });

  it('datasec-entry: an entry that is not a VAR', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    split.datasec('.data..percpu', 8, [{ type: ids.int, offset: 0, size: 4 }]);
    expect(rules(findingsOf(builder, split))).toContain('datasec-entry');
  });

  it('decl-tag-target: a tag on an INT, and a component index past the members', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    split.declTag('user', ids.state, 2); // member 2 exists
    expect(rules(findingsOf(builder, split))).not.toContain('decl-tag-target');
    split.declTag('user', ids.state, 3);
    expect(rules(findingsOf(builder, split))).toContain('decl-tag-target');
    const { split: s2 } = moduleOn(builder);
    s2.declTag('user', ids.int);
    expect(rules(findingsOf(builder, s2))).toContain('decl-tag-target');
  });

  it('type-cycle: two typedefs naming each other', () => {
    const { builder } = smallBase();
    const { split } = moduleOn(builder);
    const a = split.nextId;
    split.typedef('loop_a', a + 1);
    split.typedef('loop_b', a);
    expect(rules(findingsOf(builder, split))).toContain('type-cycle');
  });

  it('type-cycle: a 100k-long modifier chain is no stack overflow and no finding', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    let prev = ids.int;
    for (let i = 0; i < 100_000; i++) prev = split.modifier(Kind.CONST, prev);
    split.struct('deep', 4, [{ name: 'x', type: prev, bitsOffset: 0 }]);
    const fs = findingsOf(builder, split);
    expect(rules(fs)).not.toContain('type-cycle');
    expect(rules(fs)).not.toContain('member-size');
  });
});

describe('size rules', () => {
  it('member-size: a long member past the end of a 4-byte struct', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    split.struct('small', 4, [{ name: 'l', type: ids.long, bitsOffset: 0 }]);
    expect(rules(findingsOf(builder, split))).toContain('member-size');
  });

  it('member-size: pointers are as big as the base\'s long (4 bytes on a 32-bit kernel)', () => {
    const b32 = new BtfBuilder();
    const int = b32.int('int', 4, 32, 1);
    b32.int('long int', 4, 32, 1);
    const split = BtfBuilder.splitOf(b32);
    const p = split.ptr(int);
    split.struct('pair32', 8, [{ name: 'a', type: p, bitsOffset: 0 }, { name: 'b', type: p, bitsOffset: 32 }]);
    expect(rules(findingsOf(b32, split))).not.toContain('member-size');
    const { builder } = smallBase(); // long is 8 bytes: the same layout overlaps
    const s64 = BtfBuilder.splitOf(builder);
    const p64 = s64.ptr(1);
    s64.struct('pair32', 8, [{ name: 'a', type: p64, bitsOffset: 0 }, { name: 'b', type: p64, bitsOffset: 32 }]);
    expect(rules(findingsOf(builder, s64))).toContain('member-size');
  });

  it('member-size: a bitfield past the end', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    split.struct('bits', 4, [{ name: 'ok', type: ids.int, bitsOffset: 0, bitfieldSize: 3 }]);
    expect(rules(findingsOf(builder, split))).not.toContain('member-size');
    split.struct('bits2', 4, [{ name: 'b', type: ids.int, bitsOffset: 30, bitfieldSize: 3 }]);
    expect(rules(findingsOf(builder, split))).toContain('member-size');
  });

  it('member-size: a member whose type is a FWD has no size', () => {
    const { builder } = smallBase();
    const { split } = moduleOn(builder);
    const fwd = split.fwd('opaque');
    const td = split.typedef('opaque_t', fwd);
    split.struct('holder', 8, [{ name: 'o', type: td, bitsOffset: 0 }]);
    expect(rules(findingsOf(builder, split))).toContain('member-size');
  });

  it('array-size: an array of a forward-declared struct', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    const fwd = split.fwd('opaque');
    split.array(fwd, ids.int, 2);
    expect(rules(findingsOf(builder, split))).toContain('array-size');
  });

  it('array-size: elements times size overflow 32 bits', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    split.array(ids.long, ids.int, 0x40000000);
    expect(rules(findingsOf(builder, split))).toContain('array-size');
  });

  it('datasec-entry-size: an entry of 4 bytes for a long variable, and one outside the section', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    const v = split.variable('counter', ids.long);
    split.datasec('.data', 8, [{ type: v, offset: 0, size: 8 }]);
    expect(rules(findingsOf(builder, split))).not.toContain('datasec-entry-size');
    split.datasec('.bss', 8, [{ type: v, offset: 0, size: 4 }]);
    expect(rules(findingsOf(builder, split))).toContain('datasec-entry-size');
    const { split: s2 } = moduleOn(builder);
    const v2 = s2.variable('counter', ids.long);
    s2.datasec('.data', 8, [{ type: v2, offset: 4, size: 8 }]);
    expect(rules(findingsOf(builder, s2))).toContain('datasec-entry-size');
  });
});

describe('name rules', () => {
  it('name-mid-string: a name offset landing inside a base string (rimary_device)', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    const off = builder.str('primary_device') + 1;
    split.add({ nameOff: off, kind: Kind.STRUCT, vlen: 0, sizeOrType: 0 });
    const fs = findingsOf(builder, split);
    const f = fs.find((x) => x.rule === 'name-mid-string');
    expect(f?.message).toContain("'rimary_device' is the tail of 'primary_device'");
    expect(ids).toBeDefined();
  });

  it('name-offset-out-of-range: past the end of all strings', () => {
    const { builder } = smallBase();
    const { split } = moduleOn(builder);
    split.add({ nameOff: 0x7fffff, kind: Kind.STRUCT, vlen: 0, sizeOrType: 0 });
    expect(rules(findingsOf(builder, split))).toContain('name-offset-out-of-range');
  });

  it('non-c-name: a Rust closure type in the module strings', () => {
    const { builder } = smallBase();
    const { split } = moduleOn(builder);
    split.struct('closure-0', 0, []);
    const d = diagnoseModule(base(builder), split.build());
    expect(rules(d.findings)).toContain('non-c-name');
    expect(d.findings.find((f) => f.rule === 'non-c-name')!.severity).toBe('warning');
    expect(d.explanation?.cause).toBe('non-c-names');
    expect(d.explanation?.fix).toContain('--lang_exclude=rust');
    expect(d.baseMismatch).toBe(false);
  });

  it('non-c-name: dotted names and INT names are fine', () => {
    const { builder } = smallBase();
    const { split } = moduleOn(builder);
    split.int('long long unsigned int', 8);
    split.struct('foo.part.0', 0, []);
    expect(rules(findingsOf(builder, split))).not.toContain('non-c-name');
  });
});

describe('robustness', () => {
  it('never throws: garbage, truncated and empty input give a btf-structure finding', () => {
    const b = base(smallBase().builder);
    const { split } = moduleOn(smallBase().builder);
    const good = split.build();
    for (const bytes of [new Uint8Array(0), new Uint8Array(7), Uint8Array.from({ length: 100 }, (_, i) => i * 37), good.subarray(0, good.length - 9)]) {
      const d = diagnoseModule(b, bytes);
      expect(d.findings[0].rule).toBe('btf-structure');
      expect(d.explanation?.cause).toBe('corrupt');
    }
  });

  it('caps findings per rule and says how many more', () => {
    const { builder } = smallBase();
    const { split } = moduleOn(builder);
    for (let i = 0; i < 50; i++) split.ptr(100_000 + i);
    const fs = findingsOf(builder, split).filter((f) => f.rule === 'type-id-out-of-range');
    expect(fs).toHaveLength(21);
    expect(fs[20].message).toContain('and 30 more (50 in all)');
  });
});

describe('inference, candidates and explanations', () => {
  it('infers the build-time base of a module checked against a sibling base', () => {
    const built = grownBase(3);
    const { split } = moduleOn(built);
    const other = smallBase().builder;
    const d = diagnoseModule(base(other), split.build());
    expect(d.inferredBase).toEqual({ types: built.nextId, strLen: built.strLen });
    expect(d.findings[0].rule).toBe('base-shape-mismatch');
    expect(d.findings[0].message).toContain(`built against a base with ${built.nextId} types`);
    expect(d.baseMismatch).toBe(true);
    expect(d.explanation?.cause).toBe('base-mismatch');
    expect(d.explanation?.evidence.join('\n')).toContain('type count');
  });

  it('candidates: picks the base the module was built against, or null', () => {
    const built = grownBase(3);
    const { split } = moduleOn(built);
    const bytes = split.build();
    const cands: CandidateBase[] = [
      { file: 'small', sha256: 'a'.repeat(64), btf: base(smallBase().builder) },
      { file: 'grown3', sha256: 'b'.repeat(64), btf: base(built) },
      { file: 'grown5', sha256: 'c'.repeat(64), btf: base(grownBase(5)) },
    ];
    const d = diagnoseModule(base(smallBase().builder), bytes, { candidates: cands });
    expect(d.builtAgainst).toEqual({ file: 'grown3', sha256: 'b'.repeat(64) });
    const none = diagnoseModule(base(smallBase().builder), bytes, { candidates: [cands[0], cands[2]] });
    expect(none.builtAgainst).toBeNull();
    expect(diagnoseModule(base(built), bytes).builtAgainst).toBeUndefined();
  });

  it('non-reproducible: equal shape, different content', () => {
    // Same types and strings in another order: same nr_types and str_len, different ids and offsets.
    const real = new BtfBuilder();
    const list = real.struct('list_head', 16, []);
    const char = real.int('char', 1, 8, 1);
    const long = real.int('long', 8, 64, 1);
    real.ptr(list);
    const uint = real.int('unsigned int', 4, 32);
    const int = real.int('int', 4, 32, 1);
    const device = real.struct('primary_device', 8, [{ name: 'flags', type: uint, bitsOffset: 32 }, { name: 'id', type: int, bitsOffset: 0 }]);
    expect([char, long]).toHaveLength(2);
    const built = smallBase().builder;
    expect(real.nextId).toBe(built.nextId);
    expect(real.strLen).toBe(built.strLen);
    expect(device).toBe(7);
    const { split } = moduleOn(built);
    // Member names shared with the base are stored as base string offsets (pahole dedups them).
    split.add({ nameOff: split.str('mod_dev'), kind: Kind.STRUCT, vlen: 2, sizeOrType: 8, extra: [built.str('id'), 1, 0, built.str('flags'), 2, 32] });
    const d = diagnoseModule(base(real), split.build(), {
      candidates: [{ file: 'built', sha256: 'b'.repeat(64), btf: base(built) }, { file: 'real', sha256: 'c'.repeat(64), btf: base(real) }],
    });
    expect(d.inferredBase).toEqual({ types: built.nextId, strLen: built.strLen });
    expect(rules(d.findings)).not.toContain('base-shape-mismatch');
    expect(d.explanation?.cause).toBe('non-reproducible');
    expect(d.explanation?.fix).toContain('reproducible_build');
    expect(d.baseMismatch).toBe(true);
    expect(d.builtAgainst?.file).toBe('built');
  });

  it('corrupt: one damaged member in a module checked against its own base', () => {
    const { builder } = smallBase();
    const { split, ids } = moduleOn(builder);
    split.struct('mod_other', 8, [{ name: 'fn', type: ids.fExit, bitsOffset: 0 }]);
    split.ptr(split.nextId - 1);
    const d = diagnoseModule(base(builder), split.build());
    expect(rules(d.findings)).toEqual(['member-type']);
    expect(d.explanation?.cause).toBe('corrupt');
    expect(d.baseMismatch).toBe(false);
  });

  it('corrupt, not base-mismatch: one absurd type id does not move the inferred base', () => {
    const { builder } = smallBase();
    const { split } = moduleOn(builder);
    split.ptr(0x7fffffff);
    const d = diagnoseModule(base(builder), split.build());
    expect(d.inferredBase).toEqual({ types: builder.nextId, strLen: builder.strLen });
    expect(rules(d.findings)).toEqual(['type-id-out-of-range']);
    expect(d.explanation?.cause).toBe('corrupt');
  });

  it('corrupt: a single odd character in one name is damage, not Rust', () => {
    const { builder } = smallBase();
    const { split } = moduleOn(builder);
    split.struct('mod$state', 0, []);
    const d = diagnoseModule(base(builder), split.build());
    expect(rules(d.findings)).toEqual(['non-c-name']);
    expect(d.explanation?.cause).toBe('corrupt');
  });

  it('checksum: a mismatch is the first, decisive finding; a match is reported as proof', () => {
    const { builder } = smallBase();
    const { split } = moduleOn(builder);
    const b = base(builder);
    const stored = { sha256: 'd'.repeat(64), types: 99, strLen: 999, source: 'section' as const };
    const bad = diagnoseModule(b, split.build(), { stored, baseSha256: 'e'.repeat(64) });
    expect(bad.findings[0].rule).toBe('base-checksum-mismatch');
    expect(bad.findings[0].severity).toBe('error');
    expect(bad.baseMismatch).toBe(true);
    expect(bad.explanation?.cause).toBe('checksum-mismatch');
    const good = diagnoseModule(b, split.build(), { stored, baseSha256: 'd'.repeat(64) });
    expect(good.findings).toEqual([expect.objectContaining({ rule: 'base-checksum-match', severity: 'info' })]);
    expect(good.baseMismatch).toBe(false);
    expect(good.explanation).toBeNull();
  });

  it('a module with a distilled base (.BTF.base) is diagnosed against that base', () => {
    const distilled = grownBase(2);
    const { split } = moduleOn(distilled);
    const vmlinux = base(grownBase(40));
    const plain = diagnoseModule(vmlinux, split.build());
    expect(plain.baseMismatch).toBe(true);
    const d = diagnoseModule(vmlinux, split.build(), { distilledBase: distilled.build() });
    expect(d.findings).toEqual([]);
    expect(d.baseMismatch).toBe(false);
    expect(d.inferredBase).toEqual({ types: distilled.nextId, strLen: distilled.strLen });
    const broken = diagnoseModule(vmlinux, split.build(), { distilledBase: new Uint8Array(10) });
    expect(broken.findings[0].rule).toBe('btf-structure');
    expect(broken.explanation?.cause).toBe('corrupt');
  });

  it('analyze exposes the inference evidence', () => {
    const built = grownBase(2);
    const { split } = moduleOn(built);
    const a = analyze(base(smallBase().builder), split.build());
    expect(a.inferred).toEqual({ types: built.nextId, strLen: built.strLen });
    expect(a.types.misfits).toBe(0);
    expect(a.strs.strays).toBe(0);
  });
});

describe('unsorted-split-btf (7.0+ kbuild sorts BTF by name)', () => {
  /** A base sorted as a 7.x kbuild writes it: anonymous types first, then by name. */
  function sortedBase(): BtfBuilder {
    const b = new BtfBuilder();
    b.struct('a_struct', 4, [{ name: 'x', type: 2, bitsOffset: 0 }]); // [1]
    b.int('int', 4); // [2]
    b.int('long', 8); // [3]
    b.struct('z_struct', 4, [{ name: 'y', type: 2, bitsOffset: 0 }]); // [4]
    return b;
  }

  it('says so for a module whose own types are out of name order on a sorted base', () => {
    const b = sortedBase();
    const split = BtfBuilder.splitOf(b);
    split.struct('zz_mod', 4, [{ name: 'a', type: 2, bitsOffset: 0 }]);
    split.struct('aa_mod', 4, [{ name: 'b', type: 2, bitsOffset: 0 }]);
    const d = diagnoseModule(base(b), split.build());
    expect(d.findings).toEqual([expect.objectContaining({ rule: 'unsorted-split-btf', severity: 'info', typeId: null })]);
    expect(d.baseMismatch).toBe(false);
  });

  it('is silent for a sorted module, on an unsorted base, and where another base is proven', () => {
    const b = sortedBase();
    const sorted = BtfBuilder.splitOf(b);
    sorted.ptr(6); // anonymous first: a pointer to aa_mod
    sorted.struct('aa_mod', 4, [{ name: 'b', type: 2, bitsOffset: 0 }]);
    sorted.struct('zz_mod', 4, [{ name: 'a', type: 2, bitsOffset: 0 }]);
    expect(diagnoseModule(base(b), sorted.build()).findings).toEqual([]);

    const { builder: unsortedBase } = smallBase();
    const split = BtfBuilder.splitOf(unsortedBase);
    split.struct('zz_mod', 4, [{ name: 'a', type: 2, bitsOffset: 0 }]);
    split.struct('aa_mod', 4, [{ name: 'b', type: 2, bitsOffset: 0 }]);
    expect(rules(diagnoseModule(base(unsortedBase), split.build()).findings)).not.toContain('unsorted-split-btf');

    // Built on a bigger sorted base, checked on this one: names are read wrongly, order means nothing.
    const big = sortedBase();
    big.struct('zzz_more', 4, [{ name: 'w', type: 2, bitsOffset: 0 }]);
    const other = BtfBuilder.splitOf(big);
    other.struct('zz_mod', 4, [{ name: 'a', type: 2, bitsOffset: 0 }]);
    other.struct('aa_mod', 4, [{ name: 'b', type: 99, bitsOffset: 0 }]);
    const d = diagnoseModule(base(b), other.build());
    expect(d.baseMismatch).toBe(true);
    expect(rules(d.findings)).not.toContain('unsorted-split-btf');
  });
});
