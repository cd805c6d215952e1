/**
 * lib/abi: base diff kinds, named-type counts, per-module validity across bases, symvers, verdict —
 * on hand-built BTF and on the real Debian bases bundled in samples/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { xz } from '@napi-rs/lzma';
import { describe, expect, it } from 'vitest';
import { Btf } from '../lib/btf/btf.js';
import { Kind } from '../lib/btf/kinds.js';
import {
  abiVerdict, compareBases, compareSymvers, moduleStaysValid, parseSymvers, summarizeDirection,
} from '../lib/abi/index.js';
import type { AbiModule } from '../lib/abi/index.js';
import { BtfBuilder, permuteTypes, smallBase } from './helpers/btf-builder.js';
import { runCli, sample } from './helpers/cli.js';
import { samplesDir } from './helpers/kernels.js';

/** The small base plus a few more types, so permutations and cycles have something to move. */
function richBase(extra?: (b: BtfBuilder, ids: Record<string, number>) => void): BtfBuilder {
  const { builder: b, ids } = smallBase();
  // Two structs pointing at each other: a cycle through pointers.
  const fwdA = b.nextId;
  const pa = b.add({ kind: Kind.PTR, sizeOrType: fwdA + 3 });
  const sB = b.struct('node_b', 8, [{ name: 'a', type: pa, bitsOffset: 0 }]);
  const pb = b.ptr(sB);
  b.struct('node_a', 16, [{ name: 'b', type: pb, bitsOffset: 0 }, { name: 'n', type: ids.int, bitsOffset: 64 }]);
  const proto = b.funcProto(ids.int, [{ name: 'dev', type: b.ptr(ids.device) }]);
  b.func('device_probe', proto);
  b.enum('state', 4, [['STATE_A', 0], ['STATE_B', 1]]);
  b.typedef('state_t', b.nextId - 1);
  extra?.(b, ids);
  return b;
}

const parse = (raw: Uint8Array): Btf => Btf.parseBase(raw);

describe('compareBases on hand-built bases', () => {
  it('a base against itself is identical', () => {
    const raw = richBase().build();
    const c = compareBases(parse(raw), parse(raw.slice()));
    expect(c.diff).toMatchObject({ kind: 'identical', firstTypeId: null, firstStrOff: null, added: 0, removed: 0, changed: 0 });
  });

  it('the same types re-ordered (ids renumbered consistently) are permuted, for every seed', () => {
    const raw = richBase().build();
    for (const seed of [1, 2, 3, 7, 42]) {
      const shuffled = permuteTypes(raw, seed);
      const c = compareBases(parse(raw), parse(shuffled));
      expect(c.diff.kind).toBe('permuted');
      expect(c.diff.firstTypeId).not.toBeNull();
      expect(c.diff.firstStrOff).toBeNull();
      expect([c.diff.added, c.diff.removed, c.diff.changed]).toEqual([0, 0, 0]);
    }
  });

  it('types and strings appended at the end are appended', () => {
    const old = richBase();
    const neu = richBase((b, ids) => { b.struct('brand_new', 4, [{ name: 'x', type: ids.int, bitsOffset: 0 }]); });
    const c = compareBases(parse(old.build()), parse(neu.build()));
    expect(c.diff).toMatchObject({ kind: 'appended', firstTypeId: old.nextId, firstStrOff: old.strLen, added: 1, removed: 0, changed: 0 });
  });

  it('a changed member is changed: first divergent id and string offset, counts by name', () => {
    const old = smallBase().builder;
    const { builder: neu, ids } = smallBase();
    void ids;
    // Same prefix, then a struct whose layout differs and one more named type.
    const o1 = old.struct('widget', 8, [{ name: 'w', type: 1, bitsOffset: 0 }]);
    old.struct('gone', 4, [{ name: 'g', type: 1, bitsOffset: 0 }]);
    const n1 = neu.struct('widget', 16, [{ name: 'w', type: 3, bitsOffset: 0 }]);
    neu.typedef('added_t', 1);
    expect(o1).toBe(n1);
    const c = compareBases(parse(old.build()), parse(neu.build()));
    expect(c.diff.kind).toBe('changed');
    expect(c.diff.firstTypeId).toBe(o1);
    expect(c.diff.firstStrOff).toBe(old.str('gone') === neu.str('added_t') ? null : Math.min(old.str('gone'), neu.str('added_t')));
    expect(c.diff).toMatchObject({ added: 1, removed: 1, changed: 1 });
    expect(c.diff.examples).toEqual({ added: ['TYPEDEF added_t'], removed: ['STRUCT gone'], changed: ['STRUCT widget'] });
  });

  it('a change deep down changes only the type that holds it, not every type pointing at it', () => {
    const mk = (size: number) => {
      const b = new BtfBuilder();
      const int = b.int('int', 4, 32, 1);
      const inner = b.struct('inner', size, [{ name: 'v', type: int, bitsOffset: 0 }]);
      b.struct('outer', 8, [{ name: 'p', type: b.ptr(inner), bitsOffset: 0 }]);
      return b.build();
    };
    const c = compareBases(parse(mk(4)), parse(mk(8)));
    expect(c.diff).toMatchObject({ kind: 'changed', added: 0, removed: 0, changed: 1, examples: { changed: ['STRUCT inner'] } });
    // Deep identity does see it: outer refers to a changed type.
    expect(c.identity.sameAt(4)).toBe(false);
  });

  it('handles a 1500-deep modifier chain and a long pointer cycle without recursion', () => {
    const mk = (last: number) => {
      const b = new BtfBuilder();
      const int = b.int('int', 4, 32, 1);
      let t = int;
      for (let i = 0; i < 1500; i++) t = b.modifier(Kind.CONST, t);
      b.typedef('deep_t', t);
      const first = b.nextId;
      for (let i = 0; i < 500; i++) b.ptr(i === 499 ? first : b.nextId + 1);
      b.struct('ring', 8, [{ name: 'p', type: first, bitsOffset: last }]);
      return b.build();
    };
    const raw = mk(0);
    expect(compareBases(parse(raw), parse(permuteTypes(raw, 5))).diff.kind).toBe('permuted');
    expect(compareBases(parse(raw), parse(mk(32))).diff).toMatchObject({ kind: 'changed', changed: 1 });
  });
});

