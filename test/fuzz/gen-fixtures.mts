/**
 * Re-makes the hand-made files in test/fixtures/fuzz-regressions/ (inputs of bugs fuzzing found,
 * shrunk by hand or rebuilt small): `npx tsx test/fuzz/gen-fixtures.mts`. Needs the xz tool.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadCorpus } from './corpus.js';
import { REGRESSIONS_DIR } from './harness.js';
import { FuzzCase } from './cases.js';
import { BtfBuilder, smallBase } from '../helpers/btf-builder.js';
import { moduleElf } from './corpus.js';
const corpus = loadCorpus();
import { spawnSync } from 'node:child_process';
import { materialize } from './cases.js';
const save = (name: string, c: FuzzCase, sig: string) => { const m = materialize(c, corpus) as any; hand(name, x(m.bytes), m.target, m.base, sig, c); };
// (a) identity: a 100k chain of pointers as a base (xz)
save('base-pointer-chain.base.xz', { t: 'btf', spec: { split: false, strings: [], types: [], chain: { length: 100000, kinds: [2], cyclic: false }, unterminated: [], header: {} }, as: 'base', container: 'none' }, 'base: over 2000 ms (abi joint identity, quadratic on a pointer chain)');
// (b) graph names: 65k params naming one long string (xz)
// (the case as fuzzing found it, kept in the fixture's sidecar)
const stuck = JSON.parse(fs.readFileSync(path.join(REGRESSIONS_DIR, 'base-long-name-params.base.xz.json'), 'utf8')).fuzzCase;
save('base-long-name-params.base.xz', { ...stuck, container: 'none' }, 'base: over 2000 ms (abi name hashing per record)');
// hand-made ones: raw bytes + sidecar
function hand(name: string, bytes: Uint8Array, target: string, base: string, signature: string, fuzzCase: FuzzCase | null = null) {
  fs.writeFileSync(path.join(REGRESSIONS_DIR, name), bytes);
  fs.writeFileSync(path.join(REGRESSIONS_DIR, name + '.json'), JSON.stringify({ file: `test/fixtures/fuzz-regressions/${name}`, target, base, signature, fuzzCase }) + '\n');
  console.log(name, bytes.length);
}
function x(b: Uint8Array): Uint8Array { return new Uint8Array(spawnSync('xz', ['-c', '-6', '--check=crc32'], { input: b, maxBuffer: 1 << 28 }).stdout); }
{ // (c) named declarations over one anonymous cluster
  const b = new BtfBuilder();
  const int = b.int('int', 4, 32, 1);
  const first = b.nextId;
  for (let i = 0; i < 5000; i++) b.ptr(i === 4999 ? int : b.nextId + 1);
  for (let i = 0; i < 8000; i++) b.typedef(`t${i}`, first);
  hand('base-named-walk.base', x(b.build()), 'base', 'small', 'base: over 2000 ms (abi named declarations walk)');
}
{ // (d) 1 MB member names in a module's findings
  const { builder: small } = smallBase();
  const split = BtfBuilder.splitOf(small);
  const int = split.int('myint', 4, 32, 1);
  split.struct('s', 4, [{ name: 'm'.repeat(1 << 20), type: int, bitsOffset: 64 }, { name: 'n'.repeat(1 << 20), type: 0x7ffff, bitsOffset: 0 }]);
  hand('module-long-member-name.ko.xz', x(moduleElf('long_names', split.build())), 'module', 'small', 'check: bad finding message (1 MB member name)');
}
{ // (e) a flood of failures of one module, for explain with the module file
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) lines.push(`[ ${i}.000000] BPF: [${1000 + i}] STRUCT foo size=8 vlen=1`, `[ ${i}.000001] BPF: Invalid name`, `[ ${i}.000002] failed to validate module [ctr] BTF: -22`);
  hand('explain-flood.log', new TextEncoder().encode(lines.join('\n') + '\n'), 'explain', '6.1.0-47-cloud-amd64', 'explain: over 2000 ms (one diagnosis per failure)');
}
{ // (f) 65k union members pointing into a 100k modifier chain, for the diagnosis
  const { builder: small } = smallBase();
  const split = BtfBuilder.splitOf(small);
  const first = split.nextId;
  for (let i = 0; i < 100_000; i++) split.modifier(9, i === 99_999 ? 1 : split.nextId + 1); // VOLATILE chain to int
  split.add({ kind: 5, vlen: 0xffff, sizeOrType: 4, extra: Array.from({ length: 0xffff * 3 }, (_, k) => (k % 3 === 1 ? first + ((k * 7) % 100_000) : 0)) });
  hand('module-members-into-chain.ko.xz', x(moduleElf('chain_members', split.build())), 'module', 'small', 'check: over 2000 ms (diagnose resolved a modifier chain per member)');
}
