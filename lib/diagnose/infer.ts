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
import { FindingContext, LAST_STARTS, OwnStrings, REF_USES, RefUse, useAccepts } from './context.js';
import { ByteScratch, FloatScratch, WordScratch } from './scratch.js';

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

/** useAccepts(use, kind) as a table at use * 32 + kind (a kind is 5 bits): scoring asks it millions of times. */
const ACCEPTS = new Uint8Array(REF_USES * 32);
for (let use = 0; use < REF_USES; use++) for (let kind = 0; kind < 32; kind++) ACCEPTS[use * 32 + kind] = useAccepts(use, kind) ? 1 : 0;

/**
 * Stricter than useAccepts: what compilers and pahole actually emit. C folds repeated qualifiers,
 * and restrict only qualifies pointers.
 */
function plausible(use: RefUse, fromKind: number, kind: number): boolean {
  if (ACCEPTS[use * 32 + kind] === 0) return false;
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

/** The single outgoing reference that chain kinds make (FUNC_PROTO: its return type), of own type i. */
function chainTarget(m: FindingContext, i: number): number {
  return m.kinds[i] === Kind.ARRAY ? m.arrayElemType(i) : m.ownSizeOrType(i);
}

/** What scoreTypeStart says of a start that cannot beat the best one so far. */
const HOPELESS: Score = { fitting: 0, misfits: 0, slack: 0, forward: 0 };

/**
 * Buffers one inference reuses for every candidate it scores, and the references that can land on
 * an own type for any of the candidates (their ids are at least the lowest candidate).
 */
interface Scratch { state: Uint8Array; walk: Uint32Array; refs: Uint32Array; nRefs: number }

/**
 * Scores numbering the module's own types from `start`: a self-reference fits when its target's
 * kind suits the use; it misfits when it lands past the module, on an unsuitable kind, in a loop of
 * pointers/modifiers/arrays (impossible in C), or on a member type too big for its struct.
 */
function scoreTypeStart(m: FindingContext, start: number, floor: number, scratch: Scratch): Score {
  let fitting = 0;
  let misfits = 0;
  let slack = 0;
  let forward = 0;
  const n = m.count;
  const kinds = m.kinds;
  const refId = m.refId;
  const refFrom = m.refFrom;
  const refUse = m.refUse;
  // Only references at or above the lowest start being scored can land on an own type.
  const listed = scratch.refs;
  const nListed = scratch.nRefs;
  for (let x = 0; x < nListed; x++) {
    const r = listed[x];
    const id = refId[r];
    if (id < start) continue;
    const j = id - start;
    const from = refFrom[r];
    const fromKind = kinds[from];
    // (pahole adds a FUNC's proto before the FUNC, always.)
    if (j >= n || !plausible(refUse[r], fromKind, kinds[j]) || (j > from && fromKind === Kind.FUNC)) {
      misfits++;
      // Even if every reference left fit, this start would lose to the best one: no need to
      // finish (pick skips a start with no fits, as it would skip this one).
      if (fitting + (nListed - x - 1) - 4 * misfits < floor) return HOPELESS;
    } else {
      fitting++;
      if (j > from && fromKind !== Kind.STRUCT && fromKind !== Kind.UNION && fromKind !== Kind.TYPEDEF) forward++;
    }
  }
  // Already behind the best candidate on the first criterion: the finer checks cannot help it.
  if (misfits > 0 || fitting - 4 * misfits < floor) return { fitting, misfits, slack, forward };
  // Loops through chain kinds only: walk each chain once (0 new, 1 on the walk, 2 done).
  const state = scratch.state.fill(0);
  const walk = scratch.walk;
  for (let i = 0; i < n; i++) {
    if (state[i] !== 0 || !isChainKind(kinds[i])) continue;
    let walked = 0;
    let cur = i;
    for (;;) {
      state[cur] = 1;
      walk[walked++] = cur;
      const next = chainTarget(m, cur) - start;
      if (next < 0 || next >= n || !isChainKind(kinds[next])) break;
      if (state[next] === 1) { misfits++; break; }
      if (state[next] === 2) break;
      cur = next;
    }
    for (let w = 0; w < walked; w++) state[walk[w]] = 2;
  }
  // Member sizes that the module alone determines (own types all the way down).
  const sizes = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const kind = kinds[i];
    if (kind !== Kind.STRUCT && kind !== Kind.UNION) continue;
    const vlen = m.ownVlen(i);
    const structSize = m.ownSizeOrType(i);
    for (let k = 0; k < vlen; k++) {
      const j = m.memberType(i, k) - start;
      const bitsOffset = m.memberBitsOffset(i, k);
      if (j < 0 || j >= n || m.memberBitfieldSize(i, k) > 0 || kinds[j] === Kind.INT || bitsOffset % 8 !== 0) continue;
      const size = ownSize(m, j, start, n, sizes);
      if (size < 0) continue;
      const at = bitsOffset / 8;
      if (at + size > structSize) { misfits++; continue; }
      // Room left before the next member: real layouts leave at most alignment padding, so the
      // numbering with the least unexplained room wins a tie.
      if (kind === Kind.STRUCT) {
        const next = k + 1 < vlen ? Math.floor(m.memberBitsOffset(i, k + 1) / 8) : structSize;
        if (next - at > size) slack += next - at - size;
      }
    }
  }
  return { fitting, misfits, slack, forward };
}

