/**
 * Differential test of lib/kernel/relocate.ts against libbpf's btf__relocate from the 6.12 source
 * (tools/lib/bpf/btf_relocate.c: the very file the kernel compiles as kernel/bpf/btf_relocate.c).
 * Not part of the vitest suites: it needs that libbpf built. Random vmlinux / distilled base /
 * split triples that both sides parse are relocated by both; the result and every warning must
 * be equal. Distilled names are kept unique: glibc's qsort and the kernel's heapsort order equal
 * entries differently (lib/kernel/sort.ts replays the kernel's).
 *
 * Build (libelf-dev and zlib needed), from a 6.12 source tree T (linux-source-6.12):
 *   make -C $T/tools/lib/bpf OUTPUT=$PWD/libbpf/ BUILD_STATIC_ONLY=1 $PWD/libbpf/libbpf.a
 *   gcc -o reloc test/libbpf-diff/reloc.c -I$T/tools/lib/bpf -I$T/tools/include \
 *       -I$T/tools/include/uapi libbpf/libbpf.a -lelf -lz
 * Run: LIBBPF_RELOC=$PWD/reloc npx tsx test/libbpf-diff/relocate-diff.ts [seed] [cases]
 * Last run (seed 12, 2000 cases): 1586 compared (the rest rejected by the kernel's own checks
 * first), 0 mismatches, covering acceptance, -ENOENT and all five -EINVAL warnings.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Btf } from '../../lib/btf/btf.js';
import { Kind } from '../../lib/btf/kinds.js';
import { KernelLog } from '../../lib/kernel/log.js';
import { relocate } from '../../lib/kernel/relocate.js';
import { BtfVerifier, vmlinuxBase } from '../../lib/kernel/verifier.js';
import { KERNEL_RULES } from '../../rules/kernel/versions.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const relocBin = process.env.LIBBPF_RELOC;
if (!relocBin) throw new Error('set LIBBPF_RELOC to the built test/libbpf-diff/reloc.c harness (see the header)');

let seed = Number(process.argv[2] ?? 1);
const rnd = (n: number): number => {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (((t ^ (t >>> 14)) >>> 0) % n);
};
const pick = <T,>(a: readonly T[]): T => a[rnd(a.length)];
const NAMES = ['a', 'b', 'c', 'dup', 'list_head', 'x1', 'y2', 'zz'];
const SIZES = [1, 2, 4, 8, 16];

interface Spec { kind: number; name: string; size: number; enc: number; kflag: boolean }
let specs: Spec[] = [];
function genVmlinux(): BtfBuilder {
  specs = [{ kind: Kind.INT, name: 'int', size: 4, enc: 1, kflag: false }, { kind: Kind.INT, name: 'uint', size: 4, enc: 0, kflag: false }];
  const b = new BtfBuilder();
  const int = b.int('int', 4, 32, 1);
  b.int('uint', 4, 32, 0);
  const n = 4 + rnd(10);
  for (let k = 0; k < n; k++) {
    const name = pick(NAMES);
    const size = pick(SIZES);
    const enc = pick([0, 1]);
    const kflag = rnd(2) === 1;
    switch (rnd(8)) {
      case 0: b.int(name, Math.min(size, 8), undefined, enc); specs.push({ kind: Kind.INT, name, size: Math.min(size, 8), enc, kflag: false }); break;
      case 1: b.float(name, Math.max(2, size)); specs.push({ kind: Kind.FLOAT, name, size: Math.max(2, size), enc: 0, kflag: false }); break;
      case 2: b.enum(name, Math.min(size, 8), [['E' + k, 1]]); specs.push({ kind: Kind.ENUM, name, size: Math.min(size, 8), enc: 0, kflag: false }); break;
      case 3: b.enum64(name, 8, [['F' + k, 1n]]); specs.push({ kind: Kind.ENUM, name, size: 8, enc: 0, kflag: false }); break;
      case 4: b.struct(name, size, [{ name: 'm', type: int, bitsOffset: 0 }]); specs.push({ kind: Kind.STRUCT, name, size, enc: 0, kflag: false }); break;
      case 5: b.struct(name, size, [{ name: 'm', type: int, bitsOffset: 0 }], true); specs.push({ kind: Kind.UNION, name, size, enc: 0, kflag: false }); break;
      case 6: b.fwd(name, kflag); specs.push({ kind: Kind.FWD, name, size: 0, enc: 0, kflag }); break;
      default: b.typedef(name, int);
    }
  }
  return b;
}

function genDist(): BtfBuilder {
  const b = new BtfBuilder();
  const used = new Set<string>();
  const n = 1 + rnd(5);
  for (let k = 0; k < n; k++) {
    const fromVm = rnd(10) < 8 ? pick(specs) : undefined;
    const name = fromVm ? fromVm.name : pick(NAMES);
    if (used.has(name)) continue; // unique names: libbpf's qsort and the kernel's heapsort order equal entries differently
    used.add(name);
    const r = rnd(20);
    if (r === 0) { b.struct('', 4, []); continue; }
    if (r === 1) { b.ptr(1); continue; }
    if (fromVm && rnd(10) < 8) {
      switch (fromVm.kind) {
        case Kind.INT: b.int(name, fromVm.size, undefined, fromVm.enc); break;
        case Kind.FLOAT: b.float(name, fromVm.size); break;
        case Kind.ENUM: b.add({ nameOff: b.str(name), kind: Kind.ENUM, sizeOrType: fromVm.size }); break;
        case Kind.STRUCT: if (rnd(2)) b.struct(name, fromVm.size, []); else b.fwd(name, false); break;
        case Kind.UNION: if (rnd(2)) b.struct(name, fromVm.size, [], true); else b.fwd(name, true); break;
        default: b.fwd(name, fromVm.kflag);
      }
      continue;
    }
    switch (rnd(6)) {
      case 0: b.int(name, pick([1, 2, 4, 8]), undefined, pick([0, 1])); break;
      case 1: b.float(name, pick([4, 8])); break;
      case 2: b.add({ nameOff: b.str(name), kind: Kind.ENUM, sizeOrType: pick([1, 2, 4, 8]) }); break;
      case 3: b.struct(name, pick(SIZES), []); break;
      case 4: b.struct(name, pick(SIZES), [], true); break;
      default: b.fwd(name, rnd(2) === 1);
    }
    if (rnd(8) === 0) b.str('unused' + k);
  }
  return b;
}

function genSplit(dist: BtfBuilder): BtfBuilder {
  const m = BtfBuilder.splitOf(dist);
  const nDist = dist.nextId;
  const distIds = Array.from({ length: nDist - 1 }, (_, i) => i + 1);
  const n = 1 + rnd(5);
  for (let k = 0; k < n; k++) {
    const target = distIds.length ? pick(distIds) : 0;
    switch (rnd(6)) {
      case 0: m.ptr(target); break;
      case 1: if (target) m.struct('s' + k, 64, [{ name: 'e', type: target, bitsOffset: 0 }]); break;
      case 2: if (target) { const t = m.typedef('t' + k, target); m.struct('s' + k, 64, [{ name: 'e', type: t, bitsOffset: 0 }]); } break;
      case 3: if (target) { const a = m.array(target, target, 2); m.struct('s' + k, 64, [{ name: 'e', type: a, bitsOffset: 0 }]); } break;
      case 4: {
        // a name in the distilled string range (a distilled type's name, or not)
        const off = rnd(dist.strLen);
        if (target) m.add({ nameOff: off, kind: Kind.TYPE_TAG, sizeOrType: target });
        break;
      }
      default: m.modifier(Kind.CONST, target);
    }
  }
  return m;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relocate-diff-'));
const N = Number(process.argv[3] ?? 300);
const cases: { vm: Uint8Array; dist: Uint8Array; split: Uint8Array; name: string }[] = [];
for (let i = 0; i < N; i++) {
  const vmB = genVmlinux();
  const distB = genDist();
  const splitB = genSplit(distB);
  cases.push({ vm: vmB.build(), dist: distB.build(), split: splitB.build(), name: `${dir}/c${i}` });
}
const args: string[] = [];
for (const c of cases) {
  fs.writeFileSync(c.name + '.vm', c.vm); fs.writeFileSync(c.name + '.dist', c.dist); fs.writeFileSync(c.name + '.split', c.split);
  args.push(c.name + '.vm', c.name + '.dist', c.name + '.split');
}
const outText = execFileSync(relocBin, args, { encoding: 'latin1', maxBuffer: 1 << 26 });
// parse libbpf output: warnings separated by "\n@@\n", then "CASE <split> RESULT n"
const libbpf = new Map<string, { err: number | 'parse'; warns: string[] }>();
let pending: string[] = [];
let buf = outText;
const re = /CASE (\S+) (RESULT (-?\d+)|PARSEFAIL)\n/;
for (;;) {
  const m = re.exec(buf);
  if (!m) break;
  const before = buf.slice(0, m.index);
  pending.push(...before.split('\n@@\n').filter((s) => s.length).map((s) => s.replace(/^libbpf: /, '').replace(/\n$/, '')));
  libbpf.set(m[1].replace(/\.split$/, ''), { err: m[3] !== undefined ? Number(m[3]) : 'parse', warns: pending });
  pending = [];
  buf = buf.slice(m.index + m[0].length);
}
const rules = KERNEL_RULES['6.12'];
const stats: Record<string, number> = {};
let bad = 0;
for (const c of cases) {
  const lb = libbpf.get(c.name)!;
  const out = new KernelLog(rules);
  const vm = vmlinuxBase(Btf.parseBase(c.vm));
  const dv = new BtfVerifier(rules, c.dist, out, { silenceTypeLogs: false });
  if (dv.run()) { stats.kernelRejectsDist = (stats.kernelRejectsDist ?? 0) + 1; continue; }
  const mv = new BtfVerifier(rules, c.split, out, { base: dv.asBase(), silenceTypeLogs: false });
  if (mv.run()) { stats.kernelRejectsSplit = (stats.kernelRejectsSplit ?? 0) + 1; continue; }
  if (lb.err === 'parse') { stats.libbpfParseFail = (stats.libbpfParseFail ?? 0) + 1; continue; }
  const r = relocate(mv, dv.asBase(), vm, out);
  const mine = 'fault' in r ? r.fault : r.err;
  const key = `err ${mine} ${(out.lines[0] ?? '').replace(/'[^']*'/g, "'S'").replace(/\d+/g, 'N')}`;
  stats[key] = (stats[key] ?? 0) + 1;
  const same = mine === lb.err && JSON.stringify(out.lines) === JSON.stringify(lb.warns);
  if (!same) {
    bad++;
    if (bad <= 5) console.log('MISMATCH', c.name, 'mine', mine, JSON.stringify(out.lines), 'libbpf', lb.err, JSON.stringify(lb.warns));
  }
}
fs.rmSync(dir, { recursive: true, force: true });
console.log('stats', JSON.stringify(stats, null, 1), '\nmismatches', bad);
process.exitCode = bad ? 1 : 0;
