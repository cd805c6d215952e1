/**
 * The reference pass: every type id the module refers to must exist and be of a kind that makes
 * sense where it is used (the kernel's resolve pass for user BTF and libbpf's sanity checks; the
 * kernel skips it for module BTF, which is how a module from another build slips through).
 * Against the wrong base, ids below the module's first own id land on unrelated base types.
 */
import { Kind, kindName } from '../../lib/btf/kinds.js';
import { FindingContext, RefUse, useAccepts, useAcceptsVoid, useName } from '../../lib/diagnose/context.js';
import { FindingRule } from './rule.js';

/** Where in the referring type the reference sits, for messages. */
function refWhere(ctx: FindingContext, fromIndex: number, use: RefUse, slot: number): string {
  const kind = ctx.kinds[fromIndex];
  if (use === RefUse.Member && (kind === Kind.STRUCT || kind === Kind.UNION)) {
    // Cut short like type labels: a hostile module's 1 MB name would make a 1 MB finding.
    const name = ctx.split.str(ctx.memberNameOff(fromIndex, slot)) || '(anon)';
    return `member ${slot} '${name.length > 60 ? `${name.slice(0, 56)}...` : name}'`;
  }
  if (use === RefUse.Param && kind === Kind.FUNC_PROTO) return `parameter ${slot}`;
  if (use === RefUse.DatasecEntry) return `entry ${slot}`;
  return useName(use);
}

/** Reports references of the given uses whose target exists but has the wrong kind (or is void). */
function kindRule(id: string, uses: RefUse[], description: string): FindingRule {
  return {
    id, severity: 'error', provesMismatch: true, description,
    check(ctx, report) {
      const { byUse, useStart, refId, refFrom, refSlot } = ctx;
      for (const use of uses) {
        for (let u = useStart[use]; u < useStart[use + 1]; u++) {
          const r = byUse[u];
          const target = refId[r];
          const kind = ctx.kindOf(target);
          if (kind === undefined) continue; // dangling: type-id-out-of-range reports it
          const from = refFrom[r];
          const slot = refSlot[r];
          const typeId = ctx.startId + from;
          if (target === 0) {
            if (useAcceptsVoid(use)) continue;
            // A nameless void last parameter is how BTF spells `...`.
            if (use === RefUse.Param && slot === ctx.ownVlen(from) - 1 && ctx.paramNameOff(from, slot) === 0) continue;
            report(typeId, () => `${ctx.describe(typeId)}: ${refWhere(ctx, from, use, slot)} is void`);
            continue;
          }
          if (!useAccepts(use, kind)) {
            report(typeId, () => `${ctx.describe(typeId)}: ${refWhere(ctx, from, use, slot)} is ${ctx.describe(target)}, a ${kindName(kind)} cannot be used there`);
          }
        }
      }
    },
  };
}

export const typeIdOutOfRange: FindingRule = {
  id: 'type-id-out-of-range',
  severity: 'error',
  provesMismatch: true,
  description: 'A referenced type id is past the last type of base plus module: the module expects more types than this base and the module provide together.',
  check(ctx, report) {
    const { refId, refFrom, refUse, refSlot } = ctx;
    for (let r = 0; r < ctx.refCount; r++) {
      const target = refId[r];
      if (target !== 0 && !ctx.has(target)) {
        const from = refFrom[r];
        const typeId = ctx.startId + from;
        report(typeId, () => `${ctx.describe(typeId)}: ${refWhere(ctx, from, refUse[r], refSlot[r])} refers to type [${target}], past the last type [${ctx.nrTypes - 1}]`);
      }
    }
  },
};

export const memberType = kindRule('member-type', [RefUse.Member],
  'A struct or union member must have a data type (int, pointer, array, struct, union, enum, float, or a typedef/qualifier of one).');

export const arrayType = kindRule('array-type', [RefUse.ArrayElem, RefUse.ArrayIndex],
  'An array element must be a data type and its index type an integer.');

export const pointerTarget = kindRule('pointer-target', [RefUse.Pointer],
  'A pointer must point to void, a data type, a forward declaration or a function prototype, never to a FUNC, VAR, DATASEC or DECL_TAG.');

export const modifierTarget = kindRule('modifier-target', [RefUse.Modifier],
  'A typedef, const, volatile, restrict or type tag must name void, a data type, a forward declaration or a function prototype.');

export const funcType = kindRule('func-type', [RefUse.Func],
  'A FUNC must refer to a FUNC_PROTO.');

export const funcProtoType = kindRule('func-proto-type', [RefUse.Return, RefUse.Param],
  'A function prototype\'s return and parameter types must be data types (void only as return type, or as the last, nameless parameter for varargs).');

export const varType = kindRule('var-type', [RefUse.Var],
  'A VAR must have a data type.');

export const datasecEntry = kindRule('datasec-entry', [RefUse.DatasecEntry],
  'Each DATASEC entry must refer to a VAR.');

export const declTagTarget: FindingRule = {
  id: 'decl-tag-target',
  severity: 'error',
  provesMismatch: true,
  description: 'A DECL_TAG must tag a struct, union, typedef, VAR or FUNC, and its component index must name an existing member or parameter (-1 for the whole type).',
  check(ctx, report) {
    const { byUse, useStart, refId, refFrom } = ctx;
    for (let u = useStart[RefUse.DeclTag]; u < useStart[RefUse.DeclTag + 1]; u++) {
      const r = byUse[u];
      const target = refId[r];
      const from = refFrom[r];
      const typeId = ctx.startId + from;
      const kind = ctx.kindOf(target);
      if (kind === undefined) continue;
      if (target === 0 || !useAccepts(RefUse.DeclTag, kind)) {
        report(typeId, () => `${ctx.describe(typeId)}: tags ${ctx.describe(target)}, which cannot carry a decl tag`);
        continue;
      }
      const component = ctx.declTagComponent(from);
      if (component === -1) continue;
      let limit = -1;
      if (kind === Kind.STRUCT || kind === Kind.UNION) limit = ctx.vlenOf(target);
      else if (kind === Kind.FUNC) {
        const proto = ctx.sizeOrTypeOf(target);
        limit = ctx.kindOf(proto) === Kind.FUNC_PROTO ? ctx.vlenOf(proto) : -1;
      }
      if (component < -1 || component >= limit) {
        report(typeId, () => `${ctx.describe(typeId)}: component index ${component} on ${ctx.describe(target)}, which has ${Math.max(limit, 0)} members or parameters`);
      }
    }
  },
};
