/**
 * `btfcheck fingerprint BASE...`: the identity of each base BTF, the value `stamp` records in
 * modules: SHA-256 of the raw BTF bytes (identical in a vmlinux .BTF section and in
 * /sys/kernel/btf/vmlinux), its type count (with void, like the kernel's nr_types), string length,
 * and the kernel release when the file tells it.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { errorMessage, EXIT_ERROR, EXIT_OK, printError, writeOut } from '../common.js';
import { loadBase } from '../io/index.js';
import { archiveKindOf, loadBaseFromArchives } from '../io/archives.js';
import { escapeStrings } from '../../lib/report/escape.js';
import { schemaOf, toJson } from '../../lib/report/model.js';

export interface Fingerprint {
  file: string;
  sha256: string;
  types: number;
  strLen: number;
  release: string | null;
}

interface FingerprintArgs {
  bases: string[];
  format: 'text' | 'json';
}

export async function fingerprintBase(path: string): Promise<Fingerprint> {
  // A package (.deb, .rpm) holding a kernel image or a headers vmlinux: its base, as `check --base PKG` reads it.
  const b = archiveKindOf(path) ? await loadBaseFromArchives([path]) : await loadBase(path);
  return { file: b.file, sha256: b.sha256, types: b.btf.nrTypes, strLen: b.btf.strLen, release: b.release ?? null };
}

export function renderFingerprints(list: Fingerprint[], format: 'text' | 'json', errors: { file: string; message: string }[] = []): string {
  if (format === 'json') return toJson({ bases: list, errors }, schemaOf('fingerprint'));
  // Text: file names and releases escaped for the terminal (lib/report/escape.ts).
  return escapeStrings(list).map((f) =>
    `${f.sha256}  ${f.types.toLocaleString('en-US')} types  ${f.strLen.toLocaleString('en-US')} string bytes  ${f.release ?? '-'}  ${f.file}\n`).join('');
}

export const fingerprintCommand: CommandModule<object, FingerprintArgs> = {
  command: 'fingerprint <bases..>',
  describe: 'Print each base BTF\'s checksum (SHA-256 of the raw BTF), type count, string length and release',
  builder: (y: Argv) =>
    y
      .positional('bases', { type: 'string', array: true, demandOption: true, describe: 'vmlinux, vmlinuz, raw BTF (/sys/kernel/btf/vmlinux, or "running"), compressed raw BTF, or a kernel package (.deb, .rpm: its image, else a headers package\'s vmlinux)' })
      .option('format', { alias: 'f', type: 'string', choices: ['text', 'json'], default: 'text', describe: 'text, or JSON: {schema, bases: [{file, sha256, types, strLen, release}], errors: [{file, message}]}' })
      .example('$0 fingerprint running', 'the running kernel\'s base checksum')
      .example('$0 fingerprint --format json boot/vmlinuz-*', 'several kernels at once, as JSON')
      .example('$0 fingerprint linux-headers-7.2.13+deb14-cloud-amd64_7.2.13-1_amd64.deb', 'the base a headers package builds modules against (compare with the kernel\'s)') as unknown as Argv<FingerprintArgs>,
  handler: async (args: ArgumentsCamelCase<FingerprintArgs>) => {
    const list: Fingerprint[] = [];
    const errors: { file: string; message: string }[] = [];
    for (const path of args.bases) {
      try {
        list.push(await fingerprintBase(path));
      } catch (e) {
        // One line per unreadable base (and an entry in JSON's errors); the others are still printed.
        errors.push({ file: path, message: errorMessage(e) });
        printError(path, errorMessage(e));
      }
    }
    await writeOut(renderFingerprints(list, args.format, errors));
    process.exitCode = errors.length ? EXIT_ERROR : EXIT_OK;
  },
};
