/**
 * 6.12's btf_relocate() (kernel/bpf/btf_relocate.c = tools/lib/bpf/btf_relocate.c under
 * __KERNEL__): after a module's .BTF passed its checks on top of its distilled .BTF.base, map the
 * distilled base types onto the running vmlinux BTF by name (and size/kind), then rewrite the
 * module's type ids and string offsets. What is observable of it: its pr_warn lines (plain
 * printk, no "BPF: " prefix), its error, and two places where the real kernel does not return at
 * all (a NULL dereference and an endless loop in btf_mark_embedded_composite_type_ids), which we
 * report as a fault.
 */
import { Kind } from '../btf/kinds.js';
import { EINVAL } from '../../rules/kernel/kinds.js';
import { fmtD, fmtU } from './log.js';
import type { KernelLog } from './log.js';
import { kernelSort } from './sort.js';
import { BaseView, BtfVerifier, cStringAt, TYPE_SIZE } from './verifier.js';

export const ENOENT = 2;
/** Temporarily marks, in id_map, a distilled struct/union embedded by value in a split one. */
const BTF_IS_EMBEDDED = 0xffffffff;

/** <name, size, id> of a distilled base type, sorted to search by name. */
interface NameInfo {
  name: string;
  needsSize: boolean;
  /** A 31-bit bitfield in the kernel's struct. */
  size: number;
  id: number;
}

export type RelocateResult = { err: number } | { fault: string };

/** cmp_btf_name_size: strcmp of names, then (both sized) larger size first. */
function cmpNameSize(a: NameInfo, b: NameInfo): number {
  // JS compares these byte strings by char code = unsigned byte, like strcmp
  const nameDiff = a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  if (!nameDiff && a.needsSize && b.needsSize) return b.size - a.size;
  return nameDiff;
}

/** search_btf_name_size: the leftmost element equal to key, or -1. */
function searchNameSize(key: NameInfo, vals: NameInfo[]): number {
  let ret = -1;
  let high = vals.length - 1;
  let low = 0;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const diff = cmpNameSize(key, vals[mid]);
    if (diff === 0) ret = mid;
    if (diff <= 0) high = mid - 1;
    else low = mid + 1;
  }
  return ret;
}

/** A whole NUL-terminated string (names are compared in full, not capped). */
function fullString(bytes: Uint8Array, pos: number): string {
  let end = pos;
  while (end < bytes.length && bytes[end] !== 0) end++;
  let s = '';
  for (let i = pos; i < end; i += 4096) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  }
  return s;
}

const isComposite = (kind: number): boolean => kind === Kind.STRUCT || kind === Kind.UNION;
// Types reaching btf_relocate passed btf_check_meta: their kind fits in 5 bits on every kernel.
const kindOfInfo = (info: number): number => (info >>> 24) & 0x1f;
const kflagOfInfo = (info: number): boolean => (info >>> 31) === 1;

/**
 * btf_relocate(module, vmlinux). `mod` is the module's verified split BTF on top of `dist`, the
 * verified distilled base.
 */
