/**
 * Fuzz cases as data (fast-check generates and shrinks them; a case prints as JSON and replays),
 * and how a case becomes input bytes for a target.
 */
import fc from 'fast-check';
import { decodeFileName } from '../../lib/fsname.js';
import { kernelSeries } from '../../lib/kernel/index.js';
import { smallBase } from '../helpers/btf-builder.js';
import { CHECKED_CONTAINERS, Container, CONTAINER_EXT, CONTAINERS, Corpus, moduleElf, vmlinuxElf, wrap } from './corpus.js';
import { KernelPick, kernelPickArb } from './kernels.js';
import { applyOps, Op, opArb, opsArb } from './mutate.js';
import { bombArb, BombCase, buildBomb } from './bombs.js';
import { archiveArb, ArchiveCase, ArchiveMaterial, buildArchive } from './archives.js';
import { BtfSpec, btfSpecArb, buildBtf } from './structured.js';

/**
 * Cases from before a field existed replay without it: `k` (the picked kernel, besides the oracle
 * series), `fname` (bytes put before the file name), `mname` (the module's own name, as bytes).
 */
export type FuzzCase =
  /** A module seed (decompressed), mutated, put in a container, and the container mutated. */
  | { t: 'module'; seed: number; container: Container; ops: Op[]; outer: Op[]; sibling: boolean; k?: KernelPick; fname?: number[] }
  /** A file seed (compressed module, vmlinux ELF, bzImage...) mutated as it is. */
  | { t: 'file'; seed: number; ops: Op[]; k?: KernelPick }
  /** A base seed (raw BTF), mutated, as raw BTF, a vmlinux ELF or compressed. */
  | { t: 'base'; seed: number; form: Container | 'elf'; ops: Op[]; outer: Op[]; abi: boolean; k?: KernelPick }
  /** Hand-built hostile BTF as a raw split BTF, a .ko, or a base. */
  | { t: 'btf'; spec: BtfSpec; as: 'raw' | 'ko' | 'base'; container: Container; k?: KernelPick; fname?: number[]; mname?: number[] }
  /**
   * A pasted kernel log; read whole and as a stream in chunks of `chunk` bytes with lines cut at
   * `maxLine` (the two must agree), explained for the picked kernel; `repeat` joins it that many
   * times (with sep '': one line of megabytes).
   */
  | { t: 'explain'; lines: LogLine[]; sep: string; chunk?: number; maxLine?: number; repeat?: number; k?: KernelPick }
  /** A decompression bomb or hostile kernel image under the limits (bombs.ts). */
  | BombCase
  /** A .deb, RPM or initramfs holding modules (and a kernel image) under hostile names (archives.ts). */
  | ArchiveCase
  /** `stamp` on a copy of a module in a scratch directory with names planted around it (fs-targets.ts). */
  | { t: 'stamp'; seed: number; container: Container; ops: Op[]; plants: Plant[]; mode: number; owner: number; xattr: boolean; breakHardLinks: boolean; force: boolean; strip: boolean; fname?: number[] }
  /** A module tree with hostile names, links, FIFOs and nesting, walked per entry (fs-targets.ts). */
  | { t: 'tree'; entries: TreeEntry[]; k: KernelPick };

/** What is planted beside a module before `stamp` (fs-targets.ts says what each one is). */
export type Plant = 'stale-link' | 'stale-fifo' | 'own-link' | 'module-link' | 'module-fifo' | 'hardlink' | 'dir-link';
export const PLANTS: Plant[] = ['stale-link', 'stale-fifo', 'own-link', 'module-link', 'module-fifo', 'hardlink', 'dir-link'];

/** One entry of a tree: where (directory names as bytes), its name (bytes), and what it is. */
export interface TreeEntry {
  dirs: number[][];
  name: number[];
  what: 'module' | 'other' | 'fifo' | 'loop' | 'dangling' | 'outdir' | 'deep' | 'long' | 'dirko';
  seed: number;
  container: Container;
  /** Nesting of a 'deep' entry. */
  depth: number;
}

