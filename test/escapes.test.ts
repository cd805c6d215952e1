/**
 * Terminal output (issue 12, item 6): control characters in file names, BTF names and pasted
 * log text are printed as `\xNN` in every text format and on stderr, so no input can move the
 * cursor, set the title or forge a `btfcheck:` line; JSON stays JSON; JUnit stays well-formed XML.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateXML } from 'xmllint-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeStrings, escapeTerminal } from '../lib/report/escape.js';
import { renderJunit } from '../lib/report/junit.js';
import { summarize } from '../lib/check.js';
import type { ModuleResult } from '../lib/check.js';
import type { CheckReport } from '../lib/report/model.js';
import { BtfBuilder, smallBase } from './helpers/btf-builder.js';
import { buildElf, thisModule } from './helpers/elf-builder.js';
import { runCli } from './helpers/cli.js';

const ESC_TITLE = '\x1b]0;pwned\x07';
const CLEAR = '\x1b[2J';

/** Nothing a terminal acts on: C0 but TAB and LF (between lines), DEL, C1 (raw or as UTF-8). */
function expectInert(out: string): void {
  // runCli decodes as latin1: C1 sent as UTF-8 shows up as \xc2 followed by 0x80..0x9f.
  expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  expect(out).not.toMatch(/\xc2[\x80-\x9f]/);
}

describe('escapeTerminal', () => {
  it('writes controls as \\xNN and leaves text, backslashes and emoji alone', () => {
    expect(escapeTerminal(`a${ESC_TITLE}b`)).toBe('a\\x1b]0;pwned\\x07b');
    expect(escapeTerminal('line\nbtfcheck: forged\r')).toBe('line\\x0abtfcheck: forged\\x0d');
    expect(escapeTerminal('del\x7f c1\u009b[2J nel\u0085')).toBe('del\\x7f c1\\xc2\\x9b[2J nel\\xc2\\x85');
    expect(escapeTerminal('tab\there')).toBe('tab\\x09here');
    expect(escapeTerminal('tab\there', { keepTab: true })).toBe('tab\there');
    expect(escapeTerminal('relea\\x82ed é 😀 ✓')).toBe('relea\\x82ed é 😀 ✓');
  });
  it('file-name bytes (U+DC80..U+DCFF) as the byte, other lone surrogates and U+FFFE/U+FFFF as \\uXXXX', () => {
    expect(escapeTerminal('bad\udcff.ko')).toBe('bad\\xff.ko');
    expect(escapeTerminal('x\ud800y\udfffz')).toBe('x\\ud800y\\udfffz');
    expect(escapeTerminal('x\ufffe\uffff')).toBe('x\\ufffe\\uffff');
  });
  it('escapeStrings: every string of a report, TABs kept in log lines only', () => {
    const r = { file: 'a\tb', kernel: { log: ['BPF:\tx\x1b'], errno: -22 }, findings: [{ message: 'm\n' }], n: 1n };
    expect(escapeStrings(r)).toEqual({ file: 'a\\x09b', kernel: { log: ['BPF:\tx\\x1b'], errno: -22 }, findings: [{ message: 'm\\x0a' }], n: 1n });
    const clean = { a: ['x'], b: { c: 'y' } };
    expect(escapeStrings(clean)).toBe(clean);
  });
});