describe('moduleStaysValid', () => {
  /** A module on top of `base` using int, struct primary_device and the string "flags". */
  function moduleOn(base: BtfBuilder, ids: Record<string, number>): Uint8Array {
    const m = BtfBuilder.splitOf(base);
    const p = m.ptr(ids.device);
    m.struct('my_dev', 16, [{ name: 'dev', type: p, bitsOffset: 0 }, { name: 'flags', type: ids.int, bitsOffset: 64 }]);
    return m.build();
  }

  it('valid on an identical base and on one where only an unreferenced type changed', () => {
    const { builder: a, ids } = smallBase();
    a.struct('unrelated', 4, [{ name: 'u', type: ids.int, bitsOffset: 0 }]);
    const { builder: b } = smallBase();
    b.struct('unrelated', 4, [{ name: 'u', type: ids.int, bitsOffset: 24 }]);
    const mod = moduleOn(a, ids);
    const c = compareBases(parse(a.build()), parse(b.build()));
    expect(c.diff.kind).toBe('changed');
    const v = moduleStaysValid(mod, c.oldBase, c.newBase, c.identity, 'old');
    expect(v).toMatchObject({ valid: true, reason: null });
    expect(v.baseTypeRefs).toBe(2);
  });

  it('invalid when a referenced base type changed deep down, or on a permuted base', () => {
    const { builder: a, ids } = smallBase();
    const mod = moduleOn(a, ids);
    // Same counts, but struct primary_device's member "flags" now is a long (deep change).
    const b = new BtfBuilder();
    const int = b.int('int', 4, 32, 1);
    const uint = b.int('unsigned int', 4, 32);
    const long = b.int('long', 8, 64, 1);
    b.int('char', 1, 8, 1);
    const lh = b.struct('list_head', 16, []);
    b.ptr(lh);
    b.struct('primary_device', 8, [{ name: 'id', type: int, bitsOffset: 0 }, { name: 'flags', type: long, bitsOffset: 32 }]);
    void uint;
    const changed = compareBases(parse(a.build()), parse(b.build()));
    const v = moduleStaysValid(mod, changed.oldBase, changed.newBase, changed.identity, 'old');
    expect(v.valid).toBe(false);
    expect(v.reason).toContain("STRUCT 'primary_device'");

    const permuted = compareBases(parse(a.build()), parse(permuteTypes(a.build(), 3)));
    expect(permuted.diff.kind).toBe('permuted');
    expect(moduleStaysValid(mod, permuted.oldBase, permuted.newBase, permuted.identity, 'old').valid).toBe(false);
  });

  it('invalid when the base grew: its own ids and strings shift', () => {
    const { builder: a, ids } = smallBase();
    const mod = moduleOn(a, ids);
    const { builder: b } = smallBase();
    b.typedef('extra_t', ids.int);
    const c = compareBases(parse(a.build()), parse(b.build()));
    expect(c.diff.kind).toBe('appended');
    const v = moduleStaysValid(mod, c.oldBase, c.newBase, c.identity, 'old');
    expect(v.valid).toBe(false);
    expect(v.reason).toMatch(/own type ids start at 8, the other base has 9 types/);
  });

  it('reads the module against its own side (built against new)', () => {
    const { builder: a, ids } = smallBase();
    const c = compareBases(parse(a.build()), parse(a.build()));
    expect(moduleStaysValid(moduleOn(a, ids), c.newBase, c.oldBase, c.identity, 'new').valid).toBe(true);
  });
});