export type LogLine =
  | { real: number; prefix: number; edits: Array<[number, string]> }
  | { template: number; nums: number[]; name: string; prefix: number }
  | { junk: string };

/** What a case turns into: bytes for a target, and which base goes with them. */
export type Materialized =
  | {
    target: 'module'; bytes: Uint8Array; fileName: string; base: string; kernel?: KernelPick;
    /** The file name as bytes (hostile ones); fileName is then its decoded form. */
    nameBytes?: Uint8Array;
    /** What the container holds, when its check covers every byte and the container was mutated. */
    inner?: Uint8Array;
    container?: Container;
    /** The module's own name put in the ELF, when hostile. */
    moduleName?: string;
    /** CPU budget of the case when not CASE_BUDGET_MS (bombs: the 5 s). */
    budgetMs?: number;
  }
  | { target: 'base'; bytes: Uint8Array; base: string; abi: boolean; kernel?: KernelPick; inner?: Uint8Array; container?: Container; budgetMs?: number }
  | { target: 'explain'; text: string; base: string; chunk?: number; maxLine?: number; kernel?: KernelPick }
  | { target: 'stamp'; bytes: Uint8Array; nameBytes: Uint8Array; base: string; c: Extract<FuzzCase, { t: 'stamp' }> }
  | { target: 'tree'; entries: Array<TreeEntry & { bytes: Uint8Array; ext: string }>; base: string; kernel: KernelPick }
  | ({ target: 'archive'; base: string; kernel: KernelPick; kind: ArchiveCase['kind'] } & ArchiveMaterial);

/**
 * Pieces of hostile names: terminal sequences (OSC title, clear screen, CSI as C1), a newline that
 * would forge a `btfcheck:` line, CR, TAB, DEL, bytes that are not UTF-8, U+FFFE/U+FFFF (not XML),
 * an encoded surrogate, bidi override, markup characters.
 */
const NAME_PARTS: number[][] = [
  [0x1b, 0x5d, 0x30, 0x3b, 0x70, 0x77, 0x6e, 0x07], [0x1b, 0x5b, 0x32, 0x4a], [0x1b, 0x5b, 0x33, 0x31, 0x6d],
  [0x0a, ...Buffer.from('btfcheck: forged.ko: line')], [0x0d], [0x09], [0x7f], [0x01], [0x1f], [0xc2, 0x9b], [0xc2, 0x85],
  [0x9b], [0xff], [0xfe], [0xc3], [0x80], [0xef, 0xbf, 0xbe], [0xef, 0xbf, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xb2, 0x80],
  [0xe2, 0x80, 0xae], [...Buffer.from('&<>"\'')], [...Buffer.from('\\x1b')], [0xc3, 0xbc], [0x20], [0x2d],
];
/** Bytes for a file name: no NUL or '/', at most 120 bytes. */
export const nameBytesArb: fc.Arbitrary<number[]> = fc.array(fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NAME_PARTS) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }).filter((b) => b !== 0x2f).map((b) => [b]) },
  { weight: 1, arbitrary: fc.constantFrom([...Buffer.from('mod')], [...Buffer.from('x_y')]) },
), { minLength: 1, maxLength: 6 }).map((parts) => parts.flat().slice(0, 120));
/** A module's own name (struct module's 56 bytes, .modinfo): hostile bytes, no NUL. */
const moduleNameArb: fc.Arbitrary<number[]> = nameBytesArb.map((b) => b.slice(0, 50));
const optionalName = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: nameBytesArb });

const latin1 = (bytes: number[]): string => String.fromCharCode(...bytes);

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

