/**
 * Fuzz targets on the file system (issue 12): `stamp` on a copy of a module in a scratch
 * directory with names planted around it, and module trees with hostile names walked per entry.
 *
 * stamp's contract (cmd/io/safe-write.ts): nothing outside the module is written (planted
 * symlinks of stamp's temporary naming, a symlinked module, a directory symlink out of the tree
 * all keep their targets byte for byte); the module is either left exactly as it was or replaced
 * by a stamped copy that loads, carries the base's checksum, has the same .BTF, owner, mode and
 * extended attributes; a symlinked module, a FIFO or an unasked hard link is refused in one line,
 * at once; no temporary is left behind.
 *
 * A tree's contract (cmd/io/paths.ts): every module file in it is listed exactly once whatever
 * its name's bytes (and found again by that name), nothing else is listed, symlinks out of the
 * tree are followed for `check` and never for `stamp`, loops end, a path over PATH_MAX is one
 * error line and the rest is still listed; the reports on the tree keep the terminal contract.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { stampFile } from '../../cmd/commands/stamp.js';
import { errorLine } from '../../cmd/common.js';
import { LoadedBase, loadModule, MODULE_FILE, walkModulePaths } from '../../cmd/io/index.js';
import { checkModule, errorResult, KernelSettings, ModuleResult, summarize } from '../../lib/check.js';
import { decodeFileName } from '../../lib/fsname.js';
import { renderOutput, OUTPUT_FORMATS } from '../../cmd/output.js';
import { Materialized } from './cases.js';
import { overridesOf } from './kernels.js';
import { checkedErrorMessage, checkLine, checkTerminal, FuzzBug, TargetContext, TargetResult, vmlinuxParse, xmlProblem } from './targets.js';

const IS_ROOT = process.getuid?.() === 0;
const B = (s: string): Buffer => Buffer.from(s);
const join = (...parts: Array<Buffer | Uint8Array | string>): Buffer => Buffer.concat(parts.flatMap((p, i) => (i ? [B('/'), Buffer.from(p)] : [Buffer.from(p)])));

interface XattrApi { setAttributeSync(p: string, n: string, v: Uint8Array): void; getAttributeSync(p: string, n: string): Buffer | null; listAttributesSync(p: string): string[] }
let xattr: XattrApi | null | undefined;
function xattrApi(dir: string): XattrApi | null {
  if (xattr === undefined) {
    try {
      const api = createRequire(import.meta.url)('@napi-rs/xattr') as XattrApi;
      const probe = path.join(dir, '.xattr-probe');
      fs.writeFileSync(probe, '');
      api.setAttributeSync(probe, 'user.btfcheck-probe', B('1'));
      fs.rmSync(probe);
      xattr = api;
    } catch {
      xattr = null; // no binding, or user xattrs not supported where the scratch directory is
    }
  }
  return xattr;
}

/** A FIFO at `where` (bytes allowed): mkfifo at a plain name, then renamed. */
function mkfifo(where: Buffer, scratchDir: string): void {
  const plain = path.join(scratchDir, `fifo-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync('mkfifo', [plain]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${String(r.stderr)}`);
  fs.renameSync(plain, where);
}

interface Snapshot { kind: string; ino: number; mode: number; uid: number; gid: number; bytes?: Buffer; link?: string }
function snap(p: Buffer | string): Snapshot | null {
  let st: fs.Stats;
  try { st = fs.lstatSync(p); } catch { return null; }
  return {
    kind: st.isFile() ? 'file' : st.isSymbolicLink() ? 'link' : st.isFIFO() ? 'fifo' : st.isDirectory() ? 'dir' : 'other',
    ino: st.ino, mode: st.mode, uid: st.uid, gid: st.gid,
    bytes: st.isFile() ? fs.readFileSync(p) : undefined, link: st.isSymbolicLink() ? fs.readlinkSync(p, 'latin1') : undefined,
  };
}
const sameSnap = (a: Snapshot | null, b: Snapshot | null): boolean =>
  !!a && !!b && a.kind === b.kind && a.ino === b.ino && a.mode === b.mode && a.link === b.link && (a.bytes === undefined ? b.bytes === undefined : !!b.bytes && a.bytes.equals(b.bytes));

const TEMP = /\.btfcheck-\d+-[0-9a-f]{12}\.tmp$/;
const DEAD_PIDS = [2147483646, 2147483645];

