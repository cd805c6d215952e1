/**
 * 6.12 modules with a .BTF.base section (distilled base BTF, pahole --btf_features=distilled_base,
 * used for out-of-tree modules): btf_parse_base() of .BTF.base, the module's checks on top of it,
 * then btf_relocate() onto vmlinux (kernel/bpf/btf.c, tools/lib/bpf/btf_relocate.c of 6.12.117).
 * No Debian module has one and the oracle does not cover it: these tests are written from source.
 */
import { describe, expect, it } from 'vitest';
import { Btf } from '../lib/btf/btf.js';
import { Kind } from '../lib/btf/kinds.js';
import { emulateModuleLoad, KernelVerdict } from '../lib/kernel/index.js';
import { BtfBuilder, smallBase } from './helpers/btf-builder.js';

const MOD = 'oot';
const MISMATCH = 'Kernel module BTF mismatch detected, BTF debug info may be unavailable for some modules';
const { builder: vmlinuxBuilder } = smallBase();
const vmlinux = Btf.parseBase(vmlinuxBuilder.build());

function load(dist: Uint8Array, mod: Uint8Array, version: '6.1' | '6.12' = '6.12', allowBtfMismatch = true, base = vmlinux): KernelVerdict {
  return emulateModuleLoad(base, mod, MOD, { version, allowBtfMismatch, distilledBase: dist });
}

/** A distilled base like pahole writes: named INT, STRUCT (kept when embedded), FWD otherwise. */
function distBase(): { dist: BtfBuilder; int: number; listHead: number; device: number } {
  const dist = new BtfBuilder();
  const int = dist.int('int', 4, 32, 1);
  const listHead = dist.struct('list_head', 16, []);
  const device = dist.fwd('primary_device');
  return { dist, int, listHead, device };
}

/** A module struct that embeds list_head and points to the forward-declared device. */
function moduleOn(d: ReturnType<typeof distBase>): BtfBuilder {
  const m = BtfBuilder.splitOf(d.dist);
  const pdev = m.ptr(d.device);
  m.struct('oot_state', 32, [
    { name: 'count', type: d.int, bitsOffset: 0 },
    { name: 'dev', type: pdev, bitsOffset: 64 },
    { name: 'list', type: d.listHead, bitsOffset: 128 },
  ]);
  return m;
}