function caseArbs(corpus: Corpus): Record<FuzzCase['t'], fc.Arbitrary<FuzzCase>> {
  const container = fc.oneof({ weight: 6, arbitrary: fc.constant<Container>('none') }, { weight: 1, arbitrary: fc.constantFrom(...CONTAINERS) });
  const outer = fc.oneof({ weight: 5, arbitrary: fc.constant([] as Op[]) }, { weight: 1, arbitrary: opsArb(3) });
  const moduleSeed = fc.nat({ max: corpus.modules.length - 1 });
  const flip = fc.record({ op: fc.constant('flip' as const), at: fc.nat({ max: 0x7fffffff }), bit: fc.nat({ max: 7 }) });
  const elfSeeds = corpus.modules.map((m, i) => (m.bytes[0] === 0x7f ? i : -1)).filter((i) => i >= 0);
  const elfSeed = fc.constantFrom(...elfSeeds);
  const module = fc.oneof(
    { weight: 6, arbitrary: fc.record({ t: fc.constant('module' as const), seed: moduleSeed, container, ops: opsArb(6), outer, sibling: fc.boolean(), k: kernelPickArb, fname: optionalName }, { requiredKeys: ['t', 'seed', 'container', 'ops', 'outer', 'sibling', 'k'] }) },
    // A bit flipped (or a byte changed) in a checksummed container: an error line, or exactly the
    // bytes that went in (a flip in a field no check covers, such as gzip's MTIME).
    { weight: 1, arbitrary: fc.record({ t: fc.constant('module' as const), seed: moduleSeed, container: fc.constantFrom(...CHECKED_CONTAINERS), ops: fc.constant([] as Op[]), outer: fc.array(fc.oneof({ weight: 4, arbitrary: flip }, { weight: 1, arbitrary: opArb }), { minLength: 1, maxLength: 2 }), sibling: fc.constant(false), k: kernelPickArb }) },
  );
  return {
    module,
    file: fc.record({ t: fc.constant('file' as const), seed: fc.nat({ max: corpus.files.length - 1 }), ops: opsArb(4), k: kernelPickArb }),
    base: fc.record({ t: fc.constant('base' as const), seed: fc.nat({ max: corpus.baseKeys.length - 1 }), form: fc.constantFrom<Container | 'elf'>('none', 'none', 'elf', ...CONTAINERS), ops: opsArb(5), outer, abi: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 5, arbitrary: fc.constant(false) }), k: kernelPickArb }),
    btf: fc.record({ t: fc.constant('btf' as const), spec: btfSpecArb, as: fc.constantFrom('raw' as const, 'ko' as const, 'base' as const), container, k: kernelPickArb, fname: optionalName, mname: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: moduleNameArb }) }, { requiredKeys: ['t', 'spec', 'as', 'container', 'k'] }),
    explain: fc.record({
      t: fc.constant('explain' as const), lines: fc.array(logLine, { maxLength: 30 }), sep: fc.constantFrom('\n', '\r\n', ' ', '', '\n\n'),
      chunk: fc.constantFrom(1, 2, 3, 7, 64, 1000, 4096, 65536), maxLine: fc.oneof({ weight: 3, arbitrary: fc.constant(64 << 10) }, { weight: 1, arbitrary: fc.constantFrom(1, 8, 40, 100, 1024) }),
      repeat: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(100, 5000, 20000) }), k: kernelPickArb,
    }),
    bomb: bombArb,
    archive: archiveArb(corpus, nameBytesArb),
    stamp: fc.record({
      t: fc.constant('stamp' as const), seed: elfSeed,
      container: fc.constantFrom<Container>('none', 'none', 'xz', 'gzip', 'zstd'),
      ops: fc.oneof({ weight: 4, arbitrary: fc.constant([] as Op[]) }, { weight: 1, arbitrary: opsArb(2) }),
      // A symlinked or FIFO module is refused before anything else: less often, so the others get stamped.
      plants: fc.uniqueArray(fc.oneof({ weight: 5, arbitrary: fc.constantFrom<Plant>('stale-link', 'stale-fifo', 'own-link', 'hardlink', 'dir-link') }, { weight: 1, arbitrary: fc.constantFrom<Plant>('module-link', 'module-fifo') }), { maxLength: 3 }),
      mode: fc.constantFrom(0o644, 0o600, 0o640, 0o664, 0o444, 0o755, 0o4755, 0o2640),
      owner: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 65000 }) }),
      xattr: fc.boolean(), breakHardLinks: fc.boolean(), force: fc.boolean(),
      // The sample modules are signed: mostly stripped, so they get stamped.
      strip: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), fname: optionalName,
    }, { requiredKeys: ['t', 'seed', 'container', 'ops', 'plants', 'mode', 'owner', 'xattr', 'breakHardLinks', 'force', 'strip'] }),
    tree: fc.record({
      t: fc.constant('tree' as const),
      entries: fc.array(fc.record({
        dirs: fc.array(fc.oneof({ weight: 2, arbitrary: fc.constantFrom<number[]>([0x61], [0x62], [0x6b, 0x65, 0x72, 0x6e, 0x65, 0x6c]) }, { weight: 1, arbitrary: nameBytesArb }), { maxLength: 3 }),
        name: nameBytesArb,
        what: fc.oneof(
          { weight: 8, arbitrary: fc.constant('module' as const) },
          { weight: 1, arbitrary: fc.constantFrom('other' as const, 'fifo' as const, 'loop' as const, 'dangling' as const, 'outdir' as const, 'dirko' as const) },
          { weight: 1, arbitrary: fc.constantFrom('deep' as const, 'long' as const) },
        ),
        seed: elfSeed,
        container: fc.constantFrom<Container>('none', 'none', 'xz', 'gzip', 'zstd'),
        depth: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 2, max: 100 }) }, { weight: 1, arbitrary: fc.constantFrom(600, 1200) }),
      }), { minLength: 1, maxLength: 8 }),
      k: kernelPickArb,
    }),
  };
}

