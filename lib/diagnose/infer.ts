/**
 * Infers, from the module alone, the shape of the base it was built against.
 *
 * Strings: pahole dedups module strings, so every string of the module's own table is referenced
 * and the own offsets are exactly start + (each string's position). Lining up the largest name
 * offsets with the last string positions gives the start (the base's str_len) by a vote.
 *
 * Types: the module's own type at local index i had id start + i. pahole emits a function's
 * FUNC_PROTO just before its FUNC, so `proto id - (func index - 1)` votes for the start; each
 * candidate is then scored by how many self-references land on a type of a kind that fits the use
 * (a FUNC on a FUNC_PROTO, a member on a data type, ...). When no FUNC votes, every placement of
 * the highest referenced id on a fitting type is scored instead.
 */
import { BTF_MAX_TYPE, Kind } from '../btf/kinds.js';
import { BtfType } from '../btf/types.js';
import { POINTER_SIZE, RefUse, TypeRef, useAccepts } from './context.js';

export interface TypeStartInference {
  /** The inferred start id (= the build-time base's nr_types), or undefined. */
  start?: number;
  /** Self-references that fit the inferred start, and those that do not. */
  fitting: number;
  misfits: number;
}

export interface StrStartInference {
  /** The inferred start offset (= the build-time base's str_len), or undefined. */
  start?: number;
  /** Own strings whose position matched a name offset, and name offsets that should be own but hit no string start. */
  matched: number;
  strays: number;
  ownStrings: number;
}

/** Bound on fallback candidates scored, so hostile input cannot make inference quadratic. */
const MAX_FALLBACK_CANDIDATES = 4096;
/** Roughly how many reference checks the fallback may spend on one module. */
const WORK_BUDGET = 20_000_000;

/**
 * Stricter than useAccepts: what compilers and pahole actually emit. C folds repeated qualifiers,
 * and restrict only qualifies pointers.
 */
function plausible(use: RefUse, fromKind: number, kind: number): boolean {
  if (!useAccepts(use, kind)) return false;
  if (fromKind === Kind.CONST) return kind !== Kind.CONST;
  if (fromKind === Kind.VOLATILE) return kind !== Kind.VOLATILE;
  if (fromKind === Kind.RESTRICT) return kind === Kind.PTR || kind === Kind.CONST || kind === Kind.VOLATILE || kind === Kind.TYPEDEF;
  return true;
}

/** Kinds that can never close a reference cycle on their own: only a struct/union (or FWD) can. */
function isChainKind(kind: number): boolean {
  return kind === Kind.PTR || kind === Kind.ARRAY || kind === Kind.TYPEDEF || kind === Kind.CONST ||
    kind === Kind.VOLATILE || kind === Kind.RESTRICT || kind === Kind.TYPE_TAG || kind === Kind.FUNC_PROTO;
}

/** The single outgoing reference that chain kinds make (FUNC_PROTO: its return type). */
function chainTarget(t: BtfType): number {
  return t.kind === Kind.ARRAY ? t.array!.type : t.sizeOrType;
}

/**
 * Scores numbering the module's own types from `start`: a self-reference fits when its target's
 * kind suits the use; it misfits when it lands past the module, on an unsuitable kind, in a loop of
 * pointers/modifiers/arrays (impossible in C), or on a member type too big for its struct.
 */
