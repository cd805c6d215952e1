/**
 * Turning the paths on a command line into module files.
 *
 * Directories are walked entry by entry: an entry that cannot be read (a directory without
 * permission, a path over PATH_MAX, a nesting too deep) is one error for that entry, and every
 * other module of the tree is still listed, so one planted bad path cannot hide a tree. Names
 * are read as bytes and decoded with lib/fsname.ts, so a name that is not UTF-8 is listed too
 * (and reopened with its own bytes, see fsPath in ./files.ts).
 */
import fs from 'node:fs';
import nodePath from 'node:path';
import { InputError } from '../../lib/errors.js';
import { decodeFileName } from '../../lib/fsname.js';
import { fsError, fsPath } from './files.js';

/** File names taken from directories: modules, plain or compressed as kmod installs them. */
export const MODULE_FILE = /\.ko(\.xz|\.zst|\.gz)?$/;

/** What a path on the command line expands to: a module file, or an entry that could not be read. */
export type PathEntry = { file: string; error?: undefined } | { file: string; error: string };

export interface WalkOptions {
  /**
   * false (for commands that write, `stamp`): symlinks inside a directory are neither entered nor
   * listed, so nothing outside the given trees is reached; each is reported to `onSkip`.
   */
  followSymlinks?: boolean;
  onSkip?(path: string, why: string): void;
  /** Names of the files to list from directories (default MODULE_FILE). */
  match?: RegExp;
}

/**
 * Files as given; directories walked recursively for *.ko, *.ko.xz, *.ko.zst, *.ko.gz, in sorted
 * order (by bytes, not locale, so every machine lists the same), depth first. Symlinks are
 * followed unless `followSymlinks` is false, but each directory is entered once (by device and
 * inode), so symlink loops end; broken symlinks inside a directory are skipped. Every path or
 * entry that cannot be read is an entry with `error`, in its place; the walk goes on.
 */
export function walkModulePaths(paths: string[], options: WalkOptions = {}): PathEntry[] {
  const out: PathEntry[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(fsPath(p));
    } catch (e) {
      out.push({ file: p, error: fsError(e).message });
      continue;
    }
    if (st.isDirectory()) walk(p, st, seen, out, options);
    else out.push({ file: p });
  }
  return out;
}

/**
 * As walkModulePaths, for callers that want all or nothing: throws the first error (a path as
 * given: its message; an entry inside a tree: prefixed with the entry's path).
 */
export function expandModulePaths(paths: string[], options: WalkOptions = {}): string[] {
  const files: string[] = [];
  for (const e of walkModulePaths(paths, options)) {
    if (e.error !== undefined) throw new InputError(paths.includes(e.file) ? e.error : `${e.file}: ${e.error}`);
    files.push(e.file);
  }
  return files;
}

/** A directory being listed: its entries, sorted, and the next one to look at. */
interface Frame {
  dir: string;
  names: Buffer[];
  types: fs.Dirent[];
  next: number;
}

/**
 * Depth first with an explicit stack: nesting as deep as the file system allows costs memory
 * for the frames, not JavaScript stack.
 */
function walk(root: string, rootStat: fs.Stats, seen: Set<string>, out: PathEntry[], options: WalkOptions): void {
  const stack: Frame[] = [];
  const enter = (dir: string, st: fs.Stats): void => {
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(fsPath(dir), { withFileTypes: true, encoding: 'buffer' }) as unknown as fs.Dirent[];
    } catch (e) {
      out.push({ file: dir, error: fsError(e, 'cannot read directory').message });
      return;
    }
    const names = entries.map((d) => d.name as unknown as Buffer);
    const order = names.map((_, i) => i).sort((a, b) => Buffer.compare(names[a], names[b]));
    stack.push({ dir, names: order.map((i) => names[i]), types: order.map((i) => entries[i]), next: 0 });
  };
  enter(root, rootStat);
  while (stack.length) {
    const frame = stack[stack.length - 1];
    if (frame.next >= frame.names.length) {
      stack.pop();
      continue;
    }
    const i = frame.next++;
    const name = decodeFileName(frame.names[i]);
    const type = frame.types[i];
    const p = nodePath.join(frame.dir, name);
    const isModule = (options.match ?? MODULE_FILE).test(name);
    if (type.isFile()) {
      // The type from the directory is enough: a module is not stat'ed here, its loader opens it.
      if (isModule) out.push({ file: p });
      continue;
    }
    if (!type.isDirectory() && !type.isSymbolicLink()) continue; // FIFOs, sockets, devices: not modules
    if (type.isSymbolicLink() && options.followSymlinks === false) {
      if (isModule || isDirectoryBehind(p)) options.onSkip?.(p, 'symbolic link: not followed');
      continue;
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(fsPath(p));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (type.isSymbolicLink() && (code === 'ENOENT' || code === 'ELOOP')) continue; // broken or looping symlink
      out.push({ file: p, error: fsError(e).message });
      continue;
    }
    // A directory's entries come next (its frame is on top), so the order stays depth first.
    if (st.isDirectory()) enter(p, st);
    else if (st.isFile() && isModule) {
      out.push({ file: p });
    }
  }
}

function isDirectoryBehind(p: string): boolean {
  try {
    return fs.statSync(fsPath(p)).isDirectory();
  } catch {
    return false;
  }
}