/** Every kind of case, weighted towards mutated real modules (the acceptance target). */
export function caseArb(corpus: Corpus, only?: FuzzCase['t']): fc.Arbitrary<FuzzCase> {
  const all = caseArbs(corpus);
  if (only) return all[only];
  // Real bases take ~0.1 s to load and ~1 s to compare (abi): fewer of those, so a long run gets
  // through its cases. Stamps spawn a compressor and trees touch the file system: a few.
  // Bombs decode up to the limits (a second or more each): rarest.
  return fc.oneof(
    { weight: 120, arbitrary: all.module }, { weight: 30, arbitrary: all.file }, { weight: 10, arbitrary: all.base }, { weight: 30, arbitrary: all.btf },
    { weight: 10, arbitrary: all.explain }, { weight: 10, arbitrary: all.stamp }, { weight: 10, arbitrary: all.tree }, { weight: 1, arbitrary: all.bomb },
    { weight: 10, arbitrary: all.archive },
  );
}

const small = smallBase().builder;
/** The bound on one run on a hostile image (acceptance 1: each run within 5 s). */
export const BOMB_BUDGET_MS = 5000;

/** A file name: plain, or hostile bytes before it (then fileName is how btfcheck decodes them). */
function named(prefix: number[] | undefined, name: string): { fileName: string; nameBytes?: Uint8Array } {
  if (!prefix?.length) return { fileName: name };
  const bytes = Uint8Array.from([...prefix, ...Buffer.from(name)]);
  return { fileName: decodeFileName(bytes), nameBytes: bytes };
}

