/**
 * jsonPieces (a JSON report written a module at a time) joins to exactly toJson's text, whatever
 * the document holds; a whole tree's check report through the CLI is the same either way.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonPieces, toJson } from '../lib/report/model.js';

const joined = (v: unknown, schema?: string): string => [...jsonPieces(v, schema)].join('');

describe('jsonPieces', () => {
  it('joins to toJson for the shapes a report has', () => {
    const cases: unknown[] = [
      {}, [], null, 7, 'text', { a: [] }, { a: {} }, { a: [[]] }, { a: [{}] },
      { modules: [{ file: 'a\u0085b\u007f', n: 1n, list: [1, [2, { x: null }]] }, null, 3, 'x', undefined], summary: { ok: 1 } },
      { skip: undefined, f: () => 1, big: 2n ** 70n, arr: [undefined, () => 0, Symbol('s'), 1n] },
      { 'k\u0090ey': ['v\u009f'], nested: { deep: [{ a: [1, 2] }] } },
      { when: new Date(0), modules: [1] }, // a toJSON member: toJson whole
      { modules: [new Date(0)] }, // a toJSON element
      { modules: [new Map()] }, // a class instance
      Object.assign(Object.create(null), { a: [1, 2] }),
    ];
    for (const c of cases) {
      expect(joined(c)).toBe(toJson(c, undefined));
      expect(joined(c, 'btfcheck/check/1')).toBe(toJson(c, 'btfcheck/check/1'));
    }
  });

  it('joins to toJson for any JSON-like document', () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.oneof(fc.jsonValue(), fc.array(fc.jsonValue()), fc.bigInt())), (doc) => {
      expect(joined(doc, 'btfcheck/x/1')).toBe(toJson(doc, 'btfcheck/x/1'));
    }), { numRuns: 300 });
  });

  it('takes a report with many modules apart a module at a time', () => {
    const report = { schema: 'btfcheck/check/1', modules: Array.from({ length: 100 }, (_v, i) => ({ file: `m${i}.ko`, findings: [{ rule: 'r', at: i }] })), summary: { modules: 100 } };
    const pieces = [...jsonPieces(report)];
    expect(pieces.length).toBeGreaterThan(100);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(200);
    expect(pieces.join('')).toBe(toJson(report));
  });
});
