/** Which compression a buffer uses, told by its leading magic bytes. */

export type Compression = 'xz' | 'zstd' | 'gzip' | 'lz4-legacy' | 'lz4';
/** Formats recognised only to say that they are not supported. */
export type UnsupportedCompression = 'bzip2' | 'lzo';

const MAGICS: ReadonlyArray<[Compression | UnsupportedCompression, number[]]> = [
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['gzip', [0x1f, 0x8b, 0x08]],
  // The kernel's `lz4 -l` (legacy) frames, as in bzImage payloads and initramfs.
  ['lz4-legacy', [0x02, 0x21, 0x4c, 0x18]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lzo', [0x89, 0x4c, 0x5a, 0x4f, 0x00]],
];

export function startsWith(bytes: Uint8Array, magic: ArrayLike<number>, at = 0): boolean {
  if (at < 0 || bytes.length - at < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[at + i] !== magic[i]) return false;
  return true;
}

/** The compression of `bytes` by magic, or undefined when it starts with none we know. */
export function detectCompression(bytes: Uint8Array): Compression | UnsupportedCompression | undefined {
  for (const [name, magic] of MAGICS) if (startsWith(bytes, magic)) return name;
  return undefined;
}

/** Magic bytes of the supported formats, for scanning a bzImage without a usable setup header. */
export const COMPRESSION_MAGICS: ReadonlyArray<[Compression, number[]]> =
  MAGICS.filter((m): m is [Compression, number[]] => m[0] !== 'bzip2' && m[0] !== 'lzo');