function scoreTypeStart(own: BtfType[], refs: TypeRef[], start: number, floor = -Infinity, pointerSize = POINTER_SIZE): Score {
  let fitting = 0;
  let misfits = 0;
  let slack = 0;
  let forward = 0;
  const n = own.length;
  for (const r of refs) {
    if (r.id < start) continue;
    const j = r.id - start;
    const fromKind = own[r.fromIndex].kind;
    // (pahole adds a FUNC's proto before the FUNC, always.)
    if (j >= n || !plausible(r.use, fromKind, own[j].kind) || (j > r.fromIndex && fromKind === Kind.FUNC)) {
      misfits++;
    } else {
      fitting++;
      if (j > r.fromIndex && fromKind !== Kind.STRUCT && fromKind !== Kind.UNION && fromKind !== Kind.TYPEDEF) forward++;
    }
  }
  // Already behind the best candidate on the first criterion: the finer checks cannot help it.
  if (misfits > 0 || fitting - 4 * misfits < floor) return { fitting, misfits, slack, forward };
  // Loops through chain kinds only: walk each chain once (0 new, 1 on the walk, 2 done).
  const state = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (state[i] !== 0 || !isChainKind(own[i].kind)) continue;
    const walk: number[] = [];
    let cur = i;
    for (;;) {
      state[cur] = 1;
      walk.push(cur);
      const next = chainTarget(own[cur]) - start;
      if (next < 0 || next >= n || !isChainKind(own[next].kind)) break;
      if (state[next] === 1) { misfits++; break; }
      if (state[next] === 2) break;
      cur = next;
    }
    for (const w of walk) state[w] = 2;
  }
  // Member sizes that the module alone determines (own types all the way down).
  const sizes = new Float64Array(n).fill(-1);
  const sizeOf = (j0: number): number => {
    let j = j0;
    let mult = 1;
    for (let steps = 0; steps < n; steps++) {
      if (sizes[j] >= 0) return mult * sizes[j];
      const t = own[j];
      switch (t.kind) {
        case Kind.INT: case Kind.STRUCT: case Kind.UNION: case Kind.ENUM: case Kind.ENUM64: case Kind.FLOAT:
          return mult * t.sizeOrType;
        case Kind.PTR: return mult * pointerSize;
        case Kind.ARRAY: mult *= t.array!.nelems; break;
        case Kind.TYPEDEF: case Kind.CONST: case Kind.VOLATILE: case Kind.RESTRICT: case Kind.TYPE_TAG: break;
        default: return -1;
      }
      const next = chainTarget(t) - start;
      if (next < 0 || next >= n) return -1;
      j = next;
    }
    return -1;
  };
  for (let i = 0; i < n; i++) {
    const t = own[i];
    if ((t.kind !== Kind.STRUCT && t.kind !== Kind.UNION) || !t.members) continue;
    const ms = t.members;
    for (let k = 0; k < ms.length; k++) {
      const m = ms[k];
      const j = m.type - start;
      if (j < 0 || j >= n || m.bitfieldSize > 0 || own[j].kind === Kind.INT || m.bitsOffset % 8 !== 0) continue;
      const size = sizeOf(j);
      if (size < 0) continue;
      const at = m.bitsOffset / 8;
      if (at + size > t.sizeOrType) { misfits++; continue; }
      // Room left before the next member: real layouts leave at most alignment padding, so the
      // numbering with the least unexplained room wins a tie.
      if (t.kind === Kind.STRUCT) {
        const next = k + 1 < ms.length ? Math.floor(ms[k + 1].bitsOffset / 8) : t.sizeOrType;
        if (next - at > size) slack += next - at - size;
      }
    }
  }
  return { fitting, misfits, slack, forward };
}

/**
 * `forward`: references from kinds pahole nearly always writes after their target (qualifiers,
 * arrays, pointers, prototypes, variables) that point forward; on the real Debian modules under 1 in 10.
 */
interface Score { fitting: number; misfits: number; slack: number; forward: number }

/**
 * The `k` values that occur most often in `values` (sorted in place), as [value, count], most
 * frequent first, smaller value first on equal counts.
 */
function topRuns(values: Float64Array, k: number): [number, number][] {
  values.sort();
  const top: [number, number][] = [];
  for (let i = 0; i < values.length;) {
    let e = i + 1;
    while (e < values.length && values[e] === values[i]) e++;
    const count = e - i;
    if (top.length < k || count > top[top.length - 1][1]) {
      // Insert keeping the order; equal counts keep the smaller (earlier) value first.
      let at = top.length;
      while (at > 0 && top[at - 1][1] < count) at--;
      top.splice(at, 0, [values[i], count]);
      if (top.length > k) top.pop();
    }
    i = e;
  }
  return top;
}

export function inferTypeStart(own: BtfType[], refs: TypeRef[], pointerSize = POINTER_SIZE): TypeStartInference {
  const none: TypeStartInference = { fitting: 0, misfits: 0 };
  if (own.length === 0 || refs.length === 0) return none;
  // Adjacency votes: pahole writes a FUNC's FUNC_PROTO just before it, and a modifier or array
  // often right before or after what it refers to, so `r - (i ± 1)` piles up on the start.
  // Counted by sorting the candidate values (a FUNC's vote counts twice): no map per module.
  const cast = new Float64Array(3 * refs.length);
  let nc = 0;
  for (const r of refs) {
    if (r.id === 0) continue;
    const i = r.fromIndex;
    const back = r.id - (i - 1);
    if (back >= 1) {
      cast[nc++] = back;
      if (own[i].kind === Kind.FUNC) cast[nc++] = back;
    }
    if (r.id - (i + 1) >= 1) cast[nc++] = r.id - (i + 1);
  }
  const ranked = topRuns(cast.subarray(0, nc), 64);
  const votes = new Map<number, number>(ranked);
  let best = pick(own, refs, ranked.slice(0, 8).map(([c]) => c), votes, pointerSize);
  if (best.start === undefined || best.misfits > 0) {
    // Fallback: the highest referenced id is an own type (own ids are above all base ids).
    // Ids past the kernel's limit are damage, not numbering; they would only lead astray.
    let top: TypeRef | undefined;
    for (const r of refs) if (r.id <= BTF_MAX_TYPE && (!top || r.id > top.id)) top = r;
    if (!top) return best;
    const candidates: number[] = [];
    // Each candidate costs a pass over refs and types: cap the total work for hostile input.
    const budget = Math.min(MAX_FALLBACK_CANDIDATES, Math.max(16, Math.floor(WORK_BUDGET / (refs.length + own.length))));
    for (let j = 0; j < own.length && candidates.length < budget; j++) {
      if (top.id - j >= 1 && useAccepts(top.use, own[j].kind)) candidates.push(top.id - j);
    }
    const alt = pick(own, refs, candidates, votes, pointerSize);
    const balance = (x: TypeStartInference): number => x.fitting - 4 * x.misfits;
    if (alt.start !== undefined && (best.start === undefined || balance(alt) > balance(best) ||
      (balance(alt) === balance(best) && alt.misfits < best.misfits))) best = alt;
  }
  return best;
}

