/**
 * Size consistency: members must fit in their struct, array elements must have a size, DATASEC
 * entries must match their variable's type. A member type id that lands on an unrelated base type
 * usually has the wrong size, so these catch mismatches that kinds alone let through.
 */
import { Kind } from '../../lib/btf/kinds.js';
import { FindingContext, RefUse } from '../../lib/diagnose/context.js';
import { ByteScratch, WordScratch } from '../../lib/diagnose/scratch.js';
import { FindingRule } from './rule.js';

const U32_MAX = 0xffffffff;

/** Member k of own type i's name, for messages. */
function memberName(ctx: FindingContext, i: number, k: number): string {
  const name = ctx.split.str(ctx.memberNameOff(i, k)) || '(anon)';
  // Cut short like type labels: a hostile module's 1 MB name would make a 1 MB finding.
  return name.length > 60 ? `${name.slice(0, 56)}...` : name;
}

export const memberSize: FindingRule = {
  id: 'member-size',
  severity: 'error',
  provesMismatch: true,
  description: 'Every struct/union member must have a size, lie inside its struct and end before the next member starts (the kernel\'s "Member exceeds struct_size" check, which it skips for module BTF).',
  check(ctx, report) {
    const kinds = ctx.kinds;
    for (let i = 0; i < ctx.count; i++) {
      const structKind = kinds[i];
      if (structKind !== Kind.STRUCT && structKind !== Kind.UNION) continue;
      const typeId = ctx.startId + i;
      const structSize = ctx.ownSizeOrType(i);
      const vlen = ctx.ownVlen(i);
      for (let k = 0; k < vlen; k++) {
        const type = ctx.memberType(i, k);
        if (type === 0 || !ctx.has(type)) continue; // member-type / type-id-out-of-range
        const target = ctx.resolveModifiers(type);
        if (target === undefined) continue; // modifier-cycle reports it
        const bitsOffset = ctx.memberBitsOffset(i, k);
        const bitfieldSize = ctx.memberBitfieldSize(i, k);
        const byteOff = Math.floor(bitsOffset / 8);
        if (bitfieldSize > 0) {
          const bytes = Math.ceil((bitfieldSize + (bitsOffset % 8)) / 8);
          if (byteOff > structSize || structSize - byteOff < bytes) {
            report(typeId, () => `${ctx.describe(typeId)}: bitfield member '${memberName(ctx, i, k)}' (bits ${bitsOffset}+${bitfieldSize}) exceeds the struct's ${structSize} bytes`);
          }
          continue;
        }
        const tk = ctx.kindOf(target);
        if (tk === Kind.INT) {
          // Old-style bitfields: the INT's own offset and bits say how much of the member is used.
          const int = ctx.intDataOf(target);
          const bits = (int & 0xff) + ((int >>> 16) & 0xff) + (bitsOffset % 8);
          if (byteOff > structSize || structSize - byteOff < Math.ceil(bits / 8)) {
            report(typeId, () => `${ctx.describe(typeId)}: member '${memberName(ctx, i, k)}' at byte ${byteOff} (${ctx.describe(target)}) exceeds the struct's ${structSize} bytes`);
          }
          continue;
        }
        const size = ctx.sizeOf(type);
        if (!(size >= 0)) {
          // Kinds that are never data types are reported by member-type; here only what resolves badly.
          if (tk !== Kind.FUNC && tk !== Kind.VAR && tk !== Kind.DATASEC && tk !== Kind.DECL_TAG && tk !== Kind.FUNC_PROTO || target !== type) {
            const failure = ctx.failure;
            const at = ctx.failureId;
            report(typeId, () => `${ctx.describe(typeId)}: member '${memberName(ctx, i, k)}' has no size: its type leads to ${ctx.sizeFailureText(failure, at)}`);
          }
          continue;
        }
        if (bitsOffset % 8 !== 0) {
          report(typeId, () => `${ctx.describe(typeId)}: member '${memberName(ctx, i, k)}' of ${ctx.describe(type)} starts at bit ${bitsOffset}, not on a byte boundary`);
        } else if (byteOff > structSize || structSize - byteOff < size) {
          report(typeId, () => `${ctx.describe(typeId)}: member '${memberName(ctx, i, k)}' at byte ${byteOff} is ${ctx.describe(type)} of ${size} bytes, past the struct's ${structSize} bytes`);
        } else if (structKind === Kind.STRUCT && k + 1 < vlen) {
          // Struct members follow each other; one running into the next is the wrong type.
          const nextBits = ctx.memberBitsOffset(i, k + 1);
          if (byteOff + size > Math.ceil(nextBits / 8) && nextBits > bitsOffset) {
            report(typeId, () => `${ctx.describe(typeId)}: member '${memberName(ctx, i, k)}' at byte ${byteOff} is ${ctx.describe(type)} of ${size} bytes, overlapping the next member '${memberName(ctx, i, k + 1)}' at byte ${Math.floor(nextBits / 8)}`);
          }
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
    for (let i = 0; i < ctx.count; i++) {
      if (ctx.kinds[i] !== Kind.ARRAY) continue;
      const elem = ctx.arrayElemType(i);
      const k = ctx.kindOf(elem);
      if (elem === 0 || k === undefined) continue; // array-type / type-id-out-of-range
      const typeId = ctx.startId + i;
      const size = ctx.sizeOf(elem);
      if (!(size >= 0)) {
        const failure = ctx.failure;
        const at = ctx.failureId;
        const target = ctx.resolveModifiers(elem);
        const tk = target === undefined ? undefined : ctx.kindOf(target);
        // Wrong kinds are array-type's; report only elements that should have a size and do not.
        if (target !== undefined && tk !== undefined && (tk === Kind.FWD || target !== elem || tk === Kind.ARRAY)) {
          report(typeId, () => `${ctx.describe(typeId)}: element type ${ctx.describe(elem)} has no size: it leads to ${ctx.sizeFailureText(failure, at)}`);
        }
        continue;
      }
      const nelems = ctx.arrayNelems(i);
      if (size * nelems > U32_MAX) {
        report(typeId, () => `${ctx.describe(typeId)}: ${nelems} elements of ${size} bytes overflow 32 bits`);
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
    const { byUse, useStart, refId, refFrom, refSlot } = ctx;
    for (let u = useStart[RefUse.DatasecEntry]; u < useStart[RefUse.DatasecEntry + 1]; u++) {
      const r = byUse[u];
      const sec = refFrom[r];
      const slot = refSlot[r];
      const secSize = ctx.ownSizeOrType(sec);
      const offset = ctx.secinfoOffset(sec, slot);
      const entrySize = ctx.secinfoSize(sec, slot);
      const typeId = ctx.startId + sec;
      if (offset > secSize || secSize - offset < entrySize) {
        report(typeId, () => `${ctx.describe(typeId)}: entry ${slot} (offset ${offset}, ${entrySize} bytes) lies outside the section's ${secSize} bytes`);
        continue;
      }
      const target = refId[r];
      if (ctx.kindOf(target) !== Kind.VAR) continue; // datasec-entry reports it
      const varType = ctx.sizeOrTypeOf(target);
      const size = ctx.sizeOf(varType);
      if (size >= 0 && size !== entrySize) {
        report(typeId, () => `${ctx.describe(typeId)}: entry ${slot} is ${entrySize} bytes but ${ctx.describe(target)} has type ${ctx.describe(varType)} of ${size} bytes`);
      }
    }
  },
};

/** typeCycle's buffers (see lib/diagnose/scratch.ts). */
const cycleStates = new ByteScratch();
const cycleWalk = new WordScratch();

export const typeCycle: FindingRule = {
  id: 'type-cycle',
  severity: 'error',
  provesMismatch: true,
  description: 'A chain of typedefs, qualifiers or array elements must end; a cycle means ids point at the wrong types.',
  check(ctx, report) {
    // Only module types can close a cycle (base types never refer to module ids), so one state per
    // module type: 0 unvisited, 1 on the current walk, 2 finished. Iterative: no stack to overflow.
    const n = ctx.count;
    const kinds = ctx.kinds;
    const state = cycleStates.take(n);
    const walk = cycleWalk.take(n);
    for (let i = 0; i < n; i++) {
      // A walk from any other kind ends where it starts.
      if (state[i] !== 0 || !isChainKind(kinds[i])) continue;
      let walked = 0;
      let cur = i;
      let looped = false;
      for (;;) {
        state[cur] = 1;
        walk[walked++] = cur;
        if (!isChainKind(kinds[cur])) break;
        const id = kinds[cur] === Kind.ARRAY ? ctx.arrayElemType(cur) : ctx.ownSizeOrType(cur);
        if (id < ctx.startId || id >= ctx.nrTypes) break;
        const next = id - ctx.startId;
        if (state[next] === 1) { looped = true; cur = next; break; }
        if (state[next] === 2) break;
        cur = next;
      }
      if (looped) {
        const id = ctx.startId + cur;
        report(id, () => `${ctx.describe(id)}: its chain of typedefs, qualifiers and arrays loops back to itself`);
      }
      for (let w = 0; w < walked; w++) state[walk[w]] = 2;
    }
  },
};

/** Kinds whose chain typeCycle follows: arrays (to the element), typedefs and qualifiers. */
function isChainKind(kind: number): boolean {
  return kind === Kind.ARRAY || kind === Kind.TYPEDEF || kind === Kind.CONST || kind === Kind.VOLATILE ||
    kind === Kind.RESTRICT || kind === Kind.TYPE_TAG;
}
