/**
 * Named-type changes between two bases, as a reader of C declarations would count them: a named
 * type is matched by kind and name, and it "changed" when its declaration changed — its own shape
 * plus everything anonymous it is made of (pointers, arrays, modifiers, prototypes, anonymous
 * structs), down to the next named type, which counts by its name only. So a struct that grew
 * changes itself and not every type that points to it.
 */
import { Kind, kindName } from '../btf/kinds.js';
import { Hash2 } from './hash.js';
import { TypeGraph } from './graph.js';

/** Kinds whose name names the type (tags carry attribute values, not type names). */
const COUNTED_KINDS = new Set<number>([
  Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FWD, Kind.TYPEDEF, Kind.FUNC,
  Kind.VAR, Kind.DATASEC, Kind.FLOAT,
]);

/** Anonymous types walked per declaration before giving up (malformed or absurd graphs). */
const MAX_DECL_NODES = 4096;
/**
 * Anonymous types walked over all declarations of one base, per type: a real base needs about 2.
 * Hostile BTF (a shifted string section leaves most types nameless) would make every walk hit
 * MAX_DECL_NODES — billions of steps; past the budget a declaration hashes its own node only.
 */
const DECL_NODES_PER_TYPE = 8;

/** The declaration signature of named type `id`: see the file comment. */
export function declarationSignature(g: TypeGraph, id: number, h = new Hash2(), order = new Map<number, number>(), budget = { left: Infinity }): number {
  order.clear();
  const queue: number[] = [id];
  order.set(id, 0);
  h.reset(0x6465636c);
  for (let qi = 0; qi < queue.length; qi++) {
    const node = queue[qi];
    h.pair(g.shapeA[node], g.shapeB[node]);
    for (let r = g.refStart[node]; r < g.refStart[node + 1]; r++) {
      const to = g.refs[r];
      if (to === 0) h.word(1);
      else if (to >= g.count) h.word(2).word(to);
      else if (g.named[to] && to !== id) h.word(3).word(g.kinds[to]).pair(g.nameA[to], g.nameB[to]);
      else {
        let at = order.get(to);
        if (at === undefined) {
          at = order.size;
          if (at < MAX_DECL_NODES && budget.left > 0) {
            budget.left--;
            order.set(to, at);
            queue.push(to);
          }
        }
        h.word(4).word(at);
      }
    }
  }
  return h.key;
}

export interface NamedTypeChanges {
  added: number;
  removed: number;
  changed: number;
  /** A few examples of each, as `KIND name`. */
  examples: { added: string[]; removed: string[]; changed: string[] };
}

interface Declarations {
  /** `KIND name` → declaration signatures of the types so named. */
  byName: Map<string, number[]>;
}

function declarations(g: TypeGraph): Declarations {
  const byName = new Map<string, number[]>();
  const h = new Hash2();
  const order = new Map<number, number>();
  const budget = { left: DECL_NODES_PER_TYPE * g.count + MAX_DECL_NODES };
  for (let id = 1; id < g.count; id++) {
    if (!g.named[id] || !COUNTED_KINDS.has(g.kinds[id])) continue;
    const name = `${kindName(g.kinds[id])} ${g.btf.str(g.btf.types.nameOff(id - g.btf.startId)) ?? ''}`;
    const sig = declarationSignature(g, id, h, order, budget);
    const list = byName.get(name);
    if (list) list.push(sig);
    else byName.set(name, [sig]);
  }
  return { byName };
}

/**
 * Counts named types only in the new base (added), only in the old (removed), and present in both
 * with a different declaration (changed). Several types of one name (static functions of different
 * files) are matched by signature first; the unmatched rest pair up as changed.
 */
export function namedTypeChanges(oldGraph: TypeGraph, newGraph: TypeGraph, maxExamples = 20): NamedTypeChanges {
  const before = declarations(oldGraph).byName;
  const after = declarations(newGraph).byName;
  const out: NamedTypeChanges = { added: 0, removed: 0, changed: 0, examples: { added: [], removed: [], changed: [] } };
  const note = (list: string[], name: string): void => {
    if (list.length < maxExamples) list.push(name);
  };
  for (const [name, oldSigs] of before) {
    const newSigs = after.get(name);
    if (!newSigs) {
      out.removed += oldSigs.length;
      note(out.examples.removed, name);
      continue;
    }
    const left = new Map<number, number>();
    for (const s of newSigs) left.set(s, (left.get(s) ?? 0) + 1);
    let unmatchedOld = 0;
    for (const s of oldSigs) {
      const n = left.get(s) ?? 0;
      if (n > 0) left.set(s, n - 1);
      else unmatchedOld++;
    }
    const unmatchedNew = newSigs.length - (oldSigs.length - unmatchedOld);
    const changed = Math.min(unmatchedOld, unmatchedNew);
    if (changed) note(out.examples.changed, name);
    if (unmatchedOld > changed) note(out.examples.removed, name);
    if (unmatchedNew > changed) note(out.examples.added, name);
    out.changed += changed;
    out.removed += unmatchedOld - changed;
    out.added += unmatchedNew - changed;
  }
  for (const [name, newSigs] of after) {
    if (before.has(name)) continue;
    out.added += newSigs.length;
    note(out.examples.added, name);
  }
  return out;
}