/** `stamp` on a copy of a module, with names planted around it. */
export async function runStampTarget(m: Extract<Materialized, { target: 'stamp' }>, base: LoadedBase, ctx: TargetContext): Promise<TargetResult> {
  const c = m.c;
  const dir = ctx.scratch.subdir('stamp');
  const outside = ctx.scratch.subdir('victims');
  try {
    const name = Buffer.from(m.nameBytes);
    const target = join(dir, name);
    const targetStr = path.join(dir, decodeFileName(m.nameBytes));
    const victim = path.join(outside, 'victim');
    const victimModule = path.join(outside, 'victim.ko');
    fs.writeFileSync(victim, `victim of ${JSON.stringify(c.plants)}\n`);
    fs.writeFileSync(victimModule, m.bytes);
    fs.mkdirSync(path.join(outside, 'sub'));
    fs.writeFileSync(path.join(outside, 'sub', 'outside.ko'), m.bytes);
    const has = (p: string) => c.plants.includes(p as never);
    const temp = (pid: number, hex: string): Buffer => Buffer.concat([B('.'), name, B(`.btfcheck-${pid}-${hex}.tmp`)]);

    if (has('module-link')) fs.symlinkSync(victimModule, target);
    else if (has('module-fifo')) mkfifo(target, ctx.scratch.dir);
    else {
      fs.writeFileSync(target, m.bytes);
      if (IS_ROOT && c.owner) fs.chownSync(target, c.owner, c.owner);
      fs.chmodSync(target, c.mode);
    }
    const regular = !has('module-link') && !has('module-fifo');
    const api = c.xattr && regular && !/[\udc80-\udcff]/.test(targetStr) ? xattrApi(ctx.scratch.dir) : null;
    const xattrValue = Uint8Array.from(m.nameBytes.slice(0, 40));
    if (api) api.setAttributeSync(targetStr, 'user.btfcheck-fuzz', xattrValue);
    const other = path.join(dir, 'other-link.ko');
    if (has('hardlink') && regular) fs.linkSync(target, other);
    if (has('stale-link')) fs.symlinkSync(victim, join(dir, temp(DEAD_PIDS[0], 'aaaaaaaaaaaa')));
    if (has('stale-fifo')) mkfifo(join(dir, temp(DEAD_PIDS[1], 'bbbbbbbbbbbb')), ctx.scratch.dir);
    const ownLink = join(dir, temp(process.pid, 'cccccccccccc'));
    if (has('own-link')) fs.symlinkSync(victim, ownLink);
    if (has('dir-link')) fs.symlinkSync(path.join(outside, 'sub'), path.join(dir, 'sub'));

    const before = new Map<string, Snapshot | null>();
    for (const n of fs.readdirSync(dir, { encoding: 'buffer' })) before.set(n.toString('latin1'), snap(join(dir, n)));
    const victims = [victim, victimModule, path.join(outside, 'sub', 'outside.ko')].map((p) => [p, snap(p)] as const);
    const expected = regular ? await loadModule(targetStr).catch(() => null) : null;

    // stamp's walk of the directory: symlinks are not followed, the module is listed by its bytes.
    const skipped: string[] = [];
    const listed = walkModulePaths([dir], { followSymlinks: false, onSkip: (p) => skipped.push(p) });
    for (const e of listed) {
      if (e.error !== undefined) checkLine(e.error, 'stamp walk');
      if (!e.file.startsWith(dir + '/')) throw new FuzzBug('stamp walk: listed a file outside the tree', e.file);
    }
    if (regular && MODULE_FILE.test(targetStr) && !listed.some((e) => e.file === targetStr)) throw new FuzzBug('stamp walk: the module is not listed', JSON.stringify(targetStr));
    if (has('dir-link') && listed.some((e) => e.file.startsWith(path.join(dir, 'sub') + '/'))) throw new FuzzBug('stamp walk: followed a directory symlink', JSON.stringify(listed));

    const t0 = performance.now();
    const r = await stampFile(targetStr, base, { force: c.force, breakHardLinks: c.breakHardLinks, stripSignature: c.strip });
    const ms = performance.now() - t0;
    checkLine(r.message, `stamp ${r.status}`);
    checkTerminal(errorLine(r.file, r.message), 'stamp line', [targetStr]);
    if (!['stamped', 'skipped', 'error'].includes(r.status)) throw new FuzzBug('stamp: status', r.status);
    if (!regular && r.status !== 'error') throw new FuzzBug(`stamp: ${has('module-link') ? 'a symlinked module' : 'a FIFO'} was not refused`, `${r.status}: ${r.message}`);
    if (!regular && ms > 5000) throw new FuzzBug('stamp: a FIFO or symlink took long to refuse', `${ms.toFixed(0)} ms`);

    for (const [p, s] of victims) if (!sameSnap(s, snap(p))) throw new FuzzBug('stamp: wrote outside the module', `${p} changed (plants ${c.plants.join(', ')})`);
    const after = new Map<string, Snapshot | null>();
    for (const n of fs.readdirSync(dir, { encoding: 'buffer' })) after.set(n.toString('latin1'), snap(join(dir, n)));
    const key = name.toString('latin1');
    for (const [n, s] of after) {
      if (!before.has(n)) throw new FuzzBug('stamp: left a file behind', JSON.stringify(n));
      if (n === key) continue;
      // Stale temporaries of dead processes may be removed; nothing else beside the module changes.
      if (!sameSnap(before.get(n)!, s)) throw new FuzzBug('stamp: changed a file beside the module', JSON.stringify(n));
    }
    for (const [n] of before) {
      if (after.has(n) || n === key) continue;
      if (!(TEMP.test(n) && DEAD_PIDS.some((pid) => n.includes(`.btfcheck-${pid}-`)))) throw new FuzzBug('stamp: removed a file beside the module', JSON.stringify(n));
    }
    if (has('own-link') && snap(ownLink)?.kind !== 'link') throw new FuzzBug("stamp: removed a live process's temporary", '');

    const now = snap(target);
    const was = before.get(key)!;
    if (r.status !== 'stamped') {
      if (!sameSnap(was, now)) throw new FuzzBug(`stamp: ${r.status} but the module changed`, r.message);
      return { outcome: r.status === 'error' ? 'error' : 'skipped', rendered: r.message.length };
    }
    if (has('hardlink') && !c.breakHardLinks) throw new FuzzBug('stamp: replaced a hard-linked module without --break-hardlinks', r.message);
    if (!now || now.kind !== 'file') throw new FuzzBug('stamp: the stamped module is not a regular file', JSON.stringify(now?.kind));
    if (now.mode !== was!.mode || now.uid !== was!.uid || now.gid !== was!.gid) throw new FuzzBug('stamp: owner or mode not kept', `${was!.mode.toString(8)} ${was!.uid}:${was!.gid} → ${now.mode.toString(8)} ${now.uid}:${now.gid}`);
    if (api) {
      const v = api.getAttributeSync(targetStr, 'user.btfcheck-fuzz');
      if (!v || !Buffer.from(xattrValue).equals(v)) throw new FuzzBug('stamp: extended attribute not kept', String(v));
    }
    if (has('hardlink') && !sameSnap(snap(other), was)) throw new FuzzBug('stamp: the other hard link changed', '');
    let stamped;
    try {
      stamped = await loadModule(targetStr);
    } catch (e) {
      throw new FuzzBug('stamp: the stamped module does not load', checkedErrorMessage(e, 'load stamped'));
    }
    if (stamped.storedChecksum?.sha256 !== base.sha256) throw new FuzzBug('stamp: stamped without the base checksum', JSON.stringify(stamped.storedChecksum));
    if (expected && (expected.btf === undefined ? stamped.btf !== undefined : !stamped.btf || Buffer.compare(expected.btf, stamped.btf) !== 0)) throw new FuzzBug('stamp: .BTF changed', '');
    if (expected && stamped.name !== expected.name) throw new FuzzBug('stamp: the module name changed', `${expected.name} → ${stamped.name}`);
    return { outcome: 'stamped', rendered: r.message.length };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  }
}