/**
 * The size of own type j when numbering from `start`, if own types alone determine it; else -1.
 * Every type walked through is remembered in `memo` (per start), so many members pointing into
 * one long or cyclic chain cost the chain once (hostile modules: 32k members x a 100k cyclic
 * chain, for each start scored, was minutes).
 */
function ownSize(m: FindingContext, j0: number, start: number, n: number, memo: Map<number, number>): number {
  const path: number[] = [];
  let j = j0;
  let size = -1;
  for (let steps = 0; steps < n; steps++) {
    const known = memo.get(j);
    if (known !== undefined) { size = known; break; }
    let end = true;
    switch (m.kinds[j]) {
      case Kind.INT: case Kind.STRUCT: case Kind.UNION: case Kind.ENUM: case Kind.ENUM64: case Kind.FLOAT:
        size = m.ownSizeOrType(j); break;
      case Kind.PTR: size = m.pointerSize; break;
      case Kind.ARRAY: case Kind.TYPEDEF: case Kind.CONST: case Kind.VOLATILE: case Kind.RESTRICT: case Kind.TYPE_TAG:
        end = false; break;
      default: size = -1;
    }
    if (end) { memo.set(j, size); break; }
    path.push(j);
    const next = chainTarget(m, j) - start;
    if (next < 0 || next >= n) break;
    j = next;
  }
  // Back along the walk: each array multiplies the size below it.
  for (let k = path.length - 1; k >= 0; k--) {
    const p = path[k];
    if (size >= 0 && m.kinds[p] === Kind.ARRAY) size *= m.arrayNelems(p);
    memo.set(p, size);
  }
  return size;
}

/**
 * `forward`: references from kinds pahole nearly always writes after their target (qualifiers,
 * arrays, pointers, prototypes, variables) that point forward; on the real Debian modules under 1 in 10.
 */
interface Score { fitting: number; misfits: number; slack: number; forward: number }

/**
 * Vote counting: an open-addressing table (value, count) reused across calls, so a module costs a
 * pass over its votes rather than a sort of them. A slot is in use when its stamp is the call's.
 * Above MAX_HASHED_VOTES (real modules cast under 50k) votes are sorted instead, so that the table
 * kept between calls stays small (2 MB).
 */