/**
 * The candidate with the best balance of fitting self-references (at least one) against misfits
 * (a misfit weighs four fits, so one damaged reference does not hide the true start), then the
 * fewest misfits, the most fits, the fewest forward references, the least slack, the most votes. A full tie between two starts means the module alone cannot
 * tell: no start.
 */
function pick(own: BtfType[], refs: TypeRef[], candidates: number[], votes: Map<number, number>, pointerSize: number): TypeStartInference {
  let best: TypeStartInference = { fitting: 0, misfits: 0 };
  let bestVotes = 0;
  let bestSlack = 0;
  let bestForward = 0;
  let tied = false;
  for (const c of candidates) {
    if (c === best.start) continue;
    const s = scoreTypeStart(own, refs, c, best.start === undefined ? -Infinity : best.fitting - 4 * best.misfits, pointerSize);
    if (s.fitting === 0) continue;
    const v = votes.get(c) ?? 0;
    const cmp = best.start === undefined ? 1
      : ((s.fitting - 4 * s.misfits) - (best.fitting - 4 * best.misfits)) || (best.misfits - s.misfits) ||
        (s.fitting - best.fitting) || (bestForward - s.forward) || (bestSlack - s.slack) || (v - bestVotes);
    if (cmp > 0) {
      best = { start: c, fitting: s.fitting, misfits: s.misfits };
      bestVotes = v;
      bestSlack = s.slack;
      bestForward = s.forward;
      tied = false;
    } else if (cmp === 0) {
      tied = true;
    }
  }
  return tied ? { fitting: best.fitting, misfits: best.misfits } : best;
}

export function inferStrStart(ownStrings: Uint8Array, nameOffsets: ArrayLike<number>): StrStartInference {
  // Positions of the module's own strings, as a list (descending) and a lookup table.
  const isStart = new Uint8Array(ownStrings.length);
  const positions: number[] = [];
  for (let at = 0; at < ownStrings.length;) {
    isStart[at] = 1;
    positions.push(at);
    while (at < ownStrings.length && ownStrings[at] !== 0) at++;
    at++;
  }
  positions.reverse();
  const result: StrStartInference = { matched: 0, strays: 0, ownStrings: positions.length };
  const sorted = Uint32Array.from(nameOffsets).sort();
  const offs: number[] = [];
  for (let k = sorted.length - 1; k >= 0; k--) {
    if (sorted[k] !== 0 && (offs.length === 0 || offs[offs.length - 1] !== sorted[k])) offs.push(sorted[k]);
  }
  if (positions.length === 0 || offs.length === 0) return result;
  // Line up the largest offsets with the last positions. A few corrupted offsets above the real
  // ones would shift the alignment, so small shifts vote too; the top of the lists is enough.
  const cast = new Float64Array(4 * Math.min(positions.length, 256));
  let nc = 0;
  for (let shift = 0; shift <= 3; shift++) {
    const n = Math.min(positions.length, offs.length - shift, 256);
    for (let k = 0; k < n; k++) {
      const c = offs[k + shift] - positions[k];
      if (c >= 0) cast[nc++] = c;
    }
  }
  // Score the most voted starts by how well they explain the offsets; a tie cannot be decided.
  const ranked = topRuns(cast.subarray(0, nc), 4);
  let best: StrStartInference = result;
  let tied = false;
  for (const [c] of ranked) {
    let matched = 0;
    let strays = 0;
    for (const o of offs) {
      if (o < c) break; // offs is sorted descending
      const local = o - c;
      if (local < isStart.length && isStart[local] === 1) matched++;
      else strays++;
    }
    if (matched === 0) continue;
    const better = best.start === undefined || strays < best.strays || (strays === best.strays && matched > best.matched);
    if (better) { best = { start: c, matched, strays, ownStrings: positions.length }; tied = false; }
    else if (strays === best.strays && matched === best.matched) tied = true;
  }
  if (tied) return { ...result, matched: best.matched, strays: best.strays };
  return best;
}

