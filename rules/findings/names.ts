/**
 * Name offsets. Split BTF string offsets continue from the base's string length, so a module built
 * against another base has offsets that land in the middle of base strings (`rimary_device` is the
 * tail of `primary_device`) or past the end. The kernel only checks that the name looks like an
 * identifier; a mid-string landing is proof of a different base.
 */
import { Kind } from '../../lib/btf/kinds.js';
import { FindingContext, NameSlot, nameSlotLabel, ODD_STRING_START } from '../../lib/diagnose/context.js';
import { FindingRule } from './rule.js';

/** How a message names name number k of the context's list: `name`, `member 3 name`, ... */
function what(ctx: FindingContext, k: number): string {
  return nameSlotLabel(ctx.nameSlot[k], ctx.nameIndex[k]);
}

function quote(s: string | undefined): string {
  return s === undefined ? '?' : `'${s.length > 40 ? s.slice(0, 40) + '...' : s}'`;
}

export const nameOffsetOutOfRange: FindingRule = {
  id: 'name-offset-out-of-range',
  severity: 'error',
  provesMismatch: true,
  description: 'A name offset lies past the end of base plus module strings.',
  check(ctx, report) {
    const total = ctx.split.strings.totalLength;
    const offs = ctx.nameOffs;
    for (let k = 0; k < ctx.nameCount; k++) {
      const off = offs[k];
      if (off < total) continue;
      const id = ctx.startId + ctx.nameOwner[k];
      report(id, () => `${ctx.describe(id)}: ${what(ctx, k)} offset ${off} is past the end of the strings (${total} bytes with the base)`);
    }
  },
};

export const nameMidString: FindingRule = {
  id: 'name-mid-string',
  severity: 'error',
  provesMismatch: true,
  description: 'A name offset must land on the start of a string (the previous byte is NUL); one that lands mid-string proves the module was built against a different base.',
  check(ctx, report) {
    const strings = ctx.split.strings;
    const start = ctx.split.startStrOff;
    const total = strings.totalLength;
    const offs = ctx.nameOffs;
    for (let k = 0; k < ctx.nameCount; k++) {
      const off = offs[k];
      if (off === 0 || off >= total || strings.isStringStart(off)) continue;
      const id = ctx.startId + ctx.nameOwner[k];
      report(id, () => {
        const whole = strings.stringStartOf(off);
        const where = off < start ? 'base' : 'module';
        return `${ctx.describe(id)}: ${what(ctx, k)} offset ${off} lands mid-string in the ${where} strings: ${quote(ctx.split.str(off))} is the tail of ${quote(whole === undefined ? undefined : ctx.split.str(whole))}`;
      });
    }
  },
};

export const nonCName: FindingRule = {
  id: 'non-c-name',
  severity: 'warning',
  provesMismatch: false,
  description: 'Names in the module\'s own strings should be C identifiers; names like `closure-0` or `core::fmt` are Rust (or other non-C) types leaking into BTF.',
  check(ctx, report) {
    // Nearly every module has no odd name at all: the pass over its strings says so.
    const strings = ctx.ownStrings();
    if (strings.odd === 0) return;
    const marks = strings.marks;
    const from = ctx.ownStringsFrom;
    const offs = ctx.nameOffs;
    for (let k = 0; k < ctx.nameCount; k++) {
      const off = offs[k];
      const local = off - from;
      if (off === 0 || local < 0 || local >= marks.length || marks[local] !== ODD_STRING_START) continue;
      // INT and FLOAT names ('long unsigned int'), DATASEC names ('.data..percpu') and tag values
      // are not identifiers by design.
      if (ctx.nameSlot[k] === NameSlot.Type) {
        const kind = ctx.kinds[ctx.nameOwner[k]];
        if (kind === Kind.INT || kind === Kind.FLOAT || kind === Kind.DATASEC || kind === Kind.DECL_TAG || kind === Kind.TYPE_TAG) continue;
      }
      const id = ctx.startId + ctx.nameOwner[k];
      report(id, () => `${ctx.describe(id)}: ${what(ctx, k)} ${quote(ctx.ownStringAt(off))} is not a C identifier`);
    }
  },
};