const MAX_HASHED_VOTES = 1 << 16;
let voteValues = new Float64Array(0);
let voteCounts = new Uint32Array(0);
let voteStamps = new Uint32Array(0);
let voteSlots = new Uint32Array(0);
let voteStamp = 0;
/** topRuns' selection heap (k is at most 64). */
const heapValues = new Float64Array(64);
const heapCounts = new Uint32Array(64);

/**
 * The `k` values (non-negative integers below 2^53) that occur most often in `values`, as
 * [value, count], most frequent first, smaller value first on equal counts.
 */
function topRuns(values: Float64Array, k: number): [number, number][] {
  const m = values.length;
  if (m > MAX_HASHED_VOTES || k > heapValues.length) return topRunsBySorting(values, k);
  let bits = 4;
  while (1 << bits < 2 * m) bits++;
  const size = 1 << bits;
  if (voteValues.length < size) {
    voteValues = new Float64Array(size);
    voteCounts = new Uint32Array(size);
    voteStamps = new Uint32Array(size);
    voteStamp = 0;
  }
  if (voteSlots.length < m) voteSlots = new Uint32Array(Math.max(m, 2 * voteSlots.length));
  if (++voteStamp === 0xffffffff) {
    voteStamps.fill(0);
    voteStamp = 1;
  }
  const stamp = voteStamp;
  const mask = size - 1;
  const slotValues = voteValues;
  const slotCounts = voteCounts;
  const slotStamps = voteStamps;
  const slots = voteSlots;
  let distinct = 0;
  for (let i = 0; i < m; i++) {
    const v = values[i];
    // Fibonacci hashing of the low 32 bits (votes are type ids and string offsets).
    let h = Math.imul(v | 0, 0x9e3779b1) >>> (32 - bits);
    while (slotStamps[h] === stamp && slotValues[h] !== v) h = (h + 1) & mask;
    if (slotStamps[h] !== stamp) {
      slotStamps[h] = stamp;
      slotValues[h] = v;
      slotCounts[h] = 1;
      slots[distinct++] = h;
    } else {
      slotCounts[h]++;
    }
  }
  // The k best as a heap whose root is the worst kept (fewest votes, then largest value): most
  // values are compared with the root only.
  let kept = 0;
  for (let d = 0; d < distinct; d++) {
    const h = slots[d];
    const v = slotValues[h];
    const count = slotCounts[h];
    let at: number;
    if (kept < k) {
      // Sift up from the new leaf.
      at = kept++;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!worse(count, v, heapCounts[parent], heapValues[parent])) break;
        heapCounts[at] = heapCounts[parent];
        heapValues[at] = heapValues[parent];
        at = parent;
      }
    } else {
      if (!worse(heapCounts[0], heapValues[0], count, v)) continue;
      // Replace the root and sift down.
      at = siftDown(heapCounts, heapValues, kept, count, v);
    }
    heapCounts[at] = count;
    heapValues[at] = v;
  }
  // Pop the worst until empty, filling the list from its end.
  const top = new Array<[number, number]>(kept);
  while (kept > 0) {
    top[kept - 1] = [heapValues[0], heapCounts[0]];
    const count = heapCounts[--kept];
    const v = heapValues[kept];
    const at = siftDown(heapCounts, heapValues, kept, count, v);
    heapCounts[at] = count;
    heapValues[at] = v;
  }
  return top;
}

/** Fewer votes, or as many for a larger value: ranked lower. */
function worse(countA: number, valueA: number, countB: number, valueB: number): boolean {
  return countA < countB || (countA === countB && valueA > valueB);
}

/**
 * Moves the hole at the root of a `kept`-entry heap (root = worst kept) down to where an entry
 * (count, v) belongs, shifting better-placed children up; returns the hole's final index.
 */
function siftDown(heapCounts: Uint32Array, heapValues: Float64Array, kept: number, count: number, v: number): number {
  let at = 0;
  for (;;) {
    let child = 2 * at + 1;
    if (child >= kept) break;
    if (child + 1 < kept && worse(heapCounts[child + 1], heapValues[child + 1], heapCounts[child], heapValues[child])) child++;
    if (!worse(heapCounts[child], heapValues[child], count, v)) break;
    heapCounts[at] = heapCounts[child];
    heapValues[at] = heapValues[child];
    at = child;
  }
  return at;
}

