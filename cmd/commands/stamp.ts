/**
 * `btfcheck stamp --base BASE MODULE...`: records the base's checksum in each module as a
 * `.BTF.base_checksum` section (lib/checksum/format.ts documents it), or with --manifest in a JSON
 * manifest instead (for signed modules, which must not change). Compressed modules are rewritten
 * in the same compression. Every stamped image is cross-checked with elfinfo, an independent ELF
 * parser, and re-read after writing, before the original is replaced (atomically, by rename).
 * stamp runs as root in trees others can write: every write goes through cmd/io/safe-write.ts
 * (exclusive temporaries, no symlink followed, owner, mode and xattrs kept).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { xz as napiXz } from '@napi-rs/lzma';
import { open as elfinfoOpen } from 'elfinfo';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { errorMessage, EXIT_ERROR, EXIT_FAIL, EXIT_OK, printError, UsageError, writeOut } from '../common.js';
import { fsPath, loadBase, nodeXzDecoder, readWholeFile, walkModulePaths } from '../io/index.js';
import { MODULE_MAX_OUTPUT } from '../io/load.js';
import { openForRewrite, replaceFile } from '../io/safe-write.js';
import type { LoadedBase } from '../io/index.js';
import { InputError } from '../../lib/errors.js';
import { findSection, readElf, sectionData, SHT_STRTAB } from '../../lib/elf/sections.js';
import { memorySource } from '../../lib/source.js';
import { Compression, detectCompression, maybeDecompress, loadDecoders } from '../../lib/compress/index.js';
import {
  CHECKSUM_SECTION, createManifest, isSignedModule, ManifestEntry, readStoredChecksum, stampModuleElf, stripModuleSignature,
} from '../../lib/checksum/index.js';
import { diagnoseModule } from '../../lib/diagnose/index.js';
import { escapeStrings, escapeTerminal } from '../../lib/report/escape.js';
import { toJson } from '../../lib/report/model.js';
import { plural } from '../../lib/report/plural.js';

interface StampArgs {
  base: string;
  modules: string[];
  manifest?: string;
  force: boolean;
  stripSignature: boolean;
  breakHardlinks: boolean;
  format: 'text' | 'json';
}

export interface StampResult {
  file: string;
  status: 'stamped' | 'recorded' | 'skipped' | 'error';
  compression: Compression | null;
  message: string;
}

/** Compresses like kbuild's modules_install does, with the tool when present, else in-process. */
export function compressAs(data: Uint8Array, compression: Compression): Uint8Array {
  const run = (cmd: string, args: string[]): Uint8Array | undefined => {
    const r = spawnSync(cmd, args, { input: data, maxBuffer: 1 << 30 });
    if (r.error || r.status !== 0) return undefined;
    return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
  };
  switch (compression) {
    case 'xz': {
      // The kernel's in-kernel decompressor wants CRC32 and a 1 MiB dictionary (scripts/Makefile.modinst).
      const out = run('xz', ['--check=crc32', '--lzma2=dict=1MiB', '-c', '-q']);
      if (out) return out;
      const buf = napiXz.compressSync(data);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    case 'zstd':
      return run('zstd', ['-q', '-c']) ?? zstdStored(data);
    case 'gzip': {
      const buf = zlib.gzipSync(data, { level: 9 });
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    default:
      throw new InputError(`cannot write ${compression}-compressed modules`);
  }
}

/** A valid zstd frame of stored (raw) blocks, when no zstd tool is installed: bigger, never wrong. */
export function zstdStored(data: Uint8Array): Uint8Array {
  const BLOCK = 128 * 1024;
  const blocks = Math.max(1, Math.ceil(data.length / BLOCK));
  const out = new Uint8Array(4 + 1 + 4 + blocks * 3 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xfd2fb528, true);
  out[4] = 0xa0; // 4-byte frame content size, single segment, no checksum, no dictionary
  v.setUint32(5, data.length, true);
  let at = 9;
  for (let b = 0; b < blocks; b++) {
    const chunk = data.subarray(b * BLOCK, Math.min(data.length, (b + 1) * BLOCK));
    const header = (chunk.length << 3) | (0 << 1) | (b === blocks - 1 ? 1 : 0); // raw block
    out[at] = header & 0xff; out[at + 1] = (header >>> 8) & 0xff; out[at + 2] = (header >>> 16) & 0xff;
    out.set(chunk, at + 3);
    at += 3 + chunk.length;
  }
  return out;
}

/**
 * Checks a stamped image with elfinfo (the product's ELF library, independent of lib/elf): it
 * parses, every original section is still there with its index, name, type, offset and size (the
 * section name table excepted, which moved), the checksum section is new or replaced, and .BTF
 * is byte-identical. Throws an Error describing the first difference.
 */
export async function verifyStamped(original: Uint8Array, stamped: Uint8Array): Promise<void> {
  const before = readElf(memorySource(original));
  const after = readElf(memorySource(stamped));
  // A module a standard ELF reader rejects is damaged: refused, not stamped. Only a module that
  // reads before stamping and not after is our fault (an internal error).
  const originalParse = await elfinfoOpen(original);
  // (elfinfo's own words can be a JavaScript exception's: not shown.)
  if (!originalParse.success || !originalParse.elf) throw new InputError('damaged ELF (a standard ELF reader, elfinfo, cannot parse it); not stamped');
  // The kernel refuses a section name table without a final NUL (-ENOEXEC); its last name would
  // also run on into the name stamp appends.
  const names = before.sections[before.shstrndx];
  const nameTable = names ? sectionData(memorySource(original), names) : new Uint8Array(0);
  if (nameTable.length === 0 || nameTable[nameTable.length - 1] !== 0) throw new InputError('damaged ELF (the section name table does not end in NUL, which the kernel refuses); not stamped');
  // ELF readers (elfinfo, binutils) take names only from a SHT_STRTAB table.
  if (names.type !== SHT_STRTAB) throw new InputError(`damaged ELF (the section name table has type ${names.type}, not SHT_STRTAB); not stamped`);
  const namesBefore = originalParse.elf.sections;
  const parsed = await elfinfoOpen(stamped);
  if (!parsed.success || !parsed.elf) throw new Error(`elfinfo cannot parse the stamped module: ${parsed.errors.join('; ')}`);
  const sections = parsed.elf.sections;
  const hadChecksum = !!findSection(before, CHECKSUM_SECTION);
  const want = before.sections.length + (hadChecksum ? 0 : 1);
  if (sections.length !== want) throw new Error(`elfinfo sees ${sections.length} sections in the stamped module, expected ${want}`);
  for (const s of before.sections) {
    const e = sections[s.index];
    // Names as elfinfo reads them before and after (its decoding of odd bytes is its own).
    if (!e || e.name !== namesBefore[s.index]?.name || e.type !== s.type) throw new Error(`section ${s.index} (${s.name}) changed name or type`);
    if (s.index === before.shstrndx || s.name === CHECKSUM_SECTION) continue;
    if (Number(e.offset) !== s.offset || Number(e.size) !== s.size) throw new Error(`section ${s.name} moved or changed size`);
  }
  if (!sections.some((e) => e.name === CHECKSUM_SECTION)) throw new Error(`elfinfo does not see ${CHECKSUM_SECTION}`);
  const btfBefore = findSection(before, '.BTF');
  const btfAfter = findSection(after, '.BTF');
  if (btfBefore) {
    const a = sectionData(memorySource(original), btfBefore);
    const b = btfAfter ? sectionData(memorySource(stamped), btfAfter) : new Uint8Array(0);
    if (a.length !== b.length || a.some((x, i) => x !== b[i])) throw new Error('.BTF changed');
  }
  if (!readStoredChecksum(after, memorySource(stamped))) throw new Error(`${CHECKSUM_SECTION} does not read back`);
}

/**
 * Reads a module file through one descriptor (a regular file, not a symlink: see openForRewrite),
 * within the module size limit, decompressing it; the compression is kept to write it back the
 * same way, the stat to keep owner, mode and xattrs and to make sure the same file is replaced.
 */
function readModuleFile(file: string): { elf: Uint8Array; compression: Compression | null; stat: fs.Stats } {
  const { fd, stat } = openForRewrite(file);
  let raw: Uint8Array;
  try {
    raw = readWholeFile(file, MODULE_MAX_OUTPUT, fd);
  } finally {
    fs.closeSync(fd);
  }
  const c = detectCompression(raw);
  if (c === 'bzip2' || c === 'lzo') throw new InputError(`${c}-compressed modules are not supported`);
  const { data, compression } = maybeDecompress(raw, { xz: nodeXzDecoder, limits: { maxOutput: MODULE_MAX_OUTPUT } });
  return { elf: data, compression: compression ?? null, stat };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Stamps one module file in place; returns what happened (never throws for user errors). */
export async function stampFile(file: string, base: LoadedBase, opts: { force?: boolean; dryRun?: boolean; stripSignature?: boolean; breakHardLinks?: boolean }): Promise<StampResult & { entry?: ManifestEntry }> {
  let compression: Compression | null = null;
  try {
    const read = readModuleFile(file);
    const signed = isSignedModule(read.elf);
    // A manifest leaves the module alone, signature and all.
    if (signed && opts.stripSignature && !opts.dryRun) read.elf = stripModuleSignature(read.elf);
    compression = read.compression;
    const elf = readElf(memorySource(read.elf));
    if (elf.type !== 1) throw new InputError(`not a kernel module (ELF type ${elf.type}, a module is relocatable)`);
    const btfSec = findSection(elf, '.BTF');
    if (!btfSec) return { file, status: 'skipped', compression, message: 'no .BTF section: nothing to stamp' };
    const d = diagnoseModule(base.btf, sectionData(memorySource(read.elf), btfSec));
    if (d.baseMismatch && !opts.force) {
      return { file, status: 'error', compression, message: `not built against this base (${d.explanation?.summary ?? d.findings[0]?.message}); --force stamps anyway` };
    }
    const entry: ManifestEntry = { sha256: base.sha256, types: base.btf.nrTypes, strLen: base.btf.strLen };
    if (opts.dryRun) return { file, status: 'recorded', compression, message: `base ${base.sha256.slice(0, 16)}…`, entry };
    const stamped = stampModuleElf(read.elf, entry);
    await verifyStamped(read.elf, stamped);
    const out = compression ? compressAs(stamped, compression) : stamped;
    // Written beside the original, read back, then renamed over it (cmd/io/safe-write.ts).
    await replaceFile(file, out, {
      original: read.stat,
      breakHardLinks: opts.breakHardLinks,
      verify(written) {
        const back = maybeDecompress(written, { xz: nodeXzDecoder, limits: { maxOutput: MODULE_MAX_OUTPUT } });
        if ((back.compression ?? null) !== compression || !sameBytes(back.data, stamped)) throw new Error('the written file does not read back as the stamped module');
      },
    });
    const note = signed ? '; its signature was removed: sign it again' : '';
    return { file, status: 'stamped', compression, message: `base ${base.sha256.slice(0, 16)}… (${entry.types.toLocaleString('en-US')} types, ${entry.strLen.toLocaleString('en-US')} string bytes)${note}`, entry };
  } catch (e) {
    return { file, status: 'error', compression, message: errorMessage(e) };
  }
}

export const stampCommand: CommandModule<object, StampArgs> = {
  command: 'stamp <modules..>',
  describe: `Record the base's checksum in modules (${CHECKSUM_SECTION} section), or in a manifest with --manifest`,
  builder: (y: Argv) =>
    y
      .positional('modules', { type: 'string', array: true, demandOption: true, describe: 'module files (.ko, .ko.xz, .ko.zst, .ko.gz) or directories' })
      .option('base', { alias: 'b', type: 'string', demandOption: true, describe: 'the base the modules were built against: vmlinux, vmlinuz, raw BTF, or "running"' })
      .option('manifest', { type: 'string', describe: 'write a JSON manifest (module path → checksum, types, strLen) instead of changing the modules (for signed modules)' })
      .option('force', { type: 'boolean', default: false, describe: 'stamp even modules whose BTF does not fit the base' })
      .option('strip-signature', { type: 'boolean', default: false, describe: 'remove an appended module signature first (sign the module again afterwards)' })
      .option('break-hardlinks', { type: 'boolean', default: false, describe: 'stamp a module that has other hard links (they keep the unstamped content); refused otherwise' })
      .option('format', { alias: 'f', type: 'string', choices: ['text', 'json'], default: 'text', describe: 'report format' })
      .example('$0 stamp --base vmlinux $(find . -name "*.ko")', 'before signing, in the build tree')
      .example('$0 stamp --base vmlinux --manifest btf-manifest.json /lib/modules/$(uname -r)', 'signed modules: record checksums beside them')
      .epilogue('Exit status: 0 all stamped (or recorded), 1 a module\'s BTF does not fit the base (see --force), 2 unreadable or unwritable input. ' +
        'Safe in directories others can write: a module is replaced by an exclusive temporary renamed over it, keeping owner, mode and extended attributes; ' +
        'symlinks are never written through (inside a directory they are skipped), FIFOs and devices are refused, and the manifest may not be one of the modules. ' +
        'The section format: docs/base-checksum.md.') as unknown as Argv<StampArgs>,
  handler: async (args: ArgumentsCamelCase<StampArgs>) => {
    process.exitCode = await runStamp(args);
  },
};

export async function runStamp(args: StampArgs): Promise<number> {
  await loadDecoders(); // reading modules and symvers below is synchronous
  let base: LoadedBase;
  try {
    base = await loadBase(args.base);
  } catch (e) {
    printError(args.base, errorMessage(e));
    return EXIT_ERROR;
  }
  const files: string[] = [];
  const results: (StampResult & { entry?: ManifestEntry })[] = [];
  // Symlinks inside the trees are not followed: nothing outside them is written. An unreadable
  // path or entry is an error of its own; the rest of its tree is still stamped.
  const entries = walkModulePaths(args.modules, {
    followSymlinks: false,
    onSkip: (file, why) => results.push({ file, status: 'skipped', compression: null, message: why }),
  });
  for (const entry of entries) {
    if (entry.error === undefined) files.push(entry.file);
    else results.push({ file: entry.file, status: 'error', compression: null, message: entry.error });
  }
  if (files.length === 0 && results.length === 0) throw new UsageError('no modules found in the given paths');
  if (args.manifest) {
    const clash = manifestClash(args.manifest, files);
    if (clash) {
      printError(args.manifest, clash);
      return EXIT_ERROR;
    }
  }
  for (const f of files) results.push(await stampFile(f, base, { force: args.force, dryRun: !!args.manifest, stripSignature: args.stripSignature, breakHardLinks: args.breakHardlinks }));
  if (args.manifest) {
    const modules: Record<string, ManifestEntry> = {};
    for (const r of results) if (r.entry) modules[r.file] = r.entry;
    const manifest = createManifest({ file: base.file, sha256: base.sha256, types: base.btf.nrTypes, strLen: base.btf.strLen, release: base.release ?? null }, modules);
    try {
      await replaceFile(args.manifest, new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'));
    } catch (e) {
      printError(args.manifest, errorMessage(e));
      return EXIT_ERROR;
    }
  }
  for (const r of results) if (r.status === 'error') printError(r.file, r.message);
  if (args.format === 'json') {
    await writeOut(toJson({ base: { file: base.file, sha256: base.sha256, types: base.btf.nrTypes, strLen: base.btf.strLen, release: base.release ?? null }, manifest: args.manifest ?? null, modules: results.map(({ entry: _e, ...r }) => r) }));
  } else {
    // Text: names escaped for the terminal (lib/report/escape.ts).
    await writeOut(escapeStrings(results.filter((r) => r.status !== 'error').map(({ entry: _e, ...r }) => r)).map((r) => `${r.status}: ${r.file}: ${r.message}\n`).join('') +
      (args.manifest ? `manifest: ${escapeTerminal(args.manifest)} (${plural(results.filter((r) => r.entry).length, 'module')})\n` : ''));
  }
  const errors = results.filter((r) => r.status === 'error');
  if (errors.some((r) => r.message.includes('--force'))) return EXIT_FAIL;
  return errors.length ? EXIT_ERROR : EXIT_OK;
}

/** Why the manifest may not be written at `manifest`: it is one of the modules (same file or name). */
function manifestClash(manifest: string, modules: string[]): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(manifest);
  } catch {
    return undefined; // a new file cannot be one of the modules
  }
  for (const m of modules) {
    try {
      const ms = fs.statSync(fsPath(m));
      if (ms.dev === st.dev && ms.ino === st.ino) return `is the module ${m}: the manifest would replace it`;
    } catch { /* reported when the module is read */ }
  }
  return undefined;
}
