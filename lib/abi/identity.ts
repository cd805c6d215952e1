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

  // Initial classes: one per distinct shape (void and the dangling marker have their own).
  const cls = new Int32Array(total);
  const members: number[][] = [];
  {
    const byShape = new Map<number, number>();
    const shapeKey = (node: number): number => {
      if (node === dangling) return new Hash2(DANGLING_SEED).key;
      if (node < nOld) return key(oldGraph.shapeA[node], oldGraph.shapeB[node]);
      return key(newGraph.shapeA[node - newBase], newGraph.shapeB[node - newBase]);
    };
    for (let node = 0; node < total; node++) {
      const k = shapeKey(node);
      let c = byShape.get(k);
      if (c === undefined) {
        c = members.length;
        byShape.set(k, c);
        members.push([]);
      }
      cls[node] = c;
      members[c].push(node);
    }
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
  // share the signature they were grouped by. (Re-hashing whole classes made a 100k chain of
  // same-shaped pointers, which splits one node per round, quadratic: minutes.) The largest part
  // keeps the class, so a node moves O(log n) times.
  const pos = new Uint32Array(total);
  for (const ms of members) for (let i = 0; i < ms.length; i++) pos[ms[i]] = i;
  let work = new Map<number, number[]>();
  for (let c = 0; c < members.length; c++) if (members[c].length > 1) work.set(c, members[c].slice());
  const seen = new Uint32Array(total);
  const h = new Hash2();
  let rounds = 0;
  while (work.size > 0) {
    rounds++;
    const moved: number[] = [];
    for (const [c, nodes] of work) {
      const ms = members[c];
      if (ms.length < 2) continue;
      const groups = new Map<number, number[]>();
      for (const node of nodes) {
        h.reset(0x726f756e);
        for (let e = edgeStart[node]; e < edgeStart[node + 1]; e++) h.word(cls[edges[e]]);
        const k = h.key;
        const g = groups.get(k);
        if (g) g.push(node);
        else groups.set(k, [node]);
      }
      if (groups.size === 1 && nodes.length === ms.length) continue;
      // Take the re-hashed nodes out (swap with the last); what stays is the untouched rest.
      for (const node of nodes) {
        const at = pos[node];
        const last = ms.pop()!;
        if (last !== node) { ms[at] = last; pos[last] = at; }
      }
      const parts = [...groups.values()];
      if (ms.length) parts.push(ms);
      parts.sort((x, y) => y.length - x.length);
      members[c] = parts[0];
      if (parts[0] !== ms) for (let i = 0; i < parts[0].length; i++) pos[parts[0][i]] = i;
      for (let i = 1; i < parts.length; i++) {
        const id = members.length;
        members.push(parts[i]);
        for (let j = 0; j < parts[i].length; j++) {
          const node = parts[i][j];
          pos[node] = j;
          cls[node] = id;
          moved.push(node);
        }
      }
    }
    work = new Map<number, number[]>();
    for (const node of moved) {
      for (let p = predStart[node]; p < predStart[node + 1]; p++) {
        const from = preds[p];
        if (seen[from] === rounds) continue;
        seen[from] = rounds;
        const c = cls[from];
        if (members[c].length < 2) continue;
        const list = work.get(c);
        if (list) list.push(from);
        else work.set(c, [from]);
      }
    }
  }
  const classes = members.length;

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
