/**
 * Unix ar archives, as a .deb is one (`debian-binary`, `control.tar.*`, `data.tar.*`): the member
 * table only, read header by header from a ByteSource, so a member is never read unless asked for.
 * GNU (`name/`, `//` long-name table) and BSD (`#1/N`) names are understood.
 */
import { latin1 } from '../bytes.js';
import { InputError } from '../errors.js';
import { ByteSource } from '../source.js';

export const AR_MAGIC = '!<arch>\n';
const HEADER = 60;
/** Members listed before giving up: a .deb has three. */
const MAX_MEMBERS = 4096;

export interface ArMember {
  name: string;
  /** Offset of the member's data in the archive, and its length. */
  offset: number;
  size: number;
}

export function isAr(head: Uint8Array): boolean {
  return head.length >= 8 && latin1(head, 0, 8) === AR_MAGIC;
}

/** The members of an ar archive, in order. */
export function readArMembers(src: ByteSource): ArMember[] {
  if (src.size < 8 || !isAr(src.read(0, 8))) throw new InputError('not an ar archive (no !<arch> magic)');
  const members: ArMember[] = [];
  let longNames: Uint8Array | undefined;
  let at = 8;
  while (at < src.size) {
    if (at === src.size - 1 && src.read(at, 1)[0] === 0x0a) break; // a final padding byte
    if (src.size - at < HEADER) throw new InputError(`ar archive truncated in a member header at offset ${at}`);
    const h = src.read(at, HEADER);
    if (h[58] !== 0x60 || h[59] !== 0x0a) throw new InputError(`ar archive: bad member header at offset ${at}`);
    const sizeText = latin1(h, 48, 58).trim();
    if (!/^\d+$/.test(sizeText)) throw new InputError(`ar archive: bad member size '${sizeText}' at offset ${at}`);
    let size = Number(sizeText);
    let offset = at + HEADER;
    if (size > src.size - offset) throw new InputError(`ar archive: member at offset ${at} claims ${size} bytes, past the end of the file`);
    let name = latin1(h, 0, 16).replace(/ +$/, '');
    const next = offset + size + (size & 1);
    if (name === '//') {
      longNames = src.read(offset, size);
      at = next;
      continue;
    }
    if (name === '/' || name === '/SYM64/' || name === '__.SYMDEF' || name === '__.SYMDEF SORTED') {
      at = next;
      continue;
    }
    const bsd = /^#1\/(\d+)$/.exec(name);
    if (bsd) {
      const n = Number(bsd[1]);
      if (n > size) throw new InputError(`ar archive: member name longer than its member at offset ${at}`);
      name = latin1(src.read(offset, n), 0, n).replace(/\0+$/, '');
      offset += n;
      size -= n;
    } else if (/^\/\d+$/.test(name)) {
      const start = Number(name.slice(1));
      if (!longNames || start >= longNames.length) throw new InputError(`ar archive: long name reference ${name} without a name table`);
      let end = start;
      while (end < longNames.length && longNames[end] !== 0x0a) end++;
      name = latin1(longNames, start, end).replace(/\/$/, '');
    } else {
      name = name.replace(/\/$/, '');
    }
    members.push({ name, offset, size });
    if (members.length > MAX_MEMBERS) throw new InputError(`ar archive: more than ${MAX_MEMBERS} members`);
    at = next;
  }
  return members;
}
