/**
 * `explain` on huge and hostile logs (issue 12 item 5): the log is read as a stream (a file or
 * stdin), a line is read up to --max-line-length (longer ones cut, and said so), at most
 * --max-failures distinct failures are listed (repeats counted into their entry, the rest counted),
 * so memory and output stay bounded whatever the input. Before: a 100 MB log took 1.3 GiB, 1M
 * `BPF:` lines 4.5 GiB, a joined line's output grew with the square of its length (16 KiB in,
 * 16 MB out; 47 MiB: V8 out of memory), and logs over 64 MiB were refused.
 *
 * Each run is measured by GNU time: peak RSS (≤ 512 MiB) and CPU time (user + system, < 5 s) —
 * CPU time rather than wall time, which on a busy two-CPU machine says more about the other
 * jobs than about explain.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_MAX_LINE_BYTES, explainLogResult, LogExplainer, LogReader } from '../lib/explain/index.js';
import { cliPath, repoRoot } from './helpers/cli.js';

vi.setConfig({ testTimeout: 120_000 });

const HAS_GNU_TIME = fs.existsSync('/usr/bin/time');
const MARK = '@@explain-limits ';
const RSS_LIMIT_KB = 512 * 1024;
const CPU_LIMIT_S = 5;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  rssKb: number | null;
  cpuS: number | null;
  outBytes: number;
}

/** The built CLI under GNU time; `input`: a file piped to stdin. */
function run(args: string[], input?: string): Run {
  const cmd = HAS_GNU_TIME ? '/usr/bin/time' : process.execPath;
  const argv = HAS_GNU_TIME ? ['-f', `${MARK}%M %U %S`, process.execPath, cliPath, ...args] : [cliPath, ...args];
  const r = spawnSync(cmd, argv, {
    cwd: repoRoot, encoding: 'latin1', timeout: 120_000, maxBuffer: 512 << 20,
    stdio: [input ? fs.openSync(input, 'r') : 'ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = String(r.stderr ?? '');
  let rssKb: number | null = null;
  let cpuS: number | null = null;
  const at = stderr.lastIndexOf(MARK);
  if (at >= 0) {
    const [rss, user, sys] = stderr.slice(at + MARK.length).trim().split(/\s+/).map(Number);
    rssKb = rss;
    cpuS = user + sys;
    stderr = stderr.slice(0, at).replace(/^Command exited with non-zero status \d+\n/m, '');
  }
  const stdout = String(r.stdout ?? '');
  return { status: r.status, stdout, stderr, rssKb, cpuS, outBytes: Buffer.byteLength(stdout, 'latin1') };
}

/** Exit 0/1/2, no crash, bounded memory and CPU. */
function expectBounded(r: Run, what: string): void {
  expect([0, 1, 2], `${what}: exit ${r.status}\n${r.stderr.slice(0, 500)}`).toContain(r.status);
  expect(r.stderr, what).not.toMatch(/heap out of memory|RangeError|\n\s+at /);
  if (r.rssKb !== null) expect(r.rssKb, `${what}: peak RSS ${r.rssKb} KiB`).toBeLessThanOrEqual(RSS_LIMIT_KB);
  if (r.cpuS !== null) expect(r.cpuS, `${what}: CPU ${r.cpuS} s`).toBeLessThan(CPU_LIMIT_S);
}

/** Writes `count` lines from `line(i)` to a file, in blocks. */
function writeLines(file: string, count: number, line: (i: number) => string): number {
  const fd = fs.openSync(file, 'w');
  let bytes = 0;
  let block: string[] = [];
  for (let i = 0; i < count; i++) {
    block.push(line(i));
    if (block.length === 20000 || i === count - 1) {
      const text = block.join('\n') + '\n';
      fs.writeSync(fd, text);
      bytes += Buffer.byteLength(text);
      block = [];
    }
  }
  fs.closeSync(fd);
  return bytes;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-explain-limits-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const measured: string[] = [];
afterAll(() => {
  // The figures the README quotes.
  if (measured.length) console.log(`explain limits:\n  ${measured.join('\n  ')}`);
});
function note(what: string, inBytes: number, r: Run): void {
  measured.push(`${what}: ${(inBytes / 2 ** 20).toFixed(1)} MiB in, ${r.outBytes} bytes out, exit ${r.status}, RSS ${r.rssKb ?? '?'} KiB, CPU ${r.cpuS?.toFixed(2) ?? '?'} s`);
}

describe('explain reads any log in bounded memory, output proportional to its input', () => {
  const joined = path.join(tmp, 'joined-47MiB.log');
  const big = path.join(tmp, 'dmesg-100MB.log');
  const bpf = path.join(tmp, 'bpf-1M.log');
  const starters = path.join(tmp, 'bpf-1M-distinct.log');
  const quiet = path.join(tmp, 'quiet-100MB.log');
  let joinedBytes = 0;
  let bigBytes = 0;
  let bpfBytes = 0;
  let startersBytes = 0;
  let quietBytes = 0;
  let bigFailures = 0;

  beforeAll(() => {
    // A whole failure log joined into one 47 MiB line, as a mail client or forum might.
    const rec = 'BPF:[103111] STRUCT BPF:size=152 vlen=2 BPF: BPF:Invalid name BPF: failed to validate module [ipheth] BTF: -22 ';
    const fd = fs.openSync(joined, 'w');
    const chunk = rec.repeat(Math.ceil((1 << 20) / rec.length));
    while (joinedBytes < 47 * 2 ** 20) {
      fs.writeSync(fd, chunk);
      joinedBytes += chunk.length;
    }
    fs.writeSync(fd, '\n');
    fs.closeSync(fd);
    joinedBytes += 1;

    // 100 MB of dmesg: noise, and every 40th line starts a five-line failure of one of 30,000 modules.
    const noise = (i: number) => `[${(i / 1000).toFixed(6).padStart(12)}] usb 1-1: new high-speed USB device number ${i % 128} using xhci_hcd, and more of what a long boot prints`;
    let lines = 0;
    const fdBig = fs.openSync(big, 'w');
    let block: string[] = [];
    while (bigBytes < 100e6) {
      const i = lines++;
      const ts = `[${(i / 1000).toFixed(6).padStart(12)}]`;
      if (i % 40 === 0) {
        const m = `mod_${(i / 40) % 30000}`;
        block.push(`${ts} BPF: [${95000 + (i % 7)}] STRUCT `, `${ts} BPF: size=16 vlen=4`, `${ts} BPF:  `, `${ts} BPF: Invalid name`, `${ts} failed to validate module [${m}] BTF: -22`);
        bigFailures++;
      } else {
        block.push(noise(i));
      }
      if (block.length >= 20000) {
        const text = block.join('\n') + '\n';
        fs.writeSync(fdBig, text);
        bigBytes += text.length;
        block = [];
      }
    }
    const text = block.join('\n') + '\n';
    fs.writeSync(fdBig, text);
    bigBytes += text.length;
    fs.closeSync(fdBig);

    // 1M BPF: lines: 250,000 failures of 100,000 modules (four BPF: lines and a closing line each).
    bpfBytes = writeLines(bpf, 1_250_000, (i) => {
      const k = Math.floor(i / 5);
      const m = k % 100000;
      return [`BPF: [${94000 + (m % 977)}] STRUCT name_${m % 977}`, 'BPF: size=8 vlen=1', 'BPF:  ', 'BPF: Invalid name', `failed to validate module [m${m}] BTF: -22`][i % 5];
    });
    // 1M BPF: lines, each starting a failure of its own (no closing lines at all).
    startersBytes = writeLines(starters, 1_000_000, (i) => `BPF: [${i}] STRUCT s${i}`);
    // 100 MB without a single failure.
    quietBytes = writeLines(quiet, 900_000, (i) => `${noise(i)} ${'.'.repeat(i % 7)}`);
  }, 120_000);

  it('a 47 MiB single joined line: cut at --max-line-length, said so, output a few KiB', () => {
    for (const format of ['text', 'json']) {
      const r = run(['explain', joined, '-f', format]);
      expectBounded(r, `joined ${format}`);
      note(`47 MiB joined line (${format})`, joinedBytes, r);
      expect(r.status).toBe(0);
      expect(r.outBytes).toBeLessThan(64 << 10);
      if (format === 'json') {
        const j = JSON.parse(r.stdout);
        expect(j.input).toMatchObject({ lines: 1, cutLines: 1, maxLineLength: DEFAULT_MAX_LINE_BYTES, cut: [{ line: 1, bytes: joinedBytes - 1 }] });
        // The part read holds hundreds of the same failure: one entry with a count.
        expect(j.failures.length).toBeLessThanOrEqual(2);
        expect(j.failures[0]).toMatchObject({ module: 'ipheth', kind: 'type', typeId: 103111, message: 'Invalid name' });
        expect(j.failures[0].count).toBeGreaterThan(500);
        expect(j.notes.join('\n')).toMatch(/1 line longer than --max-line-length 65536 bytes cut there \(line 1: \d+ bytes\)/);
      } else {
        expect(r.stdout).toMatch(/^ipheth: BTF rejected, errno -22 \(EINVAL\), \d+ times {2}\[log line 1\]/);
      }
    }
  }, 60_000);

  it('a 100 MB log, from a file and from stdin: over the former 64 MiB limit, every failure counted, at most --max-failures listed', () => {
    for (const [what, args, input] of [['file', ['explain', big, '-f', 'json'], undefined], ['stdin', ['explain', '-', '-f', 'json'], big]] as const) {
      const r = run([...args], input);
      expectBounded(r, `100 MB ${what}`);
      note(`100 MB dmesg (${what}, json)`, bigBytes, r);
      expect(r.status).toBe(0);
      expect(r.outBytes).toBeLessThan(bigBytes / 20);
      const j = JSON.parse(r.stdout);
      expect(j.input.bytes).toBe(bigBytes);
      expect(j.summary.occurrences).toBe(bigFailures);
      expect(j.summary.listed).toBe(1000);
      const listedCount = j.failures.reduce((n: number, f: { count: number }) => n + f.count, 0);
      expect(listedCount + j.summary.unlisted).toBe(bigFailures);
      expect(j.notes.join('\n')).toMatch(/more failures in the log not listed: over --max-failures 1000/);
    }
    const text = run(['explain', big]);
    expectBounded(text, '100 MB text');
    note('100 MB dmesg (text)', bigBytes, text);
    expect(text.outBytes).toBeLessThan(bigBytes / 20);
    expect(text.stdout.trimEnd().split('\n').pop()).toMatch(new RegExp(`^1000 failures \\(1000 modules, ${bigFailures} in the log, \\d+ not listed\\): 1000 base-mismatch$`));
  }, 120_000);

  it('1M BPF: lines: 250,000 failures of 100,000 modules, and 1M failures without closing lines', () => {
    const r = run(['explain', bpf, '-f', 'json']);
    expectBounded(r, '1M BPF lines');
    note('1M BPF: lines, 250k failures (json)', bpfBytes, r);
    expect(r.status).toBe(0);
    expect(r.outBytes).toBeLessThan(bpfBytes / 4);
    const j = JSON.parse(r.stdout);
    expect(j.summary.occurrences).toBe(250_000);
    expect(j.failures).toHaveLength(1000);
    // Modules m0..m999 come first and each fails again and again (250,000 / 100,000 times).
    expect(j.failures.slice(0, 3).map((f: { module: string; count: number }) => [f.module, f.count])).toEqual([['m0', 3], ['m1', 3], ['m2', 3]]);

    const s = run(['explain', starters]);
    expectBounded(s, '1M starters');
    note('1M BPF: lines, each a failure (text)', startersBytes, s);
    expect(s.status).toBe(0);
    expect(s.outBytes).toBeLessThan(startersBytes / 4);
    expect(s.stdout).toMatch(/1000000 in the log, 999000 not listed/);
  }, 120_000);

  it('100 MB without a failure: exit 1, one line, in bounded memory', () => {
    const r = run(['explain', quiet]);
    expectBounded(r, 'quiet');
    note('100 MB without failures', quietBytes, r);
    expect(r.status).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe(`${quiet}: no module BTF failures found (no "BPF:" or "failed to validate module" lines)`);
    expect(r.outBytes).toBeLessThan(4096);
  }, 60_000);

  it('the limits are options: --max-line-length and --max-failures, whole numbers ≥ 1', () => {
    const small = path.join(tmp, 'small.log');
    const long = `${'x'.repeat(300)} failed to validate module [late] BTF: -22`;
    fs.writeFileSync(small, [
      'BPF: [5] STRUCT a', 'BPF: Invalid name', 'failed to validate module [one] BTF: -22', long,
      'failed to validate module [two] BTF: -22', 'failed to validate module [three] BTF: -22',
    ].join('\n'));
    const j = JSON.parse(run(['explain', small, '--max-line-length', '200', '--max-failures', '2', '-f', 'json']).stdout);
    // The long line is cut before its marker: 'late' is not read.
    expect(j.failures.map((f: { module: string }) => f.module)).toEqual(['one', 'two']);
    expect(j.summary).toMatchObject({ listed: 2, occurrences: 3, unlisted: 1 });
    expect(j.input).toMatchObject({ maxLineLength: 200, maxFailures: 2, cutLines: 1, cut: [{ line: 4, bytes: long.length }] });
    for (const bad of [['--max-line-length', '0'], ['--max-line-length', '-5'], ['--max-failures', '0'], ['--max-failures', '1.5']]) {
      const r = run(['explain', small, ...bad]);
      expect(r.status, bad.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')[0]).toMatch(new RegExp(`^btfcheck: ${bad[0]} ${bad[1].replace('.', '\\.')}: .*whole number`));
    }
  }, 60_000);
});

describe('output proportional to the input: joined lines, repeats', () => {
  it('a joined line\'s output grows with its length, not its square (16 KiB in: was 16 MB out)', () => {
    // Distinct failures, so nothing is merged: every record is explained once, with its own text.
    let line = '';
    for (let i = 0; line.length < 16 << 10; i++) line += `BPF:[${90000 + i}] STRUCT s${i} BPF:size=8 vlen=1 BPF:Invalid name failed to validate module [m${i}] BTF: -22 `;
    const file = path.join(tmp, 'joined-16KiB.log');
    fs.writeFileSync(file, line + '\n');
    const r = run(['explain', file]);
    expectBounded(r, 'joined 16 KiB');
    expect(r.status).toBe(0);
    const failures = (r.stdout.match(/^m\d+: BTF rejected/gm) ?? []).length;
    expect(failures).toBeGreaterThan(150);
    // Each failure shows its own record, not the whole line again.
    for (const l of r.stdout.split('\n').filter((x) => x.startsWith('    | '))) expect(l.length).toBeLessThan(200);
    expect(r.outBytes).toBeLessThan(line.length * 40);
    const twice = path.join(tmp, 'joined-32KiB.log');
    fs.writeFileSync(twice, line + line.replace(/m(\d+)\]/g, 'n$1]') + '\n');
    const r2 = run(['explain', twice]);
    expect(r2.outBytes).toBeLessThan(r.outBytes * 2.2);
  });

  it('the same failure repeated a million times is one entry with its count', () => {
    const x = new LogExplainer();
    for (let i = 0; i < 1_000_000; i++) x.line(i % 2 ? 'failed to validate module [exfat] BTF: -22' : 'BPF: [96000] ENUM (anon) size=4 vlen=3', i + 1);
    const r = x.finish();
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatchObject({ module: 'exfat', count: 500_000, kind: 'type' });
    expect(r.failures[0].occurrences).toHaveLength(20);
    expect(r.occurrences).toBe(500_000);
  });

  it('a flood of BPF: lines without a failure start keeps a bounded part of them', () => {
    const lines = ['BPF: [7] STRUCT s', ...Array.from({ length: 100_000 }, (_v, i) => `BPF: size=${i} vlen=0`), 'BPF: Invalid name', 'failed to validate module [m] BTF: -22'];
    const [f] = explainLogResult(lines.join('\n')).failures;
    expect(f).toMatchObject({ module: 'm', typeId: 7, message: 'Invalid name', lineCount: lines.length, lastLine: lines.length });
    expect(f.log).toHaveLength(12);
    expect(f.details.length).toBeLessThanOrEqual(8);
  });
});

describe('LogReader: lines from chunks of bytes', () => {
  const text = 'noise\r\nBPF: [1] STRUCT a\nBPF: Invalid name\nfailed to validate module [caf\xc3\xa9\xff] BTF: -22\n\nlast BPF: line without newline';
  const expected: Array<[string, number]> = [['BPF: [1] STRUCT a', 2], ['BPF: Invalid name', 3], ['failed to validate module [café\\xff] BTF: -22', 4], ['last BPF: line without newline', 6]];

  it('any chunking gives the same lines, numbered, decoded (invalid bytes as \\xNN), CR dropped', () => {
    for (const size of [1, 2, 3, 7, 64, text.length]) {
      const got: Array<[string, number]> = [];
      const r = new LogReader((l, n) => got.push([l, n]));
      for (let i = 0; i < text.length; i += size) r.push(text.slice(i, i + size));
      r.end();
      expect(got, `chunks of ${size}`).toEqual(expected);
      expect(r.lines).toBe(6);
      expect(r.bytes).toBe(text.length);
      expect(r.cutCount).toBe(0);
    }
  });

  it('a line over the limit is cut, noted with its length, and the following lines keep their numbers', () => {
    const long = `${'BPF: [9] STRUCT a '.repeat(10)}failed to validate module [lost] BTF: -22`;
    for (const size of [5, 1000]) {
      const got: Array<[string, number]> = [];
      const r = new LogReader((l, n) => got.push([l, n]), 40);
      const all = `${long}\nBPF: Invalid name\n`;
      for (let i = 0; i < all.length; i += size) r.push(all.slice(i, i + size));
      r.end();
      expect(got).toEqual([[long.slice(0, 40), 1], ['BPF: Invalid name', 2]]);
      expect(r.cut).toEqual([{ line: 1, bytes: long.length }]);
    }
    expect(() => new LogReader(() => undefined, 0)).toThrow(RangeError);
  });
});
