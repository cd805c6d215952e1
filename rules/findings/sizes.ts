/**
 * Size consistency: members must fit in their struct, array elements must have a size, DATASEC
 * entries must match their variable's type. A member type id that lands on an unrelated base type
 * usually has the wrong size, so these catch mismatches that kinds alone let through.
 */
import { Kind } from '../../lib/btf/kinds.js';
import { FindingContext, RefUse } from '../../lib/diagnose/context.js';
import { FindingRule } from './rule.js';

const U32_MAX = 0xffffffff;

function memberName(ctx: FindingContext, nameOff: number): string {
  const name = ctx.split.str(nameOff) || '(anon)';
  // Cut short like type labels: a hostile module's 1 MB name would make a 1 MB finding.
  return name.length > 60 ? `${name.slice(0, 56)}...` : name;
}

export const memberSize: FindingRule = {
  id: 'member-size',
  severity: 'error',
  provesMismatch: true,
  description: 'Every struct/union member must have a size, lie inside its struct and end before the next member starts (the kernel\'s "Member exceeds struct_size" check, which it skips for module BTF).',
  check(ctx, report) {
    for (let i = 0; i < ctx.own.length; i++) {
      const t = ctx.own[i];
      if (t.kind !== Kind.STRUCT && t.kind !== Kind.UNION) continue;
      const typeId = ctx.startId + i;
      const structSize = t.sizeOrType;
      const ms = t.members!;
      for (let k = 0; k < ms.length; k++) {
        const m = ms[k];
        if (m.type === 0 || !ctx.split.has(m.type)) continue; // member-type / type-id-out-of-range
        const target = ctx.resolveModifiers(m.type);
        if (target === undefined) continue; // modifier-cycle reports it
        const byteOff = Math.floor(m.bitsOffset / 8);
        if (m.bitfieldSize > 0) {
          const bytes = Math.ceil((m.bitfieldSize + (m.bitsOffset % 8)) / 8);
          if (byteOff > structSize || structSize - byteOff < bytes) {
            report(typeId, () => `${ctx.describe(typeId)}: bitfield member '${memberName(ctx, m.nameOff)}' (bits ${m.bitsOffset}+${m.bitfieldSize}) exceeds the struct's ${structSize} bytes`);
          }
          continue;
        }
        const tk = ctx.kindOf(target);
        if (tk === Kind.INT) {
          // Old-style bitfields: the INT's own offset and bits say how much of the member is used.
          const int = ctx.typeOf(target)!.int!;
          const bits = int.bits + int.offset + (m.bitsOffset % 8);
          if (byteOff > structSize || structSize - byteOff < Math.ceil(bits / 8)) {
            report(typeId, () => `${ctx.describe(typeId)}: member '${memberName(ctx, m.nameOff)}' at byte ${byteOff} (${ctx.describe(target)}) exceeds the struct's ${structSize} bytes`);
          }
          continue;
        }
        const size = ctx.sizeOf(m.type);
        if (!('size' in size)) {
          // Kinds that are never data types are reported by member-type; here only what resolves badly.
          if (tk !== Kind.FUNC && tk !== Kind.VAR && tk !== Kind.DATASEC && tk !== Kind.DECL_TAG && tk !== Kind.FUNC_PROTO || target !== m.type) {
            report(typeId, () => `${ctx.describe(typeId)}: member '${memberName(ctx, m.nameOff)}' has no size: its type leads to ${'none' in size ? size.none : size.broken}`);
          }
          continue;
        }
        if (m.bitsOffset % 8 !== 0) {
          report(typeId, () => `${ctx.describe(typeId)}: member '${memberName(ctx, m.nameOff)}' of ${ctx.describe(m.type)} starts at bit ${m.bitsOffset}, not on a byte boundary`);
        } else if (byteOff > structSize || structSize - byteOff < size.size) {
          report(typeId, () => `${ctx.describe(typeId)}: member '${memberName(ctx, m.nameOff)}' at byte ${byteOff} is ${ctx.describe(m.type)} of ${size.size} bytes, past the struct's ${structSize} bytes`);
        } else if (t.kind === Kind.STRUCT && k + 1 < ms.length && byteOff + size.size > Math.ceil(ms[k + 1].bitsOffset / 8) && ms[k + 1].bitsOffset > m.bitsOffset) {
          // Struct members follow each other; one running into the next is the wrong type.
          const next = ms[k + 1];
          report(typeId, () => `${ctx.describe(typeId)}: member '${memberName(ctx, m.nameOff)}' at byte ${byteOff} is ${ctx.describe(m.type)} of ${size.size} bytes, overlapping the next member '${memberName(ctx, next.nameOff)}' at byte ${Math.floor(next.bitsOffset / 8)}`);
        }
      }
    }
  },
};

