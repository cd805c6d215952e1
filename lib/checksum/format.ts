/**
 * The `.BTF.base_checksum` section: which base BTF a module's split BTF was built against.
 *
 * No kernel records this (a section of that name was proposed upstream and never merged), so
 * btfcheck defines it. A non-allocated SHT_PROGBITS section (flags 0, so the kernel never loads it
 * and ignores it), 52 bytes, all integers little-endian:
 *
 *   offset size  field
 *   0      8     magic       "BTFBASE\0"
 *   8      2     version     1
 *   10     1     algorithm   1 = SHA-256 of the base's raw BTF bytes (the vmlinux .BTF section,
 *                            byte-identical to /sys/kernel/btf/vmlinux)
 *   11     1     digest_len  32
 *   12     4     nr_types    the base's type count including void (the kernel's nr_types,
 *                            = the module's first type id)
 *   16     4     str_len     the base's string section length (= the module's first string offset)
 *   20     32    digest
 *
 * Readers must reject an unknown version or algorithm rather than guess; later versions may append
 * fields after the digest (digest_len says where it ends).
 */
import { toHex, viewOf } from '../bytes.js';
import { InputError } from '../errors.js';

export const CHECKSUM_SECTION = '.BTF.base_checksum';
export const CHECKSUM_MAGIC = 'BTFBASE\0';
export const CHECKSUM_VERSION = 1;
export const ALGORITHM_SHA256 = 1;
export const CHECKSUM_SECTION_SIZE = 52;

export interface StoredChecksum {
  /** Hex SHA-256 of the base's raw BTF bytes. */
  sha256: string;
  /** The base's nr_types (with void) and str_len as stamped. */
  types: number;
  strLen: number;
  /** Where it came from: the module's own section or a manifest. */
  source: 'section' | 'manifest';
}

/** What is stamped: a base's identity. */
export interface BaseIdentity {
  /** 32 bytes, or 64 hex digits. */
  sha256: Uint8Array | string;
  types: number;
  strLen: number;
}

export function hexToBytes(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length % 2 !== 0) throw new InputError(`not a hex string: '${hex.slice(0, 20)}'`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Encodes the section contents for `base`. */
export function encodeChecksumSection(base: BaseIdentity): Uint8Array {
  const digest = typeof base.sha256 === 'string' ? hexToBytes(base.sha256) : base.sha256;
  if (digest.length !== 32) throw new InputError(`a SHA-256 digest is 32 bytes, not ${digest.length}`);
  if (!(Number.isInteger(base.types) && base.types >= 0 && base.types <= 0xffffffff &&
    Number.isInteger(base.strLen) && base.strLen >= 0 && base.strLen <= 0xffffffff)) {
    throw new InputError(`base shape out of range: ${base.types} types, ${base.strLen} string bytes`);
  }
  const out = new Uint8Array(CHECKSUM_SECTION_SIZE);
  const v = viewOf(out);
  for (let i = 0; i < 8; i++) out[i] = CHECKSUM_MAGIC.charCodeAt(i);
  v.setUint16(8, CHECKSUM_VERSION, true);
  v.setUint8(10, ALGORITHM_SHA256);
  v.setUint8(11, 32);
  v.setUint32(12, base.types, true);
  v.setUint32(16, base.strLen, true);
  out.set(digest, 20);
  return out;
}

/** Decodes section contents; throws InputError naming what is wrong. */
export function decodeChecksumSection(data: Uint8Array): StoredChecksum {
  if (data.length < 20) throw new InputError(`${CHECKSUM_SECTION} is ${data.length} bytes, shorter than its 20-byte header`);
  for (let i = 0; i < 8; i++) {
    if (data[i] !== CHECKSUM_MAGIC.charCodeAt(i)) throw new InputError(`${CHECKSUM_SECTION} has a bad magic`);
  }
  const v = viewOf(data);
  const version = v.getUint16(8, true);
  if (version !== CHECKSUM_VERSION) throw new InputError(`${CHECKSUM_SECTION} version ${version} is not supported (want ${CHECKSUM_VERSION})`);
  const algorithm = v.getUint8(10);
  const digestLen = v.getUint8(11);
  if (algorithm !== ALGORITHM_SHA256 || digestLen !== 32) {
    throw new InputError(`${CHECKSUM_SECTION} algorithm ${algorithm} with a ${digestLen}-byte digest is not supported (want 1 = SHA-256, 32 bytes)`);
  }
  if (data.length < 20 + digestLen) throw new InputError(`${CHECKSUM_SECTION} is truncated: ${data.length} bytes`);
  return {
    sha256: toHex(data.subarray(20, 20 + digestLen)), types: v.getUint32(12, true), strLen: v.getUint32(16, true),
    source: 'section',
  };
}
