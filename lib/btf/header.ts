/** The BTF header (struct btf_header), decoded leniently; the kernel's strict checks live in rules/. */
import { viewOf } from '../bytes.js';
import { ensure } from '../errors.js';
import { BTF_MAGIC } from './kinds.js';

export interface BtfHeader {
  magic: number;
  version: number;
  flags: number;
  hdrLen: number;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
}

/** True when the bytes start with the BTF magic in either byte order. */
export function isBtf(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && ((bytes[0] === 0x9f && bytes[1] === 0xeb) || (bytes[0] === 0xeb && bytes[1] === 0x9f));
}

/**
 * Decodes the header and checks that the type and string sections lie inside the data.
 * Little-endian only: the kernels we model are x86-64 and read BTF in native byte order.
 */
export function parseHeader(bytes: Uint8Array): BtfHeader {
  ensure(bytes.length >= 24, `BTF is ${bytes.length} bytes, shorter than its 24-byte header`);
  const v = viewOf(bytes);
  const h: BtfHeader = {
    magic: v.getUint16(0, true), version: v.getUint8(2), flags: v.getUint8(3), hdrLen: v.getUint32(4, true),
    typeOff: v.getUint32(8, true), typeLen: v.getUint32(12, true),
    strOff: v.getUint32(16, true), strLen: v.getUint32(20, true),
  };
  ensure(h.magic !== 0x9feb, 'BTF is big-endian; only little-endian BTF is supported');
  ensure(h.magic === BTF_MAGIC, `bad BTF magic 0x${h.magic.toString(16)}`);
  ensure(h.hdrLen >= 24 && h.hdrLen <= bytes.length, `bad BTF header length ${h.hdrLen}`);
  const body = bytes.length - h.hdrLen;
  ensure(h.typeOff <= body && h.typeLen <= body - h.typeOff,
    `BTF type section (offset ${h.typeOff}, ${h.typeLen} bytes) runs past the end of the data`);
  ensure(h.strOff <= body && h.strLen <= body - h.strOff,
    `BTF string section (offset ${h.strOff}, ${h.strLen} bytes) runs past the end of the data`);
  return h;
}
