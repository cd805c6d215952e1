/**
 * Issue 4, acceptance 2: `abi` on the real Debian builds. 6.1.0-47 vs 6.1.0-56 and 6.12.115 vs
 * 6.12.117 are "changed" with the counts below (cross-checked by an independent, string-based
 * count of named declarations); a base against itself is "identical"; a real base re-ordered with
 * ids renumbered consistently is "permuted". The whole-package run goes through the CLI.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareBases } from '../../lib/abi/index.js';
import { Btf } from '../../lib/btf/btf.js';
import { Kind, KIND_NAMES } from '../../lib/btf/kinds.js';
import { permuteTypes } from '../helpers/btf-builder.js';
import { cliPath, repoRoot } from '../helpers/cli.js';
import { buildLayout, moduleFiles, requireKernels } from '../helpers/kernels.js';

const root = requireKernels();
const raw = (abi: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(root, abi, 'vmlinux.btf')));
const base = (abi: string): Btf => Btf.parseBase(raw(abi));

const COUNTED = new Set<number>([Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FWD, Kind.TYPEDEF, Kind.FUNC, Kind.VAR, Kind.DATASEC, Kind.FLOAT]);

/**
 * An independent count: each named type spelled as text — its own fields, and everything anonymous
 * it is made of spelled inline down to the next named type — then compared by kind and name.
 */
function declarations(btf: Btf): Map<string, string[]> {
  const spell = (id: number, top: number, seen: Set<number>): string => {
    if (id === 0) return 'void';
    const t = btf.type(id);
    if (!t) return `dangling(${id})`;
    const name = btf.str(t.nameOff) ?? '';
    if (name && id !== top) return `${t.kindName} ${name}`;
    if (seen.has(id)) return `back(${[...seen].indexOf(id)})`;
    seen.add(id);
    const n = (off: number) => JSON.stringify(btf.str(off) ?? `@${off}`);
    const parts = [t.kindName, JSON.stringify(name), String(t.info & 0x8000ffff)];
    switch (t.kind) {
      case Kind.INT: parts.push(`${t.sizeOrType}/${t.int!.encoding}/${t.int!.offset}/${t.int!.bits}`); break;
      case Kind.ARRAY: parts.push(`[${t.array!.nelems}]`, spell(t.array!.type, top, seen), spell(t.array!.indexType, top, seen)); break;
      case Kind.STRUCT: case Kind.UNION:
        parts.push(String(t.sizeOrType), ...t.members!.map((m) => `${n(m.nameOff)}@${m.bitsOffset}:${m.bitfieldSize}=${spell(m.type, top, seen)}`));
        break;
      case Kind.ENUM: case Kind.ENUM64: parts.push(String(t.sizeOrType), ...t.values!.map((v) => `${n(v.nameOff)}=${v.value}`)); break;
      case Kind.FUNC_PROTO: parts.push(spell(t.sizeOrType, top, seen), ...t.params!.map((p) => `${n(p.nameOff)}:${spell(p.type, top, seen)}`)); break;
      case Kind.VAR: parts.push(String(t.linkage), spell(t.sizeOrType, top, seen)); break;
      case Kind.DATASEC: parts.push(String(t.sizeOrType), ...t.secinfos!.map((s) => `${s.offset}+${s.size}=${spell(s.type, top, seen)}`)); break;
      case Kind.DECL_TAG: parts.push(String(t.componentIdx), spell(t.sizeOrType, top, seen)); break;
      case Kind.PTR: case Kind.TYPEDEF: case Kind.VOLATILE: case Kind.CONST: case Kind.RESTRICT: case Kind.TYPE_TAG: case Kind.FUNC:
        parts.push(spell(t.sizeOrType, top, seen));
        break;
      default: parts.push(String(t.sizeOrType));
    }
    return `{${parts.join(' ')}}`;
  };
  const out = new Map<string, string[]>();
  for (let id = 1; id < btf.nrTypes; id++) {
    const t = btf.type(id)!;
    const name = btf.str(t.nameOff) ?? '';
    if (!name || !COUNTED.has(t.kind)) continue;
    const key = `${KIND_NAMES[t.kind]} ${name}`;
    const list = out.get(key) ?? [];
    list.push(spell(id, id, new Set()));
    out.set(key, list);
  }
  return out;
}