/** Builds the bytes (or text) of a case. */
export function materialize(c: FuzzCase, corpus: Corpus): Materialized {
  switch (c.t) {
    case 'module': {
      const seed = corpus.modules[c.seed % corpus.modules.length];
      let base = seed.base;
      if (c.sibling && base !== 'small') {
        // The other build of the same series: a silent-mismatch or a rejection, as a user would meet it.
        const series = kernelSeries(base);
        base = corpus.baseKeys.find((k) => k !== base && k !== 'small' && kernelSeries(k) === series) ?? base;
      }
      const inner = applyOps(seed.bytes, c.ops);
      const checked = CHECKED_CONTAINERS.includes(c.container) && c.outer.length > 0;
      return {
        target: 'module', bytes: applyOps(wrap(inner, c.container), c.outer), base, kernel: c.k, ...named(c.fname, seed.name + CONTAINER_EXT[c.container]),
        ...(checked ? { inner, container: c.container } : {}),
      };
    }
    case 'file': {
      const f = corpus.files[c.seed % corpus.files.length];
      const bytes = applyOps(f.bytes, c.ops);
      return f.kind === 'module' ? { target: 'module', bytes, fileName: f.name, base: f.base, kernel: c.k } : { target: 'base', bytes, base: f.base, abi: true, kernel: c.k };
    }
    case 'base': {
      const key = corpus.baseKeys[c.seed % corpus.baseKeys.length];
      const raw = applyOps(corpus.bases.get(key)!.raw, c.ops);
      const formed = c.form === 'elf' ? vmlinuxElf(raw) : wrap(raw, c.form);
      const checked = c.form !== 'elf' && CHECKED_CONTAINERS.includes(c.form) && c.outer.length > 0;
      return { target: 'base', bytes: applyOps(formed, c.outer), base: key, abi: c.abi, kernel: c.k, ...(checked ? { inner: raw, container: c.form as Container } : {}) };
    }
    case 'btf': {
      const raw = buildBtf({ ...c.spec, split: c.as !== 'base' }, small);
      if (c.as === 'base') return { target: 'base', bytes: wrap(raw, c.container), base: 'small', abi: true, kernel: c.k };
      const moduleName = c.mname ? latin1(c.mname) : 'fuzz_mod';
      const bytes = c.as === 'ko' ? moduleElf(moduleName, raw) : raw;
      return {
        target: 'module', bytes: wrap(bytes, c.container), base: 'small', kernel: c.k, ...named(c.fname, c.as === 'ko' ? 'fuzz_mod.ko' : 'fuzz_mod'),
        ...(c.as === 'ko' && c.mname ? { moduleName } : {}),
      };
    }
    case 'stamp': {
      const seed = corpus.modules[c.seed % corpus.modules.length];
      const bytes = wrap(applyOps(seed.bytes, c.ops), c.container);
      const name = seed.name.replace(/\.ko$/, '') + '.ko' + CONTAINER_EXT[c.container];
      return { target: 'stamp', bytes, nameBytes: Uint8Array.from([...(c.fname ?? []), ...Buffer.from(name)]), base: seed.base, c };
    }
    case 'tree': {
      const entries = c.entries.map((e) => {
        const seed = corpus.modules[e.seed % corpus.modules.length];
        return { ...e, bytes: wrap(seed.bytes, e.container), ext: '.ko' + CONTAINER_EXT[e.container] };
      });
      return { target: 'tree', entries, base: 'small', kernel: c.k };
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
      return {
        // At most ~8 MB: a joined line of megabytes, not a string past V8's limit.
        target: 'explain', text: (c.repeat ?? 1) > 1 ? (text + c.sep).repeat(Math.max(1, Math.min(c.repeat!, Math.floor(8e6 / (text.length + c.sep.length + 1))))) : text,
        base: corpus.baseKeys.find((k) => k !== 'small') ?? 'small',
        chunk: c.chunk, maxLine: c.maxLine, kernel: c.k,
      };
    }
    case 'archive':
      return { target: 'archive', base: 'small', kernel: c.k, kind: c.kind, ...buildArchive(c, corpus) };
    case 'bomb': {
      const bytes = buildBomb(c, corpus);
      if (c.as === 'module') return { target: 'module', bytes, fileName: 'bomb.ko', base: 'small', budgetMs: BOMB_BUDGET_MS };
      return { target: 'base', bytes, base: 'small', abi: false, budgetMs: BOMB_BUDGET_MS };
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
      if (c.fname) yield { ...c, fname: undefined };
      yield* shrinkKernel(c);
      for (const outer of dropEach(c.outer)) yield { ...c, outer };
      for (const ops of dropEach(c.ops)) if (ops.length) yield { ...c, ops };
      break;
    case 'file': case 'base':
      yield* shrinkKernel(c);
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
      if (c.fname) yield { ...c, fname: undefined };
      if (c.mname) yield { ...c, mname: undefined };
      yield* shrinkKernel(c);
      if (s.layout) yield { ...c, spec: { ...s, layout: null } };
      if (s.chain && s.chain.length > 1) yield { ...c, spec: { ...s, chain: { ...s.chain, length: Math.ceil(s.chain.length / 2) } } };
      if (s.chain) yield { ...c, spec: { ...s, chain: null } };
      if (Object.keys(s.header).length) yield { ...c, spec: { ...s, header: {} } };
      for (const types of dropEach(s.types)) yield { ...c, spec: { ...s, types } };
      for (const strings of dropEach(s.strings)) yield { ...c, spec: { ...s, strings } };
      if (s.unterminated.length) yield { ...c, spec: { ...s, unterminated: [] } };
      break;
    }
    case 'explain':
      if ((c.repeat ?? 1) > 1) yield { ...c, repeat: 1 };
      if (c.k) yield { ...c, k: undefined };
      for (const lines of dropEach(c.lines)) yield { ...c, lines };
      break;
    case 'archive':
      for (const ops of dropEach(c.ops)) yield { ...c, ops };
      for (const members of dropEach(c.members)) yield { ...c, members };
      if (c.image) yield { ...c, image: false };
      if (c.compression !== 'none') yield { ...c, compression: 'none' };
      break;
    case 'bomb':
      for (const parts of dropEach(c.parts)) if (parts.length) yield { ...c, parts };
      if (c.wrap !== 'file') yield { ...c, wrap: 'file' };
      for (let i = 0; i < c.parts.length; i++) {
        if (c.parts[i].mib > 1) yield { ...c, parts: c.parts.map((p, j) => (j === i ? { ...p, mib: 1 } : p)) };
      }
      break;
    case 'stamp':
      for (const plants of dropEach(c.plants)) yield { ...c, plants };
      if (c.fname) yield { ...c, fname: undefined };
      if (c.xattr) yield { ...c, xattr: false };
      if (c.owner) yield { ...c, owner: 0 };
      if (c.container !== 'none') yield { ...c, container: 'none' };
      for (const ops of dropEach(c.ops)) yield { ...c, ops };
      break;
    case 'tree':
      for (const entries of dropEach(c.entries)) if (entries.length) yield { ...c, entries };
      for (let i = 0; i < c.entries.length; i++) {
        const e = c.entries[i];
        const at = (x: TreeEntry) => c.entries.map((y, j) => (j === i ? x : y));
        if (e.dirs.length) yield { ...c, entries: at({ ...e, dirs: e.dirs.slice(1) }) };
        if (e.container !== 'none') yield { ...c, entries: at({ ...e, container: 'none' }) };
        if (e.name.length > 1) yield { ...c, entries: at({ ...e, name: e.name.slice(0, Math.ceil(e.name.length / 2)) }) };
      }
      break;
  }
}

/** The picked kernel: without its --rule switches, then the plain 6.12 without ALLOW_BTF_MISMATCH. */
function* shrinkKernel<C extends { k?: KernelPick }>(c: C): Generator<C> {
  if (!c.k) return;
  if (c.k.rules.length) yield { ...c, k: { ...c.k, rules: [] } };
  if (c.k.version !== '6.12' || c.k.allow) yield { ...c, k: { version: '6.12', rules: [], allow: false } };
}