export function relocate(mod: BtfVerifier, dist: BaseView, vmlinux: BaseView, out: KernelLog): RelocateResult {
  const warn = (text: string): void => out.printk(text);
  const rules = mod.rules;
  // btf_vlen(): 16 bits, 24 bits from 7.2.
  const vlenMask = rules.infoLayout === 'kind7' ? 0xffffff : 0xffff;
  // Type ids are printed with %d (6.12, 7.2) or %u (7.3); they differ only past 2^31.
  const fmtId = rules.relocateUnsignedIds ? fmtU : fmtD;
  const nrTypes = mod.totalTypes;
  const nrDist = dist.nrTypes;
  const nrBase = vmlinux.nrTypes;
  const nrSplit = nrTypes - nrDist;
  const distStrLen = dist.strLen;

  // btf_relocate_validate_distilled_base: only named int/float/enum/fwd/struct/union
  for (let i = 1; i < nrDist; i++) {
    const kind = kindOfInfo(dist.info(i));
    switch (kind) {
      case Kind.INT: case Kind.FLOAT: case Kind.ENUM: case Kind.STRUCT: case Kind.UNION: case Kind.FWD:
        if (dist.nameOff(i)) break;
        warn(`type [${fmtId(i)}], kind [${kind}] is invalid for distilled base BTF; it is anonymous\n`);
        return { err: -EINVAL };
      default:
        warn(`type [${fmtId(i)}] in distilled based BTF has unexpected kind [${kind}]\n`);
        return { err: -EINVAL };
    }
  }

  const idMap = new Uint32Array(nrTypes);
  for (let id = nrDist; id < nrTypes; id++) idMap[id] = (id + nrBase - nrDist) >>> 0;
  const strMap = new Uint32Array(distStrLen);

  // ---- btf_relocate_map_distilled_base ----
  const distName = (id: number): string => (id === 0 ? fullString(dist.strings, 0) : fullString(dist.strings, dist.nameOff(id)));
  const info: NameInfo[] = [];
  for (let id = 0; id < nrDist; id++) {
    // id 0 is btf_void: no name ("" at offset 0), size 0
    info.push({ name: distName(id), id, size: id === 0 ? 0 : dist.sizeType(id) & 0x7fffffff, needsSize: true });
  }
  kernelSort(info, cmpNameSize);

  // Mark distilled structs/unions embedded (by value, through modifiers/arrays) in split ones.
  for (let id = nrDist; id < nrDist + nrSplit; id++) {
    const off = mod.offsetOf(id);
    const tInfo = mod.u32(off + 4);
    if (!isComposite(kindOfInfo(tInfo))) continue;
    const vlen = tInfo & vlenMask;
    for (let m = 0; m < vlen; m++) {
      let nextId = mod.u32(off + TYPE_SIZE + m * 12 + 4);
      // A chain longer than the number of types goes round a cycle: the kernel loops forever.
      for (let steps = 0; nextId; steps++) {
        if (nextId >= nrTypes) {
          return { fault: `btf_relocate: [${id}] member #${m} leads to type [${nextId}], past the last type: the kernel dereferences NULL (oops)` };
        }
        if (steps > nrTypes) {
          return { fault: `btf_relocate: [${id}] member #${m} leads into a cycle through arrays: the kernel loops forever` };
        }
        const kind = mod.kindOf(nextId);
        switch (kind) {
          case Kind.CONST: case Kind.RESTRICT: case Kind.VOLATILE: case Kind.TYPEDEF: case Kind.TYPE_TAG:
            nextId = nextId < nrDist ? dist.sizeType(nextId) : mod.u32(mod.offsetOf(nextId) + 8);
            break;
          case Kind.ARRAY:
            // distilled bases have no arrays (validated above), so this is a split type
            nextId = mod.u32(mod.offsetOf(nextId) + TYPE_SIZE);
            break;
          case Kind.STRUCT: case Kind.UNION:
            if (nextId < nrDist) idMap[nextId] = BTF_IS_EMBEDDED;
            nextId = 0;
            break;
          default:
            nextId = 0;
        }
      }
    }
  }

  // Composite names that occur more than once in vmlinux must also match by size.
  const baseNameCnt = new Uint8Array(vmlinux.strLen);
  for (let id = 1; id < nrBase; id++) {
    const nameOff = vmlinux.nameOff(id);
    if (!isComposite(kindOfInfo(vmlinux.info(id))) || !nameOff) continue;
    if (baseNameCnt[nameOff] < 255) baseNameCnt[nameOff]++;
  }

  for (let id = 1; id < nrBase; id++) {
    const baseNameOff = vmlinux.nameOff(id);
    // distilled base consists of named types only
    if (!baseNameOff) continue;
    const baseInfoWord = vmlinux.info(id);
    const baseKind = kindOfInfo(baseInfoWord);
    const baseSize = vmlinux.sizeType(id);
    const key: NameInfo = { name: '', needsSize: false, size: 0, id };
    switch (baseKind) {
      case Kind.INT: case Kind.FLOAT: case Kind.ENUM: case Kind.ENUM64:
        key.needsSize = true;
        key.size = baseSize & 0x7fffffff;
        break;
      case Kind.FWD:
        break;
      case Kind.STRUCT: case Kind.UNION:
        key.needsSize = baseNameCnt[baseNameOff] > 1;
        key.size = baseSize & 0x7fffffff;
        break;
      default:
        continue;
    }
    key.name = fullString(vmlinux.strings, baseNameOff);
    for (let k = searchNameSize(key, info); k >= 0 && k < info.length && cmpNameSize(key, info[k]) === 0; k++) {
      const distId = info[k].id;
      if (!distId || distId >= nrDist) {
        warn(`base BTF id [${fmtId(id)}] maps to invalid distilled base BTF id [${fmtId(distId)}]\n`);
        return { err: -EINVAL };
      }
      const distInfoWord = dist.info(distId);
      const distKind = kindOfInfo(distInfoWord);
      // Not compatible: another identically-named type may still match.
      let compatible: boolean;
      switch (distKind) {
        case Kind.FWD:
          if (baseKind === Kind.FWD) compatible = kflagOfInfo(distInfoWord) === kflagOfInfo(baseInfoWord);
          else if (baseKind === Kind.STRUCT) compatible = !kflagOfInfo(baseInfoWord);
          else if (baseKind === Kind.UNION) compatible = kflagOfInfo(baseInfoWord);
          else compatible = false;
          break;
        case Kind.INT:
          compatible = distKind === baseKind && ((vmlinux.intData(id) >>> 24) & 0x0f) === ((dist.intData(distId) >>> 24) & 0x0f);
          break;
        case Kind.FLOAT:
          compatible = distKind === baseKind;
          break;
        case Kind.ENUM:
          // ENUM and ENUM64 are both encoded as sized ENUM in distilled base BTF
          compatible = baseKind === distKind || baseKind === Kind.ENUM64;
          break;
        case Kind.STRUCT: case Kind.UNION:
          // embedded structs/unions must match in size too
          compatible = !(idMap[distId] === BTF_IS_EMBEDDED && baseSize !== dist.sizeType(distId));
          break;
        default:
          compatible = false;
      }
      if (!compatible) continue;
      if (idMap[distId] && idMap[distId] !== BTF_IS_EMBEDDED) {
        warn(`distilled base BTF type '${cStringAt(vmlinux.strings, baseNameOff)}' [${distId}], size ${baseSize >>> 0} has multiple candidates of the same size (ids [${id}, ${idMap[distId]}]) in base BTF\n`);
        return { err: -EINVAL };
      }
      idMap[distId] = id;
      strMap[dist.nameOff(distId)] = baseNameOff;
    }
  }
  // every distilled type must now be mapped
  for (let id = 1; id < nrDist; id++) {
    if (idMap[id] && idMap[id] !== BTF_IS_EMBEDDED) continue;
    warn(`distilled base BTF type '${cStringAt(dist.strings, dist.nameOff(id))}' [${fmtId(id)}] is not mapped to base BTF id\n`);
    return { err: -EINVAL };
  }

  // btf_relocate_rewrite_type_id cannot fail for verified types (an id past the end makes the
  // kernel read past id_map, which changes nothing we can observe).

  // btf_relocate_rewrite_strs: names in the distilled range must be names of mapped types.
  for (let id = nrDist; id < nrTypes; id++) {
    const off = mod.offsetOf(id);
    const tInfo = mod.u32(off + 4);
    const kind = kindOfInfo(tInfo);
    const vlen = tInfo & vlenMask;
    let memberSize = 0;
    if (kind === Kind.ENUM || kind === Kind.FUNC_PROTO) memberSize = 8;
    else if (kind === Kind.ENUM64 || isComposite(kind)) memberSize = 12;
    for (let f = -1; f < (memberSize ? vlen : 0); f++) {
      const strOff = mod.u32(f < 0 ? off : off + TYPE_SIZE + f * memberSize);
      if (!strOff || strOff >= distStrLen) continue;
      if (!strMap[strOff]) {
        // The kernel prints the string at the unmapped *result* (offset 0: ""); 6.12 without "\n".
        warn(`string '' [offset ${strOff}] is not mapped to base BTF${rules.relocateStringNewline ? '\n' : ''}`);
        return { err: -ENOENT };
      }
    }
  }
  return { err: 0 };
}