function independentCounts(a: Btf, b: Btf): { added: number; removed: number; changed: number } {
  const before = declarations(a);
  const after = declarations(b);
  let added = 0;
  let removed = 0;
  let changed = 0;
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const olds = [...(before.get(key) ?? [])];
    const news = [...(after.get(key) ?? [])];
    const rest: string[] = [];
    for (const s of olds) {
      const i = news.indexOf(s);
      if (i >= 0) news.splice(i, 1);
      else rest.push(s);
    }
    const c = Math.min(rest.length, news.length);
    changed += c;
    removed += rest.length - c;
    added += news.length - c;
  }
  return { added, removed, changed };
}

describe.each([
  ['6.1.0-47-cloud-amd64', '6.1.0-56-cloud-amd64', { firstTypeId: 37, firstStrOff: 4264, added: 333, removed: 161, changed: 269 }],
  ['6.12.115+deb12-cloud-amd64', '6.12.117+deb12-cloud-amd64', { firstTypeId: 150, firstStrOff: 40728, added: 20, removed: 6, changed: 27 }],
])('%s vs %s', (oldAbi, newAbi, expected) => {
  it('is "changed" with the first divergent type id and string offset and the named-type counts', () => {
    const a = base(oldAbi);
    const b = base(newAbi);
    const t0 = performance.now();
    const c = compareBases(a, b);
    const ms = performance.now() - t0;
    expect(c.diff).toMatchObject({ kind: 'changed', ...expected });
    expect(ms).toBeLessThan(5_000);
    // The counts agree with the independent text-based count.
    expect(independentCounts(a, b)).toEqual({ added: expected.added, removed: expected.removed, changed: expected.changed });
    // The first divergent id really is the first record that differs, and the one before is equal.
    const rec = (btf: Btf, id: number) => { const t = btf.type(id)!; return btf.types.bytes.subarray(t.offset, t.offset + t.length).join(','); };
    expect(rec(a, expected.firstTypeId)).not.toBe(rec(b, expected.firstTypeId));
    expect(rec(a, expected.firstTypeId - 1)).toBe(rec(b, expected.firstTypeId - 1));
    expect(a.strings.bytes[expected.firstStrOff]).not.toBe(b.strings.bytes[expected.firstStrOff]);
  });

  it('each base against itself is "identical"', () => {
    for (const abi of [oldAbi, newAbi]) expect(compareBases(base(abi), base(abi)).diff.kind).toBe('identical');
  });

  it('a base re-ordered by the test helper (ids renumbered consistently) is "permuted"', () => {
    const bytes = raw(newAbi);
    const c = compareBases(Btf.parseBase(bytes), Btf.parseBase(permuteTypes(bytes, 2024)));
    expect(c.diff).toMatchObject({ kind: 'permuted', added: 0, removed: 0, changed: 0, firstStrOff: null });
  });
});

describe('btfcheck abi on the unpacked packages', () => {
  it('6.12.115 vs 6.12.117: changed, every module rejected or mismatched both ways, exit 1', () => {
    const r = spawnSync(process.execPath, [cliPath, 'abi', '--old', path.join(root, '6.12.115+deb12-cloud-amd64'), '--new', path.join(root, '6.12.117+deb12-cloud-amd64'), '--format', 'json'], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.baseDiff).toMatchObject({ kind: 'changed', added: 20, removed: 6, changed: 27 });
    expect(j.compatible).toBe(false);
    expect(j.verdict).toMatch(/^BTF-INCOMPATIBLE: /);
    for (const d of [j.newOnOld, j.oldOnNew]) {
      expect(d.modules).toBeGreaterThan(1000);
      expect(d.staysValid).toBe(0);
      expect(d.accepted + d.rejected + d.noBtf + d.errors).toBe(d.modules);
      expect(d.silentMismatch).toBe(d.accepted);
    }
    expect(j.modules.newOnOld.length).toBe(j.newOnOld.modules);
  });

  it('a package against itself: identical, every module valid, exit 0', () => {
    const pkg = path.join(root, '6.1.0-47-cloud-amd64');
    const r = spawnSync(process.execPath, [cliPath, 'abi', '--old', pkg, '--new', pkg, '--format', 'json'], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.baseDiff.kind).toBe('identical');
    expect(j.newOnOld.rejected).toBe(0);
    expect(j.newOnOld.staysValid).toBe(j.newOnOld.modules - j.newOnOld.noBtf);
    expect(j.verdict).toBe('BTF-COMPATIBLE: bases identical; NEW\'s modules on OLD\'s kernel: 0 rejected, ' +
      `${j.newOnOld.accepted} valid of ${j.newOnOld.modules}; OLD's modules on NEW's kernel: 0 rejected, ${j.oldOnNew.accepted} valid of ${j.oldOnNew.modules}`);
  });
});

