/**
 * Deep structural identity across two bases: type X of one base and type Y of the other are
 * "the same" when they have the same shape and refer, position by position, to types that are the
 * same again — with ids renumbered consistently and cycles (struct → pointer → struct) allowed.
 *
 * That is the coarsest bisimulation of the two type graphs, computed by partition refinement on
 * their disjoint union: every type starts in the class of its own shape; each round a type's class
 * becomes (its class, the classes of what it refers to); when a round splits no class the partition
 * is final. Iterative and linear per round, so deep or cyclic graphs cannot overflow a stack.
 */
import { Hash2, key } from './hash.js';
import { TypeGraph } from './graph.js';

export interface JointIdentity {
  /** Number of refinement rounds until the partition was stable. */
  rounds: number;
  /** Number of distinct classes over both bases (void and the dangling marker included). */
  classes: number;
  /** Class of type `id` of the old / new base (ids outside the base have no class: NaN). */
  oldClass(id: number): number;
  newClass(id: number): number;
  /** True when old id `id` and new id `id` hold the same type (deep, by content). */
  sameAt(id: number): boolean;
}

const DANGLING_SEED = 0x64616e67;

/**
 * Counts distinct (a, b) pairs among the first n entries: an open-addressing table reused every
 * round (a JS Set of 53-bit numbers would box every key).
 */
function pairCounter(n: number): (a: Uint32Array, b: Uint32Array) => number {
  let cap = 1;
  while (cap < n * 2) cap <<= 1;
  const mask = cap - 1;
  const ta = new Uint32Array(cap);
  const tb = new Uint32Array(cap);
  const used = new Uint8Array(cap);
  return (a, b) => {
    used.fill(0);
    let count = 0;
    for (let i = 0; i < n; i++) {
      const x = a[i];
      const y = b[i];
      let slot = (Math.imul(x ^ (y >>> 7), 0x9e3779b1) >>> 0) & mask;
      while (used[slot] && (ta[slot] !== x || tb[slot] !== y)) slot = (slot + 1) & mask;
      if (!used[slot]) {
        used[slot] = 1;
        ta[slot] = x;
        tb[slot] = y;
        count++;
      }
    }
    return count;
  };
}

export function jointIdentity(oldGraph: TypeGraph, newGraph: TypeGraph): JointIdentity {
  const nOld = oldGraph.count;
  const nNew = newGraph.count;
  // Node layout: 0 = void, 1..nOld-1 = old ids, then new ids 1..nNew-1, last = dangling reference.
  const newBase = nOld - 1;
  const dangling = nOld + nNew - 1;
  const total = dangling + 1;

  // The union's edges, as node indices.
  const edgeStart = new Uint32Array(total + 1);
  const edges = new Uint32Array(oldGraph.refs.length + newGraph.refs.length);
  let ne = 0;
  edgeStart[0] = 0;
  for (let id = 1; id < nOld; id++) {
    edgeStart[id] = ne;
    for (let r = oldGraph.refStart[id]; r < oldGraph.refStart[id + 1]; r++) {
      const to = oldGraph.refs[r];
      edges[ne++] = to < nOld ? to : dangling;
    }
  }
  for (let id = 1; id < nNew; id++) {
    edgeStart[newBase + id] = ne;
    for (let r = newGraph.refStart[id]; r < newGraph.refStart[id + 1]; r++) {
      const to = newGraph.refs[r];
      edges[ne++] = to === 0 ? 0 : to < nNew ? newBase + to : dangling;
    }
  }
  edgeStart[dangling] = ne;
  edgeStart[total] = ne;

  let ca = new Uint32Array(total);
  let cb = new Uint32Array(total);
  ca[0] = oldGraph.shapeA[0];
  cb[0] = oldGraph.shapeB[0];
  ca.set(oldGraph.shapeA.subarray(1), 1);
  cb.set(oldGraph.shapeB.subarray(1), 1);
  ca.set(newGraph.shapeA.subarray(1), nOld);
  cb.set(newGraph.shapeB.subarray(1), nOld);
  const dh = new Hash2(DANGLING_SEED);
  ca[dangling] = dh.a;
  cb[dangling] = dh.b;

  const distinct = pairCounter(total);

  let classes = distinct(ca, cb);
  let rounds = 0;
  let na = new Uint32Array(total);
  let nb = new Uint32Array(total);
  const h = new Hash2();
  for (;;) {
    rounds++;
    for (let node = 0; node < total; node++) {
      h.reset(0x726f756e).pair(ca[node], cb[node]);
      for (let e = edgeStart[node]; e < edgeStart[node + 1]; e++) {
        const to = edges[e];
        h.pair(ca[to], cb[to]);
      }
      na[node] = h.a;
      nb[node] = h.b;
    }
    const next = distinct(na, nb);
    [ca, na] = [na, ca];
    [cb, nb] = [nb, cb];
    // Each round only splits classes (a node's own class is part of its new signature), so an
    // unchanged count means nothing was split and nothing ever will be.
    if (next === classes) break;
    classes = next;
  }

  const finalA = ca;
  const finalB = cb;
  const oldClass = (id: number): number => (id >= 0 && id < nOld ? key(finalA[id], finalB[id]) : NaN);
  const newClass = (id: number): number => {
    if (id === 0) return key(finalA[0], finalB[0]);
    return id > 0 && id < nNew ? key(finalA[newBase + id], finalB[newBase + id]) : NaN;
  };
  return {
    rounds,
    classes,
    oldClass,
    newClass,
    sameAt: (id) => {
      const a = oldClass(id);
      return a === a && a === newClass(id);
    },
  };
}