/** 250-byte directory names: nine make a path near PATH_MAX. */
const LONG = 'L'.repeat(250);

export interface BuiltTree {
  root: string;
  /** Module paths a walk must list: following symlinks (check), and not (stamp). */
  follow: Set<string>;
  noFollow: Set<string>;
  /** Directories holding modules past PATH_MAX: each must be under an error entry. */
  tooLong: string[];
  remove(): void;
}

/** Builds a case's tree in a fresh scratch directory (fs-targets and the CLI runner share it). */
export function buildTree(m: Extract<Materialized, { target: 'tree' }>, scratchDir: string): BuiltTree {
  const root = fs.mkdtempSync(path.join(scratchDir, 'tree-'));
  const outside = fs.mkdtempSync(path.join(scratchDir, 'outside-'));
  const follow = new Set<string>();
  const noFollow = new Set<string>();
  const tooLong: string[] = [];
  /** Renames to undo before removing (paths past PATH_MAX cannot be removed by name). */
  const undo: Array<[Buffer, string]> = [];
  const remove = (): void => {
    for (const [from, to] of undo) try { fs.renameSync(from, to); } catch { /* removed below if it can be */ }
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  };
  try {
    m.entries.forEach((e, i) => {
      // '.' and '..' as directory names would not be names of their own.
      const dirs = e.dirs.map((d) => Uint8Array.from(d.every((x) => x === 0x2e) && d.length <= 2 ? [...d, 0x5f] : d));
      const dirBytes = join(root, ...dirs);
      const dirStr = path.join(root, ...dirs.map((d) => decodeFileName(d)));
      const name = Buffer.concat([Buffer.from(e.name), B(`-${i}`)]);
      const nameStr = decodeFileName(name);
      try {
        fs.mkdirSync(dirBytes, { recursive: true });
      } catch {
        return; // a component is a file another entry made: not this entry's shape
      }
      const at = (suffix: string): [Buffer, string] => [join(dirBytes, Buffer.concat([name, B(suffix)])), path.join(dirStr, nameStr + suffix)];
      switch (e.what) {
        case 'module': {
          const [p, s] = at(e.ext);
          fs.writeFileSync(p, e.bytes);
          follow.add(s); noFollow.add(s);
          break;
        }
        case 'other': fs.writeFileSync(at('.txt')[0], e.bytes); break;
        case 'fifo': mkfifo(at('.ko')[0], scratchDir); break;
        case 'loop':
          fs.symlinkSync('.', at('')[0]);
          fs.symlinkSync(Buffer.concat([name, B('-self.ko')]), at('-self.ko')[0]);
          break;
        case 'dangling': fs.symlinkSync(path.join(outside, 'missing.ko'), at('.ko')[0]); break;
        case 'outdir': {
          const o = path.join(outside, `o${i}`);
          fs.mkdirSync(o);
          fs.writeFileSync(path.join(o, 'out.ko'), e.bytes);
          fs.symlinkSync(o, at('')[0]);
          follow.add(path.join(dirStr, nameStr, 'out.ko'));
          break;
        }
        case 'dirko': {
          const [p, s] = at('.ko');
          fs.mkdirSync(p);
          fs.writeFileSync(join(p, B('inner.ko')), e.bytes);
          follow.add(path.join(s, 'inner.ko')); noFollow.add(path.join(s, 'inner.ko'));
          break;
        }
        case 'deep': {
          const chain = Array.from({ length: e.depth }, () => 'd').join('/');
          if (Buffer.byteLength(dirStr) + chain.length + name.length + 16 > 4000) break;
          fs.mkdirSync(join(dirBytes, B(chain)), { recursive: true });
          fs.writeFileSync(join(dirBytes, B(chain), Buffer.concat([name, B(e.ext)])), e.bytes);
          const s = path.join(dirStr, chain, nameStr + e.ext);
          follow.add(s); noFollow.add(s);
          break;
        }
        case 'long': {
          // Made in two halves under PATH_MAX each, then one moved under the other: the module
          // ends up past PATH_MAX, where no path names it.
          const a = join(dirBytes, B(`long${i}`), ...Array.from({ length: 9 }, () => B(LONG)));
          const b = path.join(outside, `lp${i}`);
          const bDeep = path.join(b, ...Array.from({ length: 9 }, () => LONG));
          if (a.length > 4000 || a.length + 1 + (bDeep.length - outside.length) + 20 < 4096) break;
          fs.mkdirSync(a, { recursive: true });
          fs.mkdirSync(bDeep, { recursive: true });
          fs.writeFileSync(path.join(bDeep, 'far.ko'), e.bytes);
          const moved = join(a, B(`lp${i}`));
          fs.renameSync(b, moved);
          undo.push([moved, b]);
          tooLong.push(path.join(dirStr, `long${i}`, ...Array.from({ length: 9 }, () => LONG), `lp${i}`));
          break;
        }
      }
    });

  } catch (e) {
    remove();
    throw e;
  }
  return { root, follow, noFollow, tooLong, remove };
}