/**
 * Issue 8, acceptance 4: `abi` on the Debian 7.x packages as on 6.x. Each root is linux-binary +
 * linux-modules + linux-base unpacked together (usr/lib/modules/<abi>/{vmlinuz,config,kernel/});
 * no --kernel, no --config: both come from the trees.
 */
describe('btfcheck abi on the unpacked Debian 7.x packages', () => {
  const OLD7 = '7.2.12+deb13-cloud-amd64';
  const NEW7 = '7.2.13+deb14-cloud-amd64';

  it('the 7.2 bases (sorted by name, anonymous types first): changed from type [1], counts agree with the independent count', () => {
    requireKernels([OLD7, NEW7]);
    const a = base(OLD7);
    const b = base(NEW7);
    const c = compareBases(a, b);
    expect(c.diff).toMatchObject({ kind: 'changed', firstTypeId: 1, firstStrOff: 12278, added: 95, removed: 832, changed: 471 });
    expect(independentCounts(a, b)).toEqual({ added: 95, removed: 832, changed: 471 });
    expect(compareBases(a, base(OLD7)).diff.kind).toBe('identical');
  });

  it('7.2.12 vs 7.2.13: changed, every module rejected (not loadable) both ways, ALLOW_BTF_MISMATCH=n read from each tree, exit 1', () => {
    const root7 = requireKernels([OLD7, NEW7]);
    const pkg = (abi: typeof OLD7 | typeof NEW7) => path.join(root7, abi);
    const run = (format: string) => spawnSync(process.execPath, [cliPath, 'abi', '--old', pkg(OLD7), '--new', pkg(NEW7), '--format', format], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 28 });
    const t0 = performance.now();
    const r = run('json');
    const ms = performance.now() - t0;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.baseDiff).toMatchObject({ kind: 'changed', firstTypeId: 1, firstStrOff: 12278, added: 95, removed: 832, changed: 471 });
    for (const [side, abi, version] of [[j.old, OLD7, '7.2.12'], [j.new, NEW7, '7.2.13']] as const) {
      const layout = buildLayout(abi);
      expect(side).toMatchObject({ base: path.join(pkg(abi), layout.vmlinuz), release: abi, modules: [path.join(pkg(abi), layout.modules)] });
      expect(side.kernel).toMatchObject({ version, rules: version, allowBtfMismatch: false, config: path.join(pkg(abi), layout.config), vmlinux: null, validatesModuleBtf: true });
    }
    for (const [d, list, abi, version] of [[j.newOnOld, j.modules.newOnOld, NEW7, '7.2.12'], [j.oldOnNew, j.modules.oldOnNew, OLD7, '7.2.13']] as const) {
      const count = moduleFiles(abi).length;
      expect(count).toBeGreaterThan(1000);
      expect(d).toEqual({
        kernel: { version, allowBtfMismatch: false }, modules: count, accepted: 0, rejected: count, loadsWithoutBtf: 0, noBtf: 0, errors: 0, staysValid: 0, silentMismatch: 0,
      });
      expect(list).toHaveLength(count);
      for (const m of list) expect(m).toMatchObject({ status: 'rejected', kernelAccepted: false, errno: -22, staysValid: false });
    }
    const n = moduleFiles(NEW7).length;
    const o = moduleFiles(OLD7).length;
    expect(j.verdict).toBe(`BTF-INCOMPATIBLE: bases changed from type [1] and string offset 12278 (named types: +95 -832 ~471); NEW's modules on OLD's kernel: ${n} rejected, 0 valid of ${n}; OLD's modules on NEW's kernel: ${o} rejected, 0 valid of ${o}`);
    console.log(`abi 7.2.12 vs 7.2.13 (${n} + ${o} modules): ${Math.round(ms)} ms`);

    // The text report: where each side's kernel and config came from, and the same verdict line.
    const text = run('text');
    expect(text.status).toBe(1);
    for (const abi of [OLD7, NEW7]) expect(text.stdout).toContain(`CONFIG_MODULE_ALLOW_BTF_MISMATCH=n read from ${path.join(pkg(abi), buildLayout(abi).config)}\n`);
    expect(text.stdout).not.toMatch(/cannot check|no kernel image|not one btfcheck emulates/);
    expect(text.stdout.trimEnd().split('\n').pop()).toBe(j.verdict);
  });
});