export const arraySize: FindingRule = {
  id: 'array-size',
  severity: 'error',
  provesMismatch: true,
  description: 'An array\'s element type must have a size, and elements times size must fit in 32 bits.',
  check(ctx, report) {
    for (let i = 0; i < ctx.own.length; i++) {
      const t = ctx.own[i];
      if (t.kind !== Kind.ARRAY) continue;
      const elem = t.array!.type;
      const k = ctx.kindOf(elem);
      if (elem === 0 || k === undefined) continue; // array-type / type-id-out-of-range
      const typeId = ctx.startId + i;
      const size = ctx.sizeOf(elem);
      if (!('size' in size)) {
        const target = ctx.resolveModifiers(elem);
        const tk = target === undefined ? undefined : ctx.kindOf(target);
        // Wrong kinds are array-type's; report only elements that should have a size and do not.
        if (target !== undefined && tk !== undefined && (tk === Kind.FWD || target !== elem || tk === Kind.ARRAY)) {
          report(typeId, () => `${ctx.describe(typeId)}: element type ${ctx.describe(elem)} has no size: it leads to ${'none' in size ? size.none : size.broken}`);
        }
        continue;
      }
      if (size.size * t.array!.nelems > U32_MAX) {
        report(typeId, () => `${ctx.describe(typeId)}: ${t.array!.nelems} elements of ${size.size} bytes overflow 32 bits`);
      }
    }
  },
};

export const datasecEntrySize: FindingRule = {
  id: 'datasec-entry-size',
  severity: 'error',
  provesMismatch: true,
  description: 'Each DATASEC entry must lie inside the section and have the size of its variable\'s type.',
  check(ctx, report) {
    for (const r of ctx.refsByUse[RefUse.DatasecEntry]) {
      const sec = ctx.own[r.fromIndex];
      const entry = sec.secinfos![r.slot];
      const typeId = ctx.startId + r.fromIndex;
      if (entry.offset > sec.sizeOrType || sec.sizeOrType - entry.offset < entry.size) {
        report(typeId, () => `${ctx.describe(typeId)}: entry ${r.slot} (offset ${entry.offset}, ${entry.size} bytes) lies outside the section's ${sec.sizeOrType} bytes`);
        continue;
      }
      if (ctx.kindOf(r.id) !== Kind.VAR) continue; // datasec-entry reports it
      const varType = ctx.typeOf(r.id)!.sizeOrType;
      const size = ctx.sizeOf(varType);
      if ('size' in size && size.size !== entry.size) {
        report(typeId, () => `${ctx.describe(typeId)}: entry ${r.slot} is ${entry.size} bytes but ${ctx.describe(r.id)} has type ${ctx.describe(varType)} of ${size.size} bytes`);
      }
    }
  },
};

export const typeCycle: FindingRule = {
  id: 'type-cycle',
  severity: 'error',
  provesMismatch: true,
  description: 'A chain of typedefs, qualifiers or array elements must end; a cycle means ids point at the wrong types.',
  check(ctx, report) {
    // Only module types can close a cycle (base types never refer to module ids), so one state per
    // module type: 0 unvisited, 1 on the current walk, 2 finished. Iterative: no stack to overflow.
    const state = new Uint8Array(ctx.own.length);
    const next = (index: number): number | undefined => {
      const t = ctx.own[index];
      if (t.kind === Kind.ARRAY) return t.array!.type;
      if (t.kind === Kind.TYPEDEF || t.kind === Kind.CONST || t.kind === Kind.VOLATILE || t.kind === Kind.RESTRICT || t.kind === Kind.TYPE_TAG) return t.sizeOrType;
      return undefined;
    };
    for (let i = 0; i < ctx.own.length; i++) {
      if (state[i] !== 0) continue;
      const walk: number[] = [];
      let cur: number | undefined = i;
      while (cur !== undefined && state[cur] === 0) {
        state[cur] = 1;
        walk.push(cur);
        const id = next(cur);
        cur = id !== undefined && id >= ctx.startId && id < ctx.nrTypes ? id - ctx.startId : undefined;
      }
      if (cur !== undefined && state[cur] === 1) {
        const id = ctx.startId + cur;
        report(id, () => `${ctx.describe(id)}: its chain of typedefs, qualifiers and arrays loops back to itself`);
      }
      for (const w of walk) state[w] = 2;
    }
  },
};