describe('symvers and the verdict line', () => {
  const oldSyms = parseSymvers('0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n0xdeadbeef\tkmalloc\tvmlinux\tEXPORT_SYMBOL_GPL\n');
  const sameSyms = parseSymvers('0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n0xdeadbeef\tkmalloc\tvmlinux\tEXPORT_SYMBOL_GPL\n0x00000001\tnew_sym\tvmlinux\tEXPORT_SYMBOL\n');
  const otherSyms = parseSymvers('0x12345679\tprintk\tvmlinux\tEXPORT_SYMBOL\n');

  it('compares CRCs: additions are compatible, changes and removals are not', () => {
    expect(compareSymvers(oldSyms, sameSyms)).toMatchObject({ common: 2, crcChanged: 0, onlyOld: 0, onlyNew: 1, compatible: true });
    expect(compareSymvers(oldSyms, otherSyms)).toMatchObject({ common: 1, crcChanged: 1, onlyOld: 1, compatible: false });
    expect(() => parseSymvers('printk 0x1\n')).toThrow(/line 1 is not a Module.symvers entry/);
  });

  it('says "symbol-CRC compatible but BTF incompatible" when that is the trap', () => {
    const { builder: a } = smallBase();
    const { builder: b, ids } = smallBase();
    b.typedef('extra_t', ids.int);
    const diff = compareBases(parse(a.build()), parse(b.build())).diff;
    const mods: AbiModule[] = [
      { file: 'x.ko', module: 'x', status: 'rejected', kernelAccepted: false, errno: -22, staysValid: false, reason: 'r', error: null },
      { file: 'y.ko', module: 'y', status: 'mismatch', kernelAccepted: true, errno: 0, staysValid: false, reason: 'r', error: null },
      { file: 'z.ko', module: 'z', status: 'no-btf', kernelAccepted: null, errno: null, staysValid: null, reason: null, error: null },
    ];
    const dir = summarizeDirection({ version: '6.1', allowBtfMismatch: false }, mods, 0);
    expect(dir).toMatchObject({ modules: 3, accepted: 1, rejected: 1, noBtf: 1, silentMismatch: 1, staysValid: 0 });
    const v = abiVerdict(diff, dir, dir, compareSymvers(oldSyms, sameSyms));
    expect(v.compatible).toBe(false);
    expect(v.line).toMatch(/^BTF-INCOMPATIBLE: new base appends 1 types/);
    expect(v.line).toContain('symbol-CRC compatible but BTF incompatible');
    const same = compareBases(parse(a.build()), parse(a.build())).diff;
    expect(abiVerdict(same, null, null, null)).toEqual({ compatible: true, line: 'BTF-COMPATIBLE: bases identical' });
    expect(abiVerdict(diff, null, null, null).line).toContain('no module trees given');
  });
});