/**
 * Issue 10: `abi` on the packages themselves (read in place, no dpkg), on initramfs images and RPMs
 * built here from real modules, JUnit for CI, and peak memory on the 7.2 pair.
 */
describe('btfcheck abi on the Debian packages, images and RPMs (issue 10)', () => {
  /** The .deb files: ../shared/debs beside the checkout (CI), or BTF_DEBS, else the fetch cache. */
  const debsDir = [process.env.BTF_DEBS, path.join(repoRoot, '..', 'shared', 'debs'), path.join(root, 'debs')]
    .find((d): d is string => !!d && fs.existsSync(d) && fs.readdirSync(d).some((n) => n.startsWith('linux-image-6.1.0-47')))
    ?? path.join(root, 'debs');
  const debs = (prefix: string): string[] => {
    const found = fs.readdirSync(debsDir).filter((n) => n.startsWith(prefix) && n.endsWith('.deb')).sort().map((n) => path.join(debsDir, n));
    if (!found.length) throw new Error(`no ${prefix}*.deb in ${debsDir}: run scripts/fetch-kernels.sh or set BTF_DEBS`);
    return found;
  };
  const abiJson = (args: string[]) => {
    const r = spawnSync(process.execPath, [cliPath, 'abi', ...args, '--format', 'json'], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 900_000 });
    return { status: r.status, stderr: r.stderr, j: JSON.parse(r.stdout) };
  };
  /** What must agree between packages and trees: verdict, counts, and every module's outcome. */
  const outcome = (j: { verdict: string; newOnOld: unknown; oldOnNew: unknown; modules: Record<string, Array<Record<string, unknown>>> }) => ({
    verdict: j.verdict, newOnOld: j.newOnOld, oldOnNew: j.oldOnNew,
    modules: Object.fromEntries(Object.entries(j.modules).map(([k, ms]) => [k, ms.map((m) => [m.module, m.status, m.kernelAccepted, m.errno, m.staysValid, m.loads, m.reason].join(' ')).sort()])),
  });

  it.each([
    ['6.1.0-47-cloud-amd64', '6.1.0-56-cloud-amd64'],
    ['6.12.115+deb12-cloud-amd64', '6.12.117+deb12-cloud-amd64'],
  ])('linux-image .debs %s -> %s: the same verdicts and counts as the unpacked trees', (a, b) => {
    const pk = abiJson(['--old', ...debs(`linux-image-${a}-unsigned_`), '--new', ...debs(`linux-image-${b}-unsigned_`)]);
    const tree = abiJson(['--old', path.join(root, a), '--new', path.join(root, b)]);
    expect(pk.status).toBe(1);
    expect(pk.status).toBe(tree.status);
    expect(outcome(pk.j)).toEqual(outcome(tree.j));
    expect(pk.j.old.base).toMatch(new RegExp(`linux-image-.*\\.deb!boot/vmlinuz-${a.replace(/[.+]/g, '\\$&')}$`));
  });

  it('the 7.2.12 and 7.2.13 linux-binary/-modules/-base trios as package files: the same verdicts and counts as the unpacked trees', () => {
    const trio = (abi: string) => ['linux-binary', 'linux-modules', 'linux-base'].flatMap((p) => debs(`${p}-${abi}_`));
    const pk = abiJson(['--old', ...trio('7.2.12+deb13-cloud-amd64'), '--new', ...trio('7.2.13+deb14-cloud-amd64')]);
    const tree = abiJson(['--old', path.join(root, '7.2.12+deb13-cloud-amd64'), '--new', path.join(root, '7.2.13+deb14-cloud-amd64')]);
    expect(outcome(pk.j)).toEqual(outcome(tree.j));
    expect(pk.j.newOnOld).toMatchObject({ modules: 1018, rejected: 1018 });
    expect(pk.j.old.kernel.config).toMatch(/linux-base-7\.2\.12.*\.deb!usr\/lib\/modules\/7\.2\.12\+deb13-cloud-amd64\/config$/);
  });

  it('an initramfs (uncompressed early cpio + zstd) and an RPM built from real 7.2.13 modules: the same results as the loose files', async () => {
    const { buildInitramfs, buildRpmPackage } = await import('../helpers/archive-builder.js');
    const abi = '7.2.13+deb14-cloud-amd64';
    const tree = path.join(root, abi, 'usr', 'lib', 'modules', abi);
    const picked = moduleFiles(abi).filter((_, i) => i % 25 === 0);
    const files = picked.map((f) => ({ name: path.relative(path.join(root, abi), f).split(path.sep).join('/'), data: new Uint8Array(fs.readFileSync(f)) }));
    const tmp = fs.mkdtempSync(path.join(repoRoot, '.tmp-archives-'));
    try {
      const image = path.join(tmp, `initrd.img-${abi}`);
      fs.writeFileSync(image, buildInitramfs(files, 'zstd'));
      const rpm = path.join(tmp, 'kernel-modules.rpm');
      fs.writeFileSync(rpm, buildRpmPackage({ name: 'kernel-modules', version: '7.2.13', release: '1', files: files.map((f) => ({ ...f, name: f.name.replace(/^usr\//, '') })), compression: 'xz' }));
      for (const baseAbi of ['7.2.12+deb13-cloud-amd64', abi]) {
        const check = (inputs: string[]) => {
          const r = spawnSync(process.execPath, [cliPath, 'check', '-b', path.join(root, baseAbi, 'usr', 'lib', 'modules', baseAbi, 'vmlinuz'), ...inputs, '--format', 'json'], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
          const j = JSON.parse(r.stdout);
          return { status: r.status, byModule: Object.fromEntries(j.modules.map((m: { module: string; status: string; kernel: { log: string[] } | null }) => [m.module, [m.status, ...(m.kernel?.log ?? [])].join('\n')])), files: j.modules.map((m: { file: string }) => m.file) };
        };
        const loose = check(picked);
        for (const [archive, inner] of [[image, 'usr/'], [rpm, '']] as const) {
          const got = check([archive]);
          expect(got.status).toBe(loose.status);
          expect(got.byModule).toEqual(loose.byModule);
          expect(got.files.every((f: string) => f.startsWith(`${archive}!${inner}lib/modules/${abi}/kernel/`))).toBe(true);
        }
      }
      expect(tree).toBeTruthy();
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('abi --format junit on the 7.2 pair validates against the JUnit schema; peak RSS of abi on the 7.2 pair, measured by GNU time', async () => {
    const a = path.join(root, '7.2.12+deb13-cloud-amd64');
    const b = path.join(root, '7.2.13+deb14-cloud-amd64');
    const r = spawnSync('/usr/bin/time', ['-v', process.execPath, cliPath, 'abi', '--old', a, '--new', b, '--format', 'junit'], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status).toBe(1);
    const { validateXML } = await import('xmllint-wasm');
    const schema = fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'junit.xsd'), 'utf8');
    const res = await validateXML({ xml: [{ fileName: 'abi.xml', contents: r.stdout }], schema: [{ fileName: 'junit.xsd', contents: schema }] });
    expect(res.errors).toEqual([]);
    expect(r.stdout.match(/<testcase /g)).toHaveLength(1 + 2 * 1018);
    const kib = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
    console.log(`abi on the 7.2 pair: peak RSS ${(kib / 1024).toFixed(0)} MiB`);
    expect(kib / 1024).toBeLessThanOrEqual(256);
  });
});