/** A module tree with hostile names: every module listed once, the reports keep the contract. */
export async function runTreeTarget(m: Extract<Materialized, { target: 'tree' }>, base: LoadedBase, ctx: TargetContext): Promise<TargetResult> {
  const { root, follow, noFollow, tooLong, remove } = buildTree(m, ctx.scratch.dir);
  try {
    const outcomes: ModuleResult[] = [];
    const hostile: string[] = [];
    const checkWalk = (followSymlinks: boolean, want: Set<string>): string[] => {
      const list = walkModulePaths([root], { followSymlinks, onSkip: () => undefined });
      const files: string[] = [];
      for (const e of list) {
        if (e.error !== undefined) {
          checkLine(e.error, 'tree walk');
          // The only error expected: a path past PATH_MAX (root: no permission denied).
          if (!tooLong.some((p) => p === e.file || p.startsWith(e.file + '/') || e.file.startsWith(p))) throw new FuzzBug('tree walk: unexpected error entry', `${JSON.stringify(e.file)}: ${e.error}`);
          continue;
        }
        files.push(e.file);
      }
      const seen = new Set<string>();
      for (const f of files) {
        if (seen.has(f)) throw new FuzzBug('tree walk: a file listed twice', JSON.stringify(f));
        seen.add(f);
        if (!want.has(f)) throw new FuzzBug(`tree walk${followSymlinks ? '' : ' (no symlinks)'}: listed what is not a module of the tree`, JSON.stringify(f));
      }
      for (const f of want) if (!seen.has(f)) throw new FuzzBug(`tree walk${followSymlinks ? '' : ' (no symlinks)'}: a module is not listed`, JSON.stringify(f));
      for (const p of tooLong) if (!list.some((e) => e.error !== undefined && (p === e.file || p.startsWith(e.file + '/') || e.file.startsWith(p)))) throw new FuzzBug('tree walk: a path past PATH_MAX is not reported', JSON.stringify(p.slice(0, 200)));
      return files;
    };
    const files = checkWalk(true, follow);
    checkWalk(false, noFollow);

    const k = m.kernel;
    const vm = vmlinuxParse(base, k, ctx.vmlinuxCache);
    const kernel: KernelSettings = { version: k.version, allowBtfMismatch: k.allow, ...(k.rules.length ? { rules: overridesOf(k) } : {}), ...(vm.errno ? { vmlinuxErrno: vm.errno } : {}) };
    for (const f of files) {
      hostile.push(f);
      try {
        const loaded = await loadModule(f);
        outcomes.push(checkModule(base.btf, f, loaded.name, loaded.btf, { kernel, diagnose: false, baseSha256: base.sha256 }, { distilledBase: loaded.btfBase }));
      } catch (e) {
        const msg = checkedErrorMessage(e, 'tree: loadModule');
        if (/no such file|ENOENT|name too long/.test(msg)) throw new FuzzBug('tree: a listed module is not found by its name', `${JSON.stringify(f)}: ${msg}`);
        checkTerminal(errorLine(f, msg), 'tree error line', [f]);
        outcomes.push(errorResult(f, msg));
      }
    }
    let rendered = 0;
    const report = {
      base: { file: base.file, types: base.btf.nrTypes, strLen: base.btf.strLen, sha256: base.sha256, release: null },
      kernel: { version: k.version, allowBtfMismatch: k.allow, versionFrom: '--kernel' },
      modules: outcomes, summary: summarize(outcomes),
    };
    for (const format of OUTPUT_FORMATS) {
      const out = renderOutput(report, format);
      rendered += out.length;
      if (format === 'junit') {
        const problem = xmlProblem(out);
        if (problem) throw new FuzzBug('tree: junit not well-formed', problem);
      } else if (format === 'json') {
        const back = (JSON.parse(out) as { modules: Array<{ file: string }> }).modules.map((x) => x.file);
        if (back.join('\0') !== files.join('\0')) throw new FuzzBug('tree: json changed a file name', JSON.stringify(back.slice(0, 4)));
      } else {
        checkTerminal(out, `tree: ${format}`, hostile);
      }
    }
    return { outcome: outcomes.some((o) => o.status === 'error') || tooLong.length ? 'error' : outcomes[0]?.status ?? 'accepted', rendered };
  } finally {
    remove();
  }
}
