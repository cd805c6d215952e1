/**
 * Fuzz cases as data (fast-check generates and shrinks them; a case prints as JSON and replays),
 * and how a case becomes input bytes for a target.
 */
import fc from 'fast-check';
import { smallBase } from '../helpers/btf-builder.js';
import { Container, CONTAINERS, Corpus, moduleElf, vmlinuxElf, wrap } from './corpus.js';
import { applyOps, Op, opsArb } from './mutate.js';
import { BtfSpec, btfSpecArb, buildBtf } from './structured.js';

export type FuzzCase =
  /** A module seed (decompressed), mutated, put in a container, and the container mutated. */
  | { t: 'module'; seed: number; container: Container; ops: Op[]; outer: Op[]; sibling: boolean }
  /** A file seed (compressed module, vmlinux ELF, bzImage...) mutated as it is. */
  | { t: 'file'; seed: number; ops: Op[] }
  /** A base seed (raw BTF), mutated, as raw BTF, a vmlinux ELF or compressed. */
  | { t: 'base'; seed: number; form: Container | 'elf'; ops: Op[]; outer: Op[]; abi: boolean }
  /** Hand-built hostile BTF as a raw split BTF, a .ko, or a base. */
  | { t: 'btf'; spec: BtfSpec; as: 'raw' | 'ko' | 'base'; container: Container }
  /** A pasted kernel log. */
  | { t: 'explain'; lines: LogLine[]; sep: string };

export type LogLine =
  | { real: number; prefix: number; edits: Array<[number, string]> }
  | { template: number; nums: number[]; name: string; prefix: number }
  | { junk: string };

/** What a case turns into: bytes for a target, and which base goes with them. */
export type Materialized =
  | { target: 'module'; bytes: Uint8Array; fileName: string; base: string }
  | { target: 'base'; bytes: Uint8Array; base: string; abi: boolean }
  | { target: 'explain'; text: string; base: string };

const PREFIXES = ['', '[   12.345678] ', 'Jan  1 00:00:00 host kernel: ', 'kernel: ', '<4>', '[Mon Jan  1 00:00:00 2026] ', 'BPF: '];
/** Shapes of the lines kernels print (include/linux printk formats of btf_verifier_log_*). */
const TEMPLATES = [
  'BPF: [#] STRUCT %s size=# vlen=#', 'BPF: \t type_id=# bits_offset=#', 'BPF: %s type_id=# bitfield_size=# bits_offset=#',
  'BPF: Invalid name', 'BPF: Invalid member', 'BPF: Member bits_offset exceeds its struct size', 'BPF: [#] FUNC_PROTO (anon) return=# args=(# %s)',
  'BPF: [#] INT %s size=# bits_offset=# nr_bits=# encoding=(none)', 'failed to validate module [%s] BTF: #',
  'BPF: magic: 0x#', 'BPF: version: #', 'BPF: flags: 0x#', 'BPF: hdr_len: #', 'BPF: type_off: #', 'BPF: type_len: #',
  'BPF: str_off: #', 'BPF: str_len: #', 'BPF: btf_total_size: #', 'BPF: Invalid string section', 'BPF: Unsupported section found',
  'BPF: [#] ENUM %s size=# vlen=#', 'BPF: \t%s val=#', 'BPF: [#] DATASEC %s size=# vlen=#', 'BPF: \t type_id=# offset=# size=#',
  'BPF: [#] TYPEDEF %s type_id=#', 'BPF: Loop detected', 'Kernel module BTF mismatch detected, BTF debug info may be unavailable for some modules',
  'BPF:[#] STRUCT %s', 'BPF:size=# vlen=#', 'BPF:Invalid name', 'BPF: [#] ARRAY (anon) type_id=# index_type_id=# nr_elems=#',
];

