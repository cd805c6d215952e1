/** Turning the paths on a command line into module files. */
import fs from 'node:fs';
import nodePath from 'node:path';
import { fsError } from './files.js';

/** File names taken from directories: modules, plain or compressed as kmod installs them. */
export const MODULE_FILE = /\.ko(\.xz|\.zst|\.gz)?$/;

/**
 * Files as given; directories walked recursively for *.ko, *.ko.xz, *.ko.zst, *.ko.gz, in sorted
 * order (by code unit, not locale, so every machine lists the same). Symlinks are followed, but
 * each directory is entered once (by device and inode), so symlink loops end; broken symlinks
 * inside a directory are skipped. A path that does not exist is an InputError.
 */
export function expandModulePaths(paths: string[], options: WalkOptions = {}): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (e) {
      throw fsError(e);
    }
    if (st.isDirectory()) walk(p, st, seen, out, options);
    else out.push(p);
  }
  return out;
}

export interface WalkOptions {
  /**
   * false (for commands that write, `stamp`): symlinks inside a directory are neither entered nor
   * listed, so nothing outside the given trees is reached; each is reported to `onSkip`.
   */
  followSymlinks?: boolean;
  onSkip?(path: string, why: string): void;
}

function walk(dir: string, st: fs.Stats, seen: Set<string>, out: string[], options: WalkOptions): void {
  const id = `${st.dev}:${st.ino}`;
  if (seen.has(id)) return;
  seen.add(id);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw fsError(e, `cannot read directory ${dir}`);
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const p = nodePath.join(dir, name);
    let est: fs.Stats;
    try {
      if (options.followSymlinks === false) {
        const lst = fs.lstatSync(p);
        if (lst.isSymbolicLink()) {
          if (MODULE_FILE.test(name) || isDirectoryBehind(p)) options.onSkip?.(p, 'symbolic link: not followed');
          continue;
        }
      }
      est = fs.statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP') continue; // broken or looping symlink
      throw fsError(e, `cannot read ${p}`);
    }
    if (est.isDirectory()) walk(p, est, seen, out, options);
    else if (est.isFile() && MODULE_FILE.test(name)) out.push(p);
  }
}


function isDirectoryBehind(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