describe('.BTF.base on 6.12', () => {
  it('relocates a well-formed module silently', () => {
    const d = distBase();
    const v = load(d.dist.build(), moduleOn(d).build());
    expect(v).toEqual({ accepted: true, errno: 0, loads: true, log: [] });
  });

  it('6.1 ignores .BTF.base: the same .BTF is checked against vmlinux directly', () => {
    const d = distBase();
    const mod = moduleOn(d).build();
    const withBase = load(d.dist.build(), mod, '6.1');
    const without = emulateModuleLoad(vmlinux, mod, MOD, { version: '6.1', allowBtfMismatch: true });
    expect(withBase).toEqual(without);
  });

  it('an empty .BTF.base is still parsed (hdr_len not found)', () => {
    const d = distBase();
    expect(load(new Uint8Array(0), moduleOn(d).build()).log).toEqual(['BPF: hdr_len not found', MISMATCH]);
  });

  it('logs .BTF.base errors in full even with ALLOW_BTF_MISMATCH (it has no base_btf)', () => {
    const dist = new BtfBuilder();
    dist.add({ nameOff: dist.str('int'), kind: Kind.INT, kflag: true, sizeOrType: 4, extra: [32] });
    const mod = BtfBuilder.splitOf(dist);
    mod.ptr(1);
    expect(load(dist.build(), mod.build())).toEqual({
      accepted: false, errno: -22, loads: true,
      log: ['BPF: [1] INT int ', 'BPF: size=4 bits_offset=0 nr_bits=32 encoding=(none)', 'BPF:  ', 'BPF: Invalid btf_info kind_flag', 'BPF: ', MISMATCH],
    });
  });

  it('checks .BTF.base as a base: No data, and its first string must be empty', () => {
    const noData = new Uint8Array(24);
    new DataView(noData.buffer).setUint16(0, 0xeb9f, true);
    noData[2] = 1;
    noData[4] = 24;
    const d = distBase();
    expect(load(noData, moduleOn(d).build()).log).toEqual(['BPF: No data', MISMATCH]);
    const badStr = d.dist.build();
    badStr[badStr.length - d.dist.strLen] = 0x41; // the base's string 0 is not ""
    expect(load(badStr, moduleOn(d).build()).log).toEqual(['BPF: Invalid string section', MISMATCH]);
  });

  it('silences the module\'s own type lines (it has a base_btf), as without .BTF.base', () => {
    const d = distBase();
    const m = BtfBuilder.splitOf(d.dist);
    m.add({ kind: Kind.PTR, kflag: true, sizeOrType: d.int });
    expect(load(d.dist.build(), m.build()).log).toEqual([MISMATCH]);
    expect(load(d.dist.build(), m.build(), '6.12', false).log).toEqual([
      'BPF: [4] PTR (anon) ', 'BPF: type_id=1', 'BPF:  ', 'BPF: Invalid btf_info kind_flag', 'BPF: ', `failed to validate module [${MOD}] BTF: -22`,
    ]);
  });

  it('rejects an anonymous type in the distilled base', () => {
    const dist = new BtfBuilder();
    dist.int('int', 4, 32, 1);
    dist.struct('', 8, []);
    const m = BtfBuilder.splitOf(dist);
    m.ptr(2);
    expect(load(dist.build(), m.build()).log).toEqual(['type [2], kind [4] is invalid for distilled base BTF; it is anonymous', MISMATCH]);
  });

  it('rejects kinds a distilled base cannot have', () => {
    const dist = new BtfBuilder();
    const int = dist.int('int', 4, 32, 1);
    dist.ptr(int);
    const m = BtfBuilder.splitOf(dist);
    m.ptr(2);
    expect(load(dist.build(), m.build()).log).toEqual(['type [2] in distilled based BTF has unexpected kind [2]', MISMATCH]);
  });

  it('rejects a distilled type vmlinux does not have', () => {
    const d = distBase();
    d.dist.struct('no_such_struct', 8, []);
    expect(load(d.dist.build(), moduleOn(d).build())).toEqual({
      accepted: false, errno: -22, loads: true, log: ["distilled base BTF type 'no_such_struct' [4] is not mapped to base BTF id", MISMATCH],
    });
  });

  it('matches INTs by size and encoding', () => {
    const dist = new BtfBuilder();
    dist.int('int', 4, 32, 0); // vmlinux's int is signed
    const m = BtfBuilder.splitOf(dist);
    m.ptr(1);
    expect(load(dist.build(), m.build()).log[0]).toBe("distilled base BTF type 'int' [1] is not mapped to base BTF id");
    const sized = new BtfBuilder();
    sized.int('long', 4, 32, 1); // vmlinux's long has 8 bytes
    const m2 = BtfBuilder.splitOf(sized);
    m2.ptr(1);
    expect(load(sized.build(), m2.build()).log[0]).toBe("distilled base BTF type 'long' [1] is not mapped to base BTF id");
  });

  it('needs sizes to match only for structs embedded by value', () => {
    const small = new BtfBuilder();
    const int = small.int('int', 4, 32, 1);
    const lh = small.struct('list_head', 8, []); // vmlinux: 16 bytes
    const byPointer = BtfBuilder.splitOf(small);
    const p = byPointer.ptr(lh);
    byPointer.struct('s', 8, [{ name: 'p', type: p, bitsOffset: 0 }]);
    expect(load(small.build(), byPointer.build()).accepted).toBe(true);
    const embedded = BtfBuilder.splitOf(small);
    const arr = embedded.array(lh, int, 2);
    embedded.typedef('lh_pair', arr);
    embedded.struct('s', 16, [{ name: 'l', type: embedded.nextId - 1, bitsOffset: 0 }]);
    expect(load(small.build(), embedded.build()).log[0]).toBe("distilled base BTF type 'list_head' [2] is not mapped to base BTF id");
  });

  it('maps a distilled ENUM onto a vmlinux ENUM64', () => {
    const base = new BtfBuilder();
    base.int('int', 4, 32, 1);
    base.enum64('big', 8, [['BIG_A', 1n << 40n]]);
    const dist = new BtfBuilder();
    dist.add({ nameOff: dist.str('big'), kind: Kind.ENUM, sizeOrType: 8 });
    const m = BtfBuilder.splitOf(dist);
    m.ptr(1);
    expect(load(dist.build(), m.build(), '6.12', true, Btf.parseBase(base.build())).accepted).toBe(true);
  });

  it('rejects a name that several same-sized vmlinux structs share', () => {
    const base = new BtfBuilder();
    const int = base.int('int', 4, 32, 1);
    base.struct('dup', 4, [{ name: 'a', type: int, bitsOffset: 0 }]);
    base.struct('dup', 4, [{ name: 'b', type: int, bitsOffset: 0 }]);
    const dist = new BtfBuilder();
    dist.struct('dup', 4, []);
    const m = BtfBuilder.splitOf(dist);
    m.ptr(1);
    expect(load(dist.build(), m.build(), '6.12', true, Btf.parseBase(base.build())).log).toEqual([
      "distilled base BTF type 'dup' [1], size 4 has multiple candidates of the same size (ids [3, 2]) in base BTF", MISMATCH,
    ]);
  });

  it('rejects a module string in the distilled range that names no mapped type (-ENOENT)', () => {
    const d = distBase();
    const unused = d.dist.str('unused_name');
    const m = BtfBuilder.splitOf(d.dist);
    m.add({ nameOff: unused, kind: Kind.TYPEDEF, sizeOrType: d.int });
    expect(load(d.dist.build(), m.build())).toEqual({
      accepted: false, errno: -2, loads: true, log: [`string '' [offset ${unused}] is not mapped to base BTF`, MISMATCH],
    });
  });

  it('reports a fault where the kernel dereferences NULL (a member type past the last type)', () => {
    const d = distBase();
    const m = BtfBuilder.splitOf(d.dist);
    m.struct('s', 8, [{ name: 'x', type: 999, bitsOffset: 0 }]);
    const v = load(d.dist.build(), m.build());
    expect(v).toMatchObject({ accepted: false, errno: 0, loads: false, log: [] });
    expect(v.fault).toMatch(/NULL/);
  });

  it('reports a fault where the kernel loops forever (an array of itself)', () => {
    const d = distBase();
    const m = BtfBuilder.splitOf(d.dist);
    const self = m.nextId;
    m.array(self, d.int, 2);
    m.struct('s', 8, [{ name: 'x', type: self, bitsOffset: 0 }]);
    const v = load(d.dist.build(), m.build());
    expect(v).toMatchObject({ accepted: false, errno: 0, loads: false, log: [] });
    expect(v.fault).toMatch(/forever/);
  });

});