const logLine: fc.Arbitrary<LogLine> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ real: fc.nat(), prefix: fc.nat({ max: PREFIXES.length - 1 }), edits: fc.array(fc.tuple(fc.nat(), fc.string({ maxLength: 3 })), { maxLength: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ template: fc.nat({ max: TEMPLATES.length - 1 }), nums: fc.array(fc.oneof(fc.integer({ min: -600, max: 300000 }), fc.constantFrom(4294967295, -2147483648, 1e21)), { maxLength: 6 }), name: fc.oneof(fc.constantFrom('ctr', 'vboxdrv', '(anon)', '(invalid-name-offset)', 'nvidia', ''), fc.string({ maxLength: 40 })), prefix: fc.nat({ max: PREFIXES.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ junk: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.nat({ max: 200_000 }).map((n) => 'BPF: '.repeat(Math.ceil(n / 5)))) }) },
);

function caseArbs(corpus: Corpus): fc.Arbitrary<FuzzCase>[] {
  const container = fc.oneof({ weight: 6, arbitrary: fc.constant<Container>('none') }, { weight: 1, arbitrary: fc.constantFrom(...CONTAINERS) });
  const outer = fc.oneof({ weight: 5, arbitrary: fc.constant([] as Op[]) }, { weight: 1, arbitrary: opsArb(3) });
  return [
    fc.record({ t: fc.constant('module' as const), seed: fc.nat({ max: corpus.modules.length - 1 }), container, ops: opsArb(6), outer, sibling: fc.boolean() }),
    fc.record({ t: fc.constant('file' as const), seed: fc.nat({ max: corpus.files.length - 1 }), ops: opsArb(4) }),
    fc.record({ t: fc.constant('base' as const), seed: fc.nat({ max: corpus.baseKeys.length - 1 }), form: fc.constantFrom<Container | 'elf'>('none', 'none', 'elf', ...CONTAINERS), ops: opsArb(5), outer, abi: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 5, arbitrary: fc.constant(false) }) }),
    fc.record({ t: fc.constant('btf' as const), spec: btfSpecArb, as: fc.constantFrom('raw' as const, 'ko' as const, 'base' as const), container }),
    fc.record({ t: fc.constant('explain' as const), lines: fc.array(logLine, { maxLength: 30 }), sep: fc.constantFrom('\n', '\r\n', ' ', '', '\n\n') }),
  ];
}

/** Every kind of case, weighted towards mutated real modules (the acceptance target). */
export function caseArb(corpus: Corpus, only?: FuzzCase['t']): fc.Arbitrary<FuzzCase> {
  const [module, file, base, btf, explain] = caseArbs(corpus);
  const all: Record<FuzzCase['t'], fc.Arbitrary<FuzzCase>> = { module, file, base, btf, explain };
  if (only) return all[only];
  // Real bases take ~0.1 s to load and ~1 s to compare (abi): fewer of those, so a long run gets
  // through its cases.
  return fc.oneof({ weight: 12, arbitrary: module }, { weight: 3, arbitrary: file }, { weight: 1, arbitrary: base }, { weight: 3, arbitrary: btf }, { weight: 1, arbitrary: explain });
}

const small = smallBase().builder;