let dir: string;
let base: string;
let evil: string;
let forged: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-esc-'));
  const { builder } = smallBase();
  base = path.join(dir, 'base.btf');
  fs.writeFileSync(base, builder.build());
  // A module whose struct name and module name carry escape sequences: the kernel prints both.
  const split = BtfBuilder.splitOf(builder);
  split.struct(`${ESC_TITLE}${CLEAR}`, 4, []);
  const ko = buildElf({ sections: [{ name: '.BTF', data: split.build() }, { name: '.gnu.linkonce.this_module', data: thisModule(`ev\x1b[1Ail`) }] });
  evil = path.join(dir, `evil${ESC_TITLE}.ko`);
  fs.writeFileSync(evil, ko);
  // A broken file whose name holds a newline and a fake error line.
  forged = path.join(dir, 'x\nbtfcheck: all modules fine\n.ko');
  fs.writeFileSync(forged, 'not a module');
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the command line', () => {
  it('check text: names, kernel lines and errors escaped; the forged line stays inside one line', () => {
    const r = runCli(['check', '-b', base, '-k', '6.1', evil, forged]);
    expect(r.status).toBe(2);
    expectInert(r.stdout);
    expectInert(r.stderr);
    expect(r.stdout).toContain('REJECTED ev\\x1b[1Ail');
    expect(r.stdout).toContain('STRUCT \\x1b]0;pwned\\x07\\x1b[2J');
    expect(r.stdout).toContain(`(${dir}/evil\\x1b]0;pwned\\x07.ko)`);
    const err = r.stderr.split('\n').filter(Boolean);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^btfcheck: .*\/x\\x0abtfcheck: all modules fine\\x0a\.ko: /);
  });

  it('check dmesg: the kernel lines keep their TABs, controls escaped', () => {
    const r = runCli(['check', '-b', base, '-k', '6.1', '-f', 'dmesg', evil]);
    expect(r.status).toBe(1);
    expectInert(r.stdout);
    expect(r.stdout).toContain('STRUCT \\x1b]0;pwned\\x07\\x1b[2J');
    expect(r.stdout).toContain('failed to validate module [ev\\x1b[1Ail] BTF: -22');
  });

  it('a module name holding a newline stays in its one kernel line: escaped in text and dmesg, one record in JSON', () => {
    const { builder } = smallBase();
    const split = BtfBuilder.splitOf(builder);
    split.struct('not a name', 4, []); // Invalid name: rejected
    const ko = path.join(dir, 'nl-name.ko');
    fs.writeFileSync(ko, buildElf({ sections: [{ name: '.BTF', data: split.build() }, { name: '.gnu.linkonce.this_module', data: thisModule('m\nbtfcheck: x.ko: accepted') }] }));
    const other = base;
    for (const format of ['text', 'dmesg']) {
      const r = runCli(['check', '-b', other, '-k', '7.2', '-f', format, ko]);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('failed to validate module [m\\x0abtfcheck: x.ko: accepted] BTF: -22');
      expect(r.stdout.split('\n').filter((l) => l.startsWith('btfcheck: '))).toEqual([]);
    }
    const j = runCli(['check', '-b', other, '-k', '7.2', '-f', 'json', ko], { encoding: 'utf8' });
    const log: string[] = JSON.parse(j.stdout).modules[0].kernel.log;
    expect(log[log.length - 1]).toBe('failed to validate module [m\nbtfcheck: x.ko: accepted] BTF: -22');
  });

  it('raw split BTF: the kernel line names it by its file name\'s bytes (UTF-8 as text, other bytes as \\xNN)', () => {
    const { builder } = smallBase();
    const split = BtfBuilder.splitOf(builder);
    split.struct('not a name', 4, []);
    const other = base;
    const sub = path.join(dir, 'names');
    fs.mkdirSync(sub);
    fs.writeFileSync(Buffer.concat([Buffer.from(sub + '/3-\u00fcx'), Buffer.from([0xff]), Buffer.from('.ko')]), split.build());
    const j = runCli(['check', '-b', other, '-k', '7.2', '-f', 'json', sub], { encoding: 'utf8' });
    const m = JSON.parse(j.stdout).modules[0];
    expect(m.module).toBe('3_\u00fcx\\xff');
    expect(m.kernel.log[m.kernel.log.length - 1]).toBe('failed to validate module [3_\u00fcx\\xff] BTF: -22');
    const t = runCli(['check', '-b', other, '-k', '7.2', '-f', 'dmesg', sub], { encoding: 'utf8' });
    expect(t.stdout).toContain('failed to validate module [3_\u00fcx\\xff] BTF: -22');
  });

  it('check json: still JSON, the strings unchanged', () => {
    const r = runCli(['check', '-b', base, '-k', '6.1', '-f', 'json', evil], { encoding: 'utf8' });
    expectInert(r.stdout);
    const doc = JSON.parse(r.stdout);
    expect(doc.modules[0].file).toBe(evil);
    expect(doc.modules[0].module).toBe('ev\x1b[1Ail');
  });

  it('check junit: well-formed and valid with U+FFFE, non-UTF-8 bytes and controls in names', async () => {
    const fffe = path.join(dir, 'odd\ufffe.ko');
    fs.copyFileSync(evil, fffe);
    const bad = Buffer.concat([Buffer.from(dir + '/bad'), Buffer.from([0xff, 0xfe]), Buffer.from('.ko')]);
    fs.copyFileSync(evil, bad);
    const r = runCli(['check', '-b', base, '-k', '6.1', '-f', 'junit', dir], { encoding: 'utf8' });
    expect(r.status).toBe(2); // the forged file does not parse
    const xml = r.stdout;
    expect(xml).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ufffd]/);
    expect(xml).toContain('odd\\ufffe.ko');
    expect(xml).toContain('bad\\xff\\xfe.ko');
    const schema = fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'junit.xsd'), 'utf8');
    const res = await validateXML({ xml: [{ fileName: 'r.xml', contents: xml }], schema: [{ fileName: 'junit.xsd', contents: schema }] });
    expect(res.errors).toEqual([]);
    expect(res.valid).toBe(true);
  });

  it('explain text: pasted log text escaped; json keeps it', () => {
    const log = path.join(dir, 'paste.log');
    fs.writeFileSync(log, `BPF: [5] STRUCT ${ESC_TITLE}\nBPF: Invalid name\u009b2J\nfailed to validate module [m${CLEAR}] BTF: -22\n`);
    const r = runCli(['explain', log]);
    expect(r.status).toBe(0);
    expectInert(r.stdout);
    expect(r.stdout).toContain('\\x1b]0;pwned\\x07');
    const j = runCli(['explain', log, '-f', 'json'], { encoding: 'utf8' });
    expectInert(j.stdout);
    expect(JSON.stringify(JSON.parse(j.stdout))).toContain('\\u001b]0;pwned');
  });

  it('fingerprint, stamp and abi text: file names escaped', () => {
    const b2 = path.join(dir, `b${CLEAR}.btf`);
    fs.copyFileSync(base, b2);
    const f = runCli(['fingerprint', b2]);
    expect(f.status).toBe(0);
    expectInert(f.stdout);
    expect(f.stdout).toContain('b\\x1b[2J.btf');
    const s = runCli(['stamp', '-b', b2, '--force', evil]);
    expectInert(s.stdout);
    expectInert(s.stderr);
    expect(s.stdout + s.stderr).toContain('evil\\x1b]0;pwned\\x07.ko');
    const a = runCli(['abi', '--old', b2, '--new', base, '-k', '6.1', '--new-modules', evil]);
    expectInert(a.stdout);
    expect(a.stdout).toContain('b\\x1b[2J.btf');
  });

  it('usage errors quote arguments escaped', () => {
    const r = runCli(['bogus', ESC_TITLE]);
    expect(r.status).toBe(2);
    expectInert(r.stderr);
    expect(r.stderr).toContain('\\x1b]0;pwned\\x07');
  });
});

describe('renderJunit', () => {
  it('a lone surrogate and U+FFFF in a kernel line and a finding stay out of the XML', async () => {
    const m: ModuleResult = {
      file: 'm\udcff.ko', module: 'm\uffff', status: 'rejected', error: null, inferredBase: null, checksum: null, explanation: null,
      kernel: { accepted: false, errno: -22, loads: true, log: ['BPF:\t[1] STRUCT \ud800x\n'] },
      findings: [{ rule: 'r', severity: 'error', typeId: 1, message: 'bad \ufffe name' }],
    } as unknown as ModuleResult;
    const report: CheckReport = {
      base: { file: 'b', types: 1, strLen: 1, sha256: '0'.repeat(64) }, kernel: { version: '6.1', allowBtfMismatch: false },
      modules: [m], summary: summarize([m]),
    };
    const xml = renderJunit(report);
    expect(xml).toContain('BPF:\t[1] STRUCT \\ud800x\\x0a\nerror r: bad \\ufffe name');
    const schema = fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'junit.xsd'), 'utf8');
    const res = await validateXML({ xml: [{ fileName: 'r.xml', contents: xml }], schema: [{ fileName: 'junit.xsd', contents: schema }] });
    expect(res.valid).toBe(true);
  });
});
