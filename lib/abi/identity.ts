/**
 * Deep structural identity across two bases: type X of one base and type Y of the other are
 * "the same" when they have the same shape and refer, position by position, to types that are the
 * same again — with ids renumbered consistently and cycles (struct → pointer → struct) allowed.
 *
 * That is the coarsest bisimulation of the two type graphs, computed by partition refinement on
 * their disjoint union: every type starts in the class of its own shape; a class splits when its
 * members refer, position by position, to different classes; when nothing splits the partition is
 * final. Only classes referring to a type that just changed class are looked at again. Iterative,
 * so deep or cyclic graphs cannot overflow a stack.
 */
import { Hash2, key } from './hash.js';
import { TypeGraph } from './graph.js';

export interface JointIdentity {
  /** Number of refinement rounds until no class split. */
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

  // The partition as segments of one permutation: class c holds perm[cStart[c] .. cEnd[c]), and
  // pos[node] is the node's index in perm. Typed arrays throughout: a base pair has ~240k nodes,
  // and per-class arrays and maps made the refinement's garbage, not its result, the peak memory.
  const perm = new Uint32Array(total);
  const pos = new Uint32Array(total);
  const cls = new Int32Array(total);
  const cStart = new Uint32Array(total);
  const cEnd = new Uint32Array(total);
  let nClasses = 0;
  {
    // Initial classes: one per distinct shape (void and the dangling marker have their own).
    const shape = new Float64Array(total);
    const danglingKey = new Hash2(DANGLING_SEED).key;
    for (let node = 0; node < total; node++) {
      shape[node] = node === dangling ? danglingKey
        : node < nOld ? key(oldGraph.shapeA[node], oldGraph.shapeB[node])
        : key(newGraph.shapeA[node - newBase], newGraph.shapeB[node - newBase]);
      perm[node] = node;
    }
    perm.sort((a, b) => shape[a] - shape[b] || a - b);
    for (let i = 0; i < total; i++) {
      const node = perm[i];
      if (i === 0 || shape[node] !== shape[perm[i - 1]]) {
        if (nClasses) cEnd[nClasses - 1] = i;
        cStart[nClasses++] = i;
      }
      cls[node] = nClasses - 1;
      pos[node] = i;
    }
    cEnd[nClasses - 1] = total;
  }

  // Who refers to whom, backwards: when a node changes class, its referrers' classes may split.
  const predStart = new Uint32Array(total + 1);
  for (let e = 0; e < ne; e++) predStart[edges[e] + 1]++;
  for (let i = 0; i < total; i++) predStart[i + 1] += predStart[i];
  const preds = new Uint32Array(ne);
  {
    const fill = predStart.slice(0, total);
    for (let node = 0; node < total; node++) {
      for (let e = edgeStart[node]; e < edgeStart[node + 1]; e++) preds[fill[edges[e]]++] = node;
    }
  }

  // Split classes whose members disagree on the classes they refer to, until none does. The first
  // round hashes every member; later rounds only members a moved node refers to: the others still
  // share the signature they were grouped by, and stay together. (Re-hashing whole classes made a
  // 100k chain of same-shaped pointers, which splits one node per round, quadratic: minutes.) The
  // largest part keeps the class, so a node moves O(log n) times.
  const sig = new Float64Array(total);
  const seen = new Uint32Array(total);
  const h = new Hash2();
  let touched = new Uint32Array(total);
  let nTouched = 0;
  for (let c = 0; c < nClasses; c++) {
    if (cEnd[c] - cStart[c] > 1) for (let i = cStart[c]; i < cEnd[c]; i++) touched[nTouched++] = perm[i];
  }
  let moved = new Uint32Array(1024);
  let rounds = 0;
  while (nTouched > 0) {
    rounds++;
    for (let i = 0; i < nTouched; i++) {
      const node = touched[i];
      seen[node] = rounds;
      h.reset(0x726f756e);
      for (let e = edgeStart[node]; e < edgeStart[node + 1]; e++) h.word(cls[edges[e]]);
      sig[node] = h.key;
    }
    const work = touched.subarray(0, nTouched).sort((a, b) => cls[a] - cls[b] || sig[a] - sig[b] || a - b);
    let nMoved = 0;
    const move = (node: number): void => {
      if (nMoved === moved.length) {
        const grown = new Uint32Array(moved.length * 2);
        grown.set(moved);
        moved = grown;
      }
      moved[nMoved++] = node;
    };
    for (let i = 0; i < work.length;) {
      const c = cls[work[i]];
      let j = i;
      while (j < work.length && cls[work[j]] === c) j++;
      const size = cEnd[c] - cStart[c];
      const n = j - i;
      if (n === size && sig[work[i]] === sig[work[j - 1]]) {
        i = j;
        continue; // every member hashed alike: no split
      }
      // The touched members to the end of the segment (by swaps), in signature order; the untouched
      // rest stays at the front as one part.
      const restEnd = cEnd[c] - n;
      let w = restEnd;
      for (let k = i; k < j; k++) {
        const node = work[k];
        if (pos[node] >= restEnd) continue;
        while (seen[perm[w]] === rounds) w++;
        const other = perm[w];
        perm[pos[node]] = other;
        pos[other] = pos[node];
        perm[w] = node;
        pos[node] = w;
        w++;
      }
      for (let k = i; k < j; k++) {
        perm[restEnd + k - i] = work[k];
        pos[work[k]] = restEnd + k - i;
      }
      // The parts: [start, end) ranges of perm; the largest keeps the class id.
      const parts: number[] = [];
      if (restEnd > cStart[c]) parts.push(cStart[c], restEnd);
      for (let k = i; k < j;) {
        let m = k + 1;
        while (m < j && sig[work[m]] === sig[work[k]]) m++;
        parts.push(restEnd + k - i, restEnd + m - i);
        k = m;
      }
      let largest = 0;
      for (let p = 2; p < parts.length; p += 2) if (parts[p + 1] - parts[p] > parts[largest + 1] - parts[largest]) largest = p;
      for (let p = 0; p < parts.length; p += 2) {
        if (p === largest) {
          cStart[c] = parts[p];
          cEnd[c] = parts[p + 1];
          continue;
        }
        const id = nClasses++;
        cStart[id] = parts[p];
        cEnd[id] = parts[p + 1];
        for (let q = parts[p]; q < parts[p + 1]; q++) {
          cls[perm[q]] = id;
          move(perm[q]);
        }
      }
      i = j;
    }
    // Next round: the referrers of every moved node, in classes that can still split.
    nTouched = 0;
    const mark = rounds + 1;
    if (touched.length < total) touched = new Uint32Array(total);
    for (let k = 0; k < nMoved; k++) {
      const node = moved[k];
      for (let p = predStart[node]; p < predStart[node + 1]; p++) {
        const from = preds[p];
        if (seen[from] === mark) continue;
        seen[from] = mark;
        const c = cls[from];
        if (cEnd[c] - cStart[c] < 2) continue;
        touched[nTouched++] = from;
      }
    }
  }
  return identityOf(cls, nOld, nNew, rounds, nClasses);
}

/** The result, made outside jointIdentity so its closures keep `cls` alive and not the graphs. */
function identityOf(cls: Int32Array, nOld: number, nNew: number, rounds: number, classes: number): JointIdentity {
  const newBase = nOld - 1;
  const oldClass = (id: number): number => (id >= 0 && id < nOld ? cls[id] : NaN);
  const newClass = (id: number): number => {
    if (id === 0) return cls[0];
    return id > 0 && id < nNew ? cls[newBase + id] : NaN;
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
