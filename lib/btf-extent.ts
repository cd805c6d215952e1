/**
 * A base's raw BTF must end where its header says its sections end. The kernel refuses anything
 * after the last section (btf_check_sec_info: "Unsupported section found"), and btfcheck's
 * fingerprint is the SHA-256 of the whole raw BTF: bytes appended to a base would pass as another
 * base with another checksum. Kept outside lib/btf/ so the base parser stays as it is.
 */
import { InputError } from './errors.js';

/**
 * Throws unless `raw` ends exactly where its last section ends: types, strings, or (7.1+ headers
 * of 32 bytes or more) the layout section.
 */
export function checkBtfExtent(raw: Uint8Array): void {
  if (raw.length < 24) return; // too short for a header: the parser says so
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = raw[0] === 0x9f;
  const hdrLen = v.getUint32(4, le);
  const typeEnd = v.getUint32(8, le) + v.getUint32(12, le);
  const strEnd = v.getUint32(16, le) + v.getUint32(20, le);
  const layoutEnd = hdrLen >= 32 && raw.length >= 32 ? v.getUint32(24, le) + v.getUint32(28, le) : 0;
  const end = hdrLen + Math.max(typeEnd, strEnd, layoutEnd);
  if (raw.length > end) {
    const n = raw.length - end;
    throw new InputError(`raw BTF has ${n} trailing byte${n === 1 ? '' : 's'} after its sections (the header says they end at ${end} of ${raw.length})`);
  }
}