describe('compareBases on the bundled Debian bases (samples/)', () => {
  const load = (abi: string): Btf => parse(new Uint8Array(xz.decompressSync(fs.readFileSync(path.join(samplesDir(), abi, 'vmlinux.btf.xz')))));

  it('6.1.0-47 vs 6.1.0-56: changed, with the first divergent id/offset and named-type counts', () => {
    const t0 = performance.now();
    const c = compareBases(load('6.1.0-47-cloud-amd64'), load('6.1.0-56-cloud-amd64'));
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(c.diff).toMatchObject({
      kind: 'changed', firstTypeId: 37, firstStrOff: 4264, added: 333, removed: 161, changed: 269,
      old: { types: 94976, strLen: 1689866 }, new: { types: 95247, strLen: 1694074 },
    });
    expect(c.diff.examples.changed).toContain('STRUCT task_struct');
    expect(c.diff.firstType).toEqual({ old: "[37] TYPEDEF 's16'", new: "[37] CONST '(anon)'" });
  });

  it('a real base against itself is identical, re-ordered it is permuted', () => {
    const raw = new Uint8Array(xz.decompressSync(fs.readFileSync(path.join(samplesDir(), '6.12.117+deb12-cloud-amd64', 'vmlinux.btf.xz'))));
    expect(compareBases(parse(raw), parse(raw.slice())).diff.kind).toBe('identical');
    const c = compareBases(parse(raw), parse(permuteTypes(raw, 11)));
    expect(c.diff).toMatchObject({ kind: 'permuted', added: 0, removed: 0, changed: 0, firstStrOff: null });
  });
});