/** topRuns for many votes: sorts `values` in place and counts runs. */
function topRunsBySorting(values: Float64Array, k: number): [number, number][] {
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

/** Buffers of one inference at a time (see scratch.ts). */
const typeVotes = new FloatScratch();
const chainStates = new ByteScratch();
const chainWalk = new WordScratch();
const reachingRefs = new WordScratch();
const nameOffsetsSorted = new WordScratch();
const nameOffsetsDistinct = new WordScratch();
const strVotes = new FloatScratch();

/** Infers the start id of the module's own types from its references among them (see the top). */
export function inferTypeStart(m: FindingContext): TypeStartInference {
  const none: TypeStartInference = { fitting: 0, misfits: 0 };
  const n = m.count;
  const nRefs = m.refCount;
  if (n === 0 || nRefs === 0) return none;
  const kinds = m.kinds;
  const refId = m.refId;
  const refFrom = m.refFrom;
  // Adjacency votes: pahole writes a FUNC's FUNC_PROTO just before it, and a modifier or array
  // often right before or after what it refers to, so `r - (i ± 1)` piles up on the start.
  // (A FUNC's vote counts twice.)
  const cast = typeVotes.take(3 * nRefs);
  let nc = 0;
  for (let r = 0; r < nRefs; r++) {
    const id = refId[r];
    if (id === 0) continue;
    const i = refFrom[r];
    const back = id - (i - 1);
    if (back >= 1) {
      cast[nc++] = back;
      if (kinds[i] === Kind.FUNC) cast[nc++] = back;
    }
    if (id - (i + 1) >= 1) cast[nc++] = id - (i + 1);
  }
  const votes = cast.subarray(0, nc);
  // The 8 most voted starts are scored; the fallback below also breaks ties by the top 64's votes.
  const ranked = topRuns(votes, 8);
  const scratch: Scratch = { state: chainStates.take(n), walk: chainWalk.take(n), refs: reachingRefs.take(nRefs), nRefs: 0 };
  // The actual base's numbering always competes: a start it ties with is no proof of another base
  // (sorted BTF, 7.0+, puts few own types next to what they refer to, so votes are thin there).
  const starts = ranked.map(([c]) => c);
  if (!starts.includes(m.base.nrTypes)) starts.push(m.base.nrTypes);
  let best = pick(m, starts, new Map<number, number>(ranked), scratch);
  if (best.start === undefined || best.misfits > 0) {
    // Fallback: the highest referenced id is an own type (own ids are above all base ids).
    // Ids past the kernel's limit are damage, not numbering; they would only lead astray.
    let top = -1;
    for (let r = 0; r < nRefs; r++) if (refId[r] <= BTF_MAX_TYPE && (top < 0 || refId[r] > refId[top])) top = r;
    if (top < 0) return best;
    const topId = refId[top];
    const topUse = m.refUse[top];
    const candidates: number[] = [];
    // Each candidate costs a pass over refs and types: cap the total work for hostile input.
    const budget = Math.min(MAX_FALLBACK_CANDIDATES, Math.max(16, Math.floor(WORK_BUDGET / (nRefs + n))));
    for (let j = 0; j < n && candidates.length < budget; j++) {
      if (topId - j >= 1 && useAccepts(topUse, kinds[j])) candidates.push(topId - j);
    }
    const alt = pick(m, candidates, new Map<number, number>(topRuns(votes, 64)), scratch);
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
function pick(m: FindingContext, candidates: number[], votes: Map<number, number>, scratch: Scratch): TypeStartInference {
  let best: TypeStartInference = { fitting: 0, misfits: 0 };
  let bestVotes = 0;
  let bestSlack = 0;
  let bestForward = 0;
  let tied = false;
  let lowest = Infinity;
  for (const c of candidates) lowest = Math.min(lowest, c);
  scratch.nRefs = 0;
  for (let r = 0; r < m.refCount; r++) if (m.refId[r] >= lowest) scratch.refs[scratch.nRefs++] = r;
  for (const c of candidates) {
    if (c === best.start) continue;
    const s = scoreTypeStart(m, c, best.start === undefined ? -Infinity : best.fitting - 4 * best.misfits, scratch);
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

/** The distinct name offsets of at least `from` (> 0), descending, in a scratch buffer. */
function distinctDescending(nameOffsets: Uint32Array, from: number): Uint32Array {
  const picked = nameOffsetsSorted.take(nameOffsets.length);
  let n = 0;
  for (let k = 0; k < nameOffsets.length; k++) if (nameOffsets[k] >= from) picked[n++] = nameOffsets[k];
  const sorted = picked.subarray(0, n).sort();
  const offs = nameOffsetsDistinct.take(n);
  let nOffs = 0;
  for (let k = n - 1; k >= 0; k--) if (nOffs === 0 || offs[nOffs - 1] !== sorted[k]) offs[nOffs++] = sorted[k];
  return offs.subarray(0, nOffs);
}

/** Infers where the module's own string offsets start from its name offsets (see the top). */
export function inferStrStart(strings: OwnStrings, nameOffsets: Uint32Array): StrStartInference {
  const marks = strings.marks;
  const result: StrStartInference = { matched: 0, strays: 0, ownStrings: strings.count };
  if (strings.count === 0) return result;
  // Distinct non-zero name offsets, descending: at first only those near the top, where the own
  // strings are (sorting the fewer is the cost that matters); all of them when the top ones do
  // not suffice to line up and score.
  const need = Math.min(strings.count, LAST_STARTS) + 3;
  let max = 0;
  for (let k = 0; k < nameOffsets.length; k++) if (nameOffsets[k] > max) max = nameOffsets[k];
  let from = Math.max(1, max - 2 * marks.length - 1);
  let offs = distinctDescending(nameOffsets, from);
  if (offs.length < need && from > 1) offs = distinctDescending(nameOffsets, from = 1);
  if (offs.length === 0) return result;
  // The last string positions, descending: only the top of the lists is lined up.
  const positions = strings.lastStarts;
  // Line up the largest offsets with the last positions. A few corrupted offsets above the real
  // ones would shift the alignment, so small shifts vote too.
  const cast = strVotes.take(4 * positions.length);
  let nc = 0;
  for (let shift = 0; shift <= 3; shift++) {
    const n = Math.min(positions.length, offs.length - shift);
    for (let k = 0; k < n; k++) {
      const c = offs[k + shift] - positions[k];
      if (c >= 0) cast[nc++] = c;
    }
  }
  // Score the most voted starts by how well they explain the offsets; a tie cannot be decided.
  const ranked = topRuns(cast.subarray(0, nc), 4);
  // Scoring a start reads every offset at or above it.
  if (from > 1 && ranked.some(([c]) => c < from)) offs = distinctDescending(nameOffsets, from = 1);
  const nOffs = offs.length;
  let best: StrStartInference = result;
  let tied = false;
  for (const [c] of ranked) {
    let matched = 0;
    let strays = 0;
    for (let k = 0; k < nOffs; k++) {
      const o = offs[k];
      if (o < c) break; // offs is sorted descending
      const local = o - c;
      if (local < marks.length && marks[local] !== 0) matched++;
      else strays++;
    }
    if (matched === 0) continue;
    const better = best.start === undefined || strays < best.strays || (strays === best.strays && matched > best.matched);
    if (better) { best = { start: c, matched, strays, ownStrings: strings.count }; tied = false; }
    else if (strays === best.strays && matched === best.matched) tied = true;
  }
  if (tied) return { ...result, matched: best.matched, strays: best.strays };
  return best;
}