/** Builds the bytes (or text) of a case. */
export function materialize(c: FuzzCase, corpus: Corpus): Materialized {
  switch (c.t) {
    case 'module': {
      const seed = corpus.modules[c.seed % corpus.modules.length];
      let base = seed.base;
      if (c.sibling && base !== 'small') {
        // The other build of the same series: a silent-mismatch or a rejection, as a user would meet it.
        const series = base.startsWith('6.12') ? '6.12' : '6.1';
        base = corpus.baseKeys.find((k) => k !== base && k.startsWith(series) && (series === '6.12' || !k.startsWith('6.12'))) ?? base;
      }
      const inner = applyOps(seed.bytes, c.ops);
      const ext = { none: '', gzip: '.gz', xz: '.xz', zstd: '.zst' }[c.container];
      return { target: 'module', bytes: applyOps(wrap(inner, c.container), c.outer), fileName: seed.name + ext, base };
    }
    case 'file': {
      const f = corpus.files[c.seed % corpus.files.length];
      const bytes = applyOps(f.bytes, c.ops);
      return f.kind === 'module' ? { target: 'module', bytes, fileName: f.name, base: f.base } : { target: 'base', bytes, base: f.base, abi: true };
    }
    case 'base': {
      const key = corpus.baseKeys[c.seed % corpus.baseKeys.length];
      const raw = applyOps(corpus.bases.get(key)!.raw, c.ops);
      const formed = c.form === 'elf' ? vmlinuxElf(raw) : wrap(raw, c.form);
      return { target: 'base', bytes: applyOps(formed, c.outer), base: key, abi: c.abi };
    }
    case 'btf': {
      const raw = buildBtf({ ...c.spec, split: c.as !== 'base' }, small);
      if (c.as === 'base') return { target: 'base', bytes: wrap(raw, c.container), base: 'small', abi: true };
      const bytes = c.as === 'ko' ? moduleElf('fuzz_mod', raw) : raw;
      return { target: 'module', bytes: wrap(bytes, c.container), fileName: c.as === 'ko' ? 'fuzz_mod.ko' : 'fuzz_mod', base: 'small' };
    }
    case 'explain': {
      const text = c.lines.map((l) => {
        if ('junk' in l) return l.junk;
        if ('real' in l) {
          let s = corpus.logLines.length ? corpus.logLines[l.real % corpus.logLines.length] : '';
          for (const [at, ins] of l.edits) { const i = s.length ? at % s.length : 0; s = s.slice(0, i) + ins + s.slice(i + 1); }
          return PREFIXES[l.prefix] + s;
        }
        let k = 0;
        return PREFIXES[l.prefix] + TEMPLATES[l.template].replace(/#|%s/g, (m) => (m === '%s' ? l.name : String(l.nums[k++ % Math.max(1, l.nums.length)] ?? 0)));
      }).join(c.sep);
      return { target: 'explain', text, base: corpus.baseKeys.find((k) => k !== 'small') ?? 'small' };
    }
  }
}

/** Smaller variants of a case, most promising first (for minimizing a failure). */
export function* shrinkCandidates(c: FuzzCase): Generator<FuzzCase> {
  const dropEach = function* <T>(xs: T[]): Generator<T[]> { for (let i = 0; i < xs.length; i++) yield [...xs.slice(0, i), ...xs.slice(i + 1)]; };
  switch (c.t) {
    case 'module':
      if (c.container !== 'none' && !c.outer.length) yield { ...c, container: 'none' };
      if (c.sibling) yield { ...c, sibling: false };
      for (const outer of dropEach(c.outer)) yield { ...c, outer };
      for (const ops of dropEach(c.ops)) if (ops.length) yield { ...c, ops };
      break;
    case 'file': case 'base':
      for (const ops of dropEach(c.ops)) if (ops.length) yield { ...c, ops };
      if (c.t === 'base') {
        for (const outer of dropEach(c.outer)) yield { ...c, outer };
        if (c.form !== 'none' && !c.outer.length) yield { ...c, form: 'none' };
        if (c.abi) yield { ...c, abi: false };
      }
      break;
    case 'btf': {
      const s = c.spec;
      if (c.container !== 'none') yield { ...c, container: 'none' };
      if (s.chain && s.chain.length > 1) yield { ...c, spec: { ...s, chain: { ...s.chain, length: Math.ceil(s.chain.length / 2) } } };
      if (s.chain) yield { ...c, spec: { ...s, chain: null } };
      if (Object.keys(s.header).length) yield { ...c, spec: { ...s, header: {} } };
      for (const types of dropEach(s.types)) yield { ...c, spec: { ...s, types } };
      for (const strings of dropEach(s.strings)) yield { ...c, spec: { ...s, strings } };
      if (s.unterminated.length) yield { ...c, spec: { ...s, unterminated: [] } };
      break;
    }
    case 'explain':
      for (const lines of dropEach(c.lines)) yield { ...c, lines };
      break;
  }
}