describe('btfcheck abi (command line, on samples/)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-abi-'));
  const OLD = '6.1.0-47-cloud-amd64';
  const NEW = '6.1.0-56-cloud-amd64';
  const base = (abi: string) => sample(abi, 'vmlinux.btf.xz');
  const mods = (abi: string) => sample(abi, 'lib');

  /** An unpacked kernel package: boot/vmlinuz-<release> (the xz raw base: read by content), boot/config, lib/modules. */
  function packageRoot(name: string, abi: string): string {
    const root = path.join(tmp, name);
    fs.mkdirSync(path.join(root, 'boot'), { recursive: true });
    fs.copyFileSync(base(abi), path.join(root, 'boot', `vmlinuz-${abi}`));
    fs.copyFileSync(sample(abi, 'config'), path.join(root, 'boot', `config-${abi}`));
    fs.cpSync(sample(abi, 'lib'), path.join(root, 'lib'), { recursive: true });
    return root;
  }

  it('two base files with module trees: changed, both directions counted, one verdict line, exit 1', () => {
    const r = runCli(['abi', '--old', base(OLD), '--new', base(NEW), '--old-modules', mods(OLD), '--new-modules', mods(NEW), '--kernel', '6.1', '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.baseDiff).toMatchObject({ kind: 'changed', firstTypeId: 37, firstStrOff: 4264, added: 333, removed: 161, changed: 269 });
    // The config beside each sample base (Debian 6.1: ALLOW_BTF_MISMATCH=y) is read.
    expect(j.newOnOld).toMatchObject({ modules: 12, accepted: 0, rejected: 12, staysValid: 0, silentMismatch: 0, kernel: { version: '6.1', allowBtfMismatch: true } });
    expect(j.oldOnNew).toMatchObject({ modules: 12, accepted: 2, rejected: 10, staysValid: 0, silentMismatch: 2 });
    expect(j.modules.oldOnNew.filter((m: { kernelAccepted: boolean }) => m.kernelAccepted).map((m: { module: string }) => m.module).sort()).toEqual(['cordic', 'ctr']);
    expect(j.verdict).toBe("BTF-INCOMPATIBLE: bases changed from type [37] and string offset 4264 (named types: +333 -161 ~269); NEW's modules on OLD's kernel: 12 rejected, 0 valid of 12; OLD's modules on NEW's kernel: 10 rejected, 2 silently mismatched, 0 valid of 12");
  });

  it('unpacked package roots: base, modules and .config found inside; text ends with the verdict', () => {
    const r = runCli(['abi', '--old', packageRoot('old', OLD), '--new', packageRoot('new', NEW)]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`modules: ${path.join(tmp, 'old', 'lib', 'modules', OLD)}`);
    // Debian's config sets CONFIG_MODULE_ALLOW_BTF_MISMATCH=y: rejected modules still load.
    expect(r.stdout).toContain('(kernel 6.1, CONFIG_MODULE_ALLOW_BTF_MISMATCH=y): 12 modules');
    expect(r.stdout).toContain('12 rejected (12 still load, without BTF)');
    expect(r.stdout.trimEnd().split('\n').pop()).toMatch(/^BTF-INCOMPATIBLE: bases changed/);
  });

  it('a Fedora-style root (lib/modules/<release>/vmlinuz and config) is found too', () => {
    const root = path.join(tmp, 'fedora');
    fs.cpSync(sample(OLD, 'lib'), path.join(root, 'usr', 'lib'), { recursive: true });
    const tree = path.join(root, 'usr', 'lib', 'modules', OLD);
    fs.copyFileSync(base(OLD), path.join(tree, 'vmlinuz'));
    fs.copyFileSync(sample(OLD, 'config'), path.join(tree, 'config'));
    const r = runCli(['abi', '--old', root, '--new', packageRoot('fedora-new', OLD), '--format', 'json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.old).toMatchObject({ base: path.join(tree, 'vmlinuz'), modules: [tree] });
    expect(j.newOnOld.kernel).toEqual({ version: '6.1', allowBtfMismatch: true });
  });

  it('a package against itself is compatible (exit 0); symbol CRCs that agree expose the BTF trap', () => {
    const same = runCli(['abi', '--old', packageRoot('same', OLD), '--new', path.join(tmp, 'same'), '--format', 'json']);
    expect(same.status).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ compatible: true, baseDiff: { kind: 'identical' }, newOnOld: { staysValid: 12, rejected: 0 } });
    const symvers = path.join(tmp, 'Module.symvers');
    fs.writeFileSync(symvers, '0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n');
    const trap = runCli(['abi', '--old', base(OLD), '--new', base(NEW), '--new-modules', mods(NEW), '--kernel', '6.1', '--old-symvers', symvers, '--new-symvers', symvers]);
    expect(trap.status).toBe(1);
    expect(trap.stdout).toContain('symbol CRCs (Module.symvers): 1 common, 0 changed, 0 only old, 0 only new: compatible');
    expect(trap.stdout.trimEnd().split('\n').pop()).toMatch(/; symbol-CRC compatible but BTF incompatible$/);
  });

  it('a re-ordered base of the same size: permuted; each module read again and found invalid', () => {
    const permuted = path.join(tmp, 'permuted.btf');
    fs.writeFileSync(permuted, permuteTypes(new Uint8Array(xz.decompressSync(fs.readFileSync(base(OLD)))), 9));
    const r = runCli(['abi', '--old', base(OLD), '--new', permuted, '--old-modules', mods(OLD), '--kernel', '6.1', '--format', 'json']);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.baseDiff.kind).toBe('permuted');
    expect(j.newOnOld).toBeNull();
    expect(j.oldOnNew).toMatchObject({ modules: 12, staysValid: 0 });
    for (const m of j.modules.oldOnNew) expect(m.reason).toMatch(/^base type \[\d+\] .* in the other base$/);
  });

  it('input errors: one line naming the file, exit 2', () => {
    const missing = runCli(['abi', '--old', path.join(tmp, 'nope'), '--new', base(NEW)]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.split('\n')[0]).toBe(`btfcheck: --old ${path.join(tmp, 'nope')}: no such file or directory`);
    const empty = path.join(tmp, 'empty-dir');
    fs.mkdirSync(empty, { recursive: true });
    const notPkg = runCli(['abi', '--old', empty, '--new', base(NEW)]);
    expect(notPkg.status).toBe(2);
    expect(notPkg.stderr).toMatch(/empty-dir: no boot\/vmlinuz-\*, usr\/lib\/modules\/\*\/vmlinuz or lib\/modules\/\*\/vmlinuz in this directory/);
    expect(notPkg.stderr).not.toMatch(/\n\s+at /);
    const help = runCli(['abi', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--old-symvers');
    expect(help.stdout).toContain('Examples:');
  });
});

/**
 * Debian 7.x: a kernel is three packages, linux-binary-<release> (usr/lib/modules/<release>/vmlinuz),
 * linux-modules-<release> (.../kernel/) and linux-base-<release> (.../config), unpacked into one
 * root; the 7.2 sample trees hold the base at the top beside usr/lib/modules/<release>/.
 */
describe('btfcheck abi on Debian 7.x roots (samples/ 7.2.12+deb13, 7.2.13+deb14)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-abi7-'));
  const R12 = '7.2.12+deb13-cloud-amd64';
  const R13 = '7.2.13+deb14-cloud-amd64';
  const tree7 = (abi: string) => sample(abi, 'usr', 'lib', 'modules', abi);
  const DIFF = { kind: 'changed', firstTypeId: 1, firstStrOff: 12278, added: 95, removed: 832, changed: 471 };

  /** linux-binary + linux-modules + linux-base of `abi` unpacked into one root, plus files in updates/. */
  function root7(name: string, abi: string, updates: string[] = []): { root: string; tree: string } {
    const root = path.join(tmp, name);
    const tree = path.join(root, 'usr', 'lib', 'modules', abi);
    fs.mkdirSync(tree, { recursive: true });
    fs.copyFileSync(sample(abi, 'vmlinux.btf.xz'), path.join(tree, 'vmlinuz'));
    fs.copyFileSync(path.join(tree7(abi), 'config'), path.join(tree, 'config'));
    fs.cpSync(path.join(tree7(abi), 'kernel'), path.join(tree, 'kernel'), { recursive: true });
    for (const f of updates) {
      fs.mkdirSync(path.join(tree, 'updates', 'dkms'), { recursive: true });
      fs.copyFileSync(f, path.join(tree, 'updates', 'dkms', path.basename(f)));
    }
    return { root, tree };
  }

  it('the sample trees: changed, every module rejected both ways, ALLOW_BTF_MISMATCH=n read from each tree, exit 1', () => {
    const r = runCli(['abi', '--old', sample(R12), '--new', sample(R13), '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.baseDiff).toMatchObject(DIFF);
    for (const [side, abi] of [[j.old, R12], [j.new, R13]] as const) {
      expect(side).toMatchObject({ base: sample(abi, 'vmlinux.btf.xz'), release: abi, modules: [tree7(abi)] });
      expect(side.kernel).toMatchObject({ version: abi.replace(/\+.*/, ''), allowBtfMismatch: false, config: path.join(tree7(abi), 'config') });
    }
    expect(j.newOnOld).toMatchObject({ modules: 8, accepted: 0, rejected: 8, loadsWithoutBtf: 0, staysValid: 0, silentMismatch: 0, kernel: { version: '7.2.12', allowBtfMismatch: false } });
    expect(j.oldOnNew).toMatchObject({ modules: 8, accepted: 0, rejected: 8, loadsWithoutBtf: 0, staysValid: 0, silentMismatch: 0, kernel: { version: '7.2.13', allowBtfMismatch: false } });
    expect(j.verdict).toBe("BTF-INCOMPATIBLE: bases changed from type [1] and string offset 12278 (named types: +95 -832 ~471); NEW's modules on OLD's kernel: 8 rejected, 0 valid of 8; OLD's modules on NEW's kernel: 8 rejected, 0 valid of 8");
  });

  it('unpacked linux-binary/-modules/-base roots: usr/lib/modules/<release>/vmlinuz, config, kernel/ and updates/', () => {
    const dmZero12 = path.join(tree7(R12), 'kernel', 'drivers', 'md', 'dm-zero.ko.xz');
    const old = root7('old', R12);
    const neu = root7('new', R13, [dmZero12]);
    const r = runCli(['abi', '--old', old.root, '--new', neu.root]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`old: ${path.join(old.tree, 'vmlinuz')} (${R12}): 119551 types, 2185975 string bytes; modules: ${old.tree}\n`);
    expect(r.stdout).toContain(`CONFIG_MODULE_ALLOW_BTF_MISMATCH=n read from ${path.join(neu.tree, 'config')}\n`);
    // updates/ is part of the release's tree: 8 packaged modules and the DKMS one.
    expect(r.stdout).toContain("NEW's modules on OLD's kernel (kernel 7.2.12, CONFIG_MODULE_ALLOW_BTF_MISMATCH=n): 9 modules");
    expect(r.stdout).not.toContain('still load');
    expect(r.stdout).not.toMatch(/cannot check|no kernel image/);
    // The same root against itself: identical bases (the builds are interchangeable, exit 0), and
    // the 7.2.12 module in updates/ is still listed as rejected on either side.
    const same = runCli(['abi', '--old', neu.root, '--new', neu.root, '--format', 'json']);
    expect(same.status).toBe(0);
    const j = JSON.parse(same.stdout);
    expect(j.baseDiff.kind).toBe('identical');
    expect(j.newOnOld).toMatchObject({ modules: 9, rejected: 1, accepted: 8 });
    expect(j.modules.newOnOld.filter((m: { kernelAccepted: boolean }) => !m.kernelAccepted).map((m: { file: string }) => m.file)).toEqual([path.join(neu.tree, 'updates', 'dkms', 'dm-zero.ko.xz')]);
  });

  it('a merged-/usr root (lib -> usr/lib) reads each tree once', () => {
    const { root, tree } = root7('merged', R13);
    fs.symlinkSync(path.join('usr', 'lib'), path.join(root, 'lib'));
    const r = runCli(['abi', '--old', root, '--new', root, '--format', 'json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.old.modules).toHaveLength(1);
    expect(fs.realpathSync(j.old.modules[0])).toBe(fs.realpathSync(tree));
    expect(j.newOnOld.modules).toBe(8);
  });

  it('linux-modules unpacked without linux-binary: one line saying the image is missing and where it comes from, exit 2', () => {
    const { root, tree } = root7('modules-only', R13);
    fs.rmSync(path.join(tree, 'vmlinuz'));
    const r = runCli(['abi', '--old', root, '--new', sample(R13)]);
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${root}: no kernel image for the module tree usr/lib/modules/${R13}`);
    expect(r.stderr).toContain('linux-binary-<release>');
  });
});

describe('btfcheck abi for CI: JUnit, the first divergent type, assumed kernels (samples/)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-abi-ci-'));
  const R12 = '7.2.12+deb13-cloud-amd64';
  const R13 = '7.2.13+deb14-cloud-amd64';
  const schema = fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'junit.xsd'), 'utf8');

  it('--format junit: the base diff and a testcase per module and direction, valid against the JUnit schema', async () => {
    const r = runCli(['abi', '--old', sample(R12), '--new', sample(R13), '--format', 'junit']);
    expect(r.status).toBe(1);
    const { validateXML } = await import('xmllint-wasm');
    const res = await validateXML({ xml: [{ fileName: 'abi.xml', contents: r.stdout }], schema: [{ fileName: 'junit.xsd', contents: schema }] });
    expect(res.errors).toEqual([]);
    const json = JSON.parse(runCli(['abi', '--old', sample(R12), '--new', sample(R13), '--format', 'json']).stdout);
    const cases = r.stdout.match(/<testcase /g) ?? [];
    expect(cases).toHaveLength(1 + json.newOnOld.modules + json.oldOnNew.modules);
    expect(r.stdout).toContain('classname="btfcheck.abi.newOnOld"');
    expect(r.stdout).toMatch(/<failure message="kernel 7\.2\.12 rejects its BTF: errno -22; the module does not load" type="rejected">BPF: /);
    expect(r.stdout).toContain('differs: refers to type');
  });

  it('the first divergent type says what differs, not only two kinds', () => {
    const r = runCli(['abi', '--old', sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz'), '--new', sample('6.1.0-56-cloud-amd64', 'vmlinux.btf.xz'), '--kernel', '6.1', '--format', 'json']);
    const d = JSON.parse(r.stdout).baseDiff;
    expect(d.firstTypeDetail).toMatchObject({ old: { kind: 'TYPEDEF', name: 's16' }, new: { kind: 'CONST', chain: "CONST -> TYPEDEF 'u8'" }, differs: 'kind TYPEDEF -> CONST' });
    const text = runCli(['abi', '--old', sample(R12), '--new', sample(R13)]).stdout;
    expect(text).toMatch(/type \[1\]: old CONST -> INT 'long unsigned int' \(8 bytes\)\n\s+new CONST -> INT 'long unsigned int' \(8 bytes\)\n\s+differs: refers to type \[\d+\] -> \[\d+\]/);
  });

  it('a raw BTF without a release takes the other side\'s kernel and says so; a side without a config says what it assumed', () => {
    const lone = path.join(tmp, 'lone.btf.xz');
    fs.copyFileSync(sample(R12, 'vmlinux.btf.xz'), lone);
    const r = runCli(['abi', '--old', lone, '--new', sample(R13), '--format', 'json']);
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout);
    expect(j.old.kernel.version).toBe('7.2.13');
    expect(j.old.kernel.notes).toContain(`${lone} is raw BTF and tells no release: assumed the new build's kernel, ${R13} (--kernel to say otherwise)`);
    expect(j.old.kernel.notes).toContain('old build: no kernel .config beside its base: CONFIG_MODULE_ALLOW_BTF_MISMATCH assumed n (--config or --allow-btf-mismatch to say otherwise)');
    const both = runCli(['abi', '--old', lone, '--new', lone]);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/pass --kernel/);
  });
});
