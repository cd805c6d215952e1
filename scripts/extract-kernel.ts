/**
 * scripts/extract-kernel.ts VMLINUZ VMLINUX_OUT BTF_OUT
 *
 * Decompresses a bzImage to its vmlinux ELF and writes the ELF and its raw .BTF section, using
 * btfcheck's own input layer (run by scripts/fetch-kernels.sh through tsx; CI has only Node).
 */
import fs from 'node:fs';
import { nodeXzDecoder } from '../cmd/io/index.js';
import { Btf } from '../lib/btf/btf.js';
import { findSection, readElf, sectionData } from '../lib/elf/sections.js';
import { loadDecoders } from '../lib/compress/index.js';
import { InputError } from '../lib/errors.js';
import { memorySource } from '../lib/source.js';
import { vmlinuxFromBzImage } from '../lib/vmlinuz.js';

function writeAtomically(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, path);
}

const [vmlinuz, vmlinuxOut, btfOut] = process.argv.slice(2);
if (!btfOut) {
  process.stderr.write('usage: extract-kernel.ts VMLINUZ VMLINUX_OUT BTF_OUT\n');
  process.exit(2);
}
try {
  await loadDecoders(); // 6.12 payloads are zstd
  const { elf, compression } = vmlinuxFromBzImage(new Uint8Array(fs.readFileSync(vmlinuz)), { xz: nodeXzDecoder });
  const src = memorySource(elf);
  const btfSec = findSection(readElf(src), '.BTF');
  if (!btfSec) throw new InputError('the vmlinux has no .BTF section');
  const raw = sectionData(src, btfSec);
  Btf.parseBase(raw); // refuse to cache something btfcheck cannot read
  writeAtomically(vmlinuxOut, elf);
  writeAtomically(btfOut, raw);
  process.stdout.write(`${vmlinuz}: ${compression} payload, vmlinux ${elf.length} bytes, .BTF ${raw.length} bytes\n`);
} catch (e) {
  process.stderr.write(`extract-kernel: ${vmlinuz}: ${e instanceof InputError ? e.message : (e as Error).stack}\n`);
  process.exit(1);
}
