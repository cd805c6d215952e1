/**
 * Text for a terminal. File names, BTF names and pasted log lines are input: an ESC in them could
 * move the cursor, clear the screen or set the window title, a newline could forge a line of
 * output (`btfcheck: ...`). Every text renderer passes what it prints through here, once.
 *
 * Escaped, as `\xNN` (util-linux dmesg's style, and how lib/kernel/text.ts shows invalid bytes):
 * C0 controls (TAB too, except in kernel log lines, where the kernel's own format has TABs),
 * DEL, C1 controls (as their UTF-8 bytes, `\xc2\x9b`), bytes of file names that are not UTF-8
 * (U+DC80..U+DCFF from lib/fsname.ts, as the byte itself), and — so the text stays valid UTF-8
 * and XML 1.0 — other lone surrogates and U+FFFE/U+FFFF (as `\uXXXX`). Backslashes are left
 * alone: kernel lines hold `\xNN` of their own, which must print as the kernel's text does.
 */
import { ESCAPED_BYTE_FIRST, ESCAPED_BYTE_LAST } from '../fsname.js';

const UNSAFE = /[\x00-\x1f\x7f-\x9f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const UNSAFE_KEEP_TAB = /[\x00-\x08\x0a-\x1f\x7f-\x9f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const hex2 = (n: number): string => '\\x' + n.toString(16).padStart(2, '0');

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  if (code < 0x80) return hex2(code);
  if (code <= 0x9f) return hex2(0xc2) + hex2(code);
  if (code >= ESCAPED_BYTE_FIRST && code <= ESCAPED_BYTE_LAST) return hex2(code - ESCAPED_BYTE_FIRST + 0x80);
  return '\\u' + code.toString(16).padStart(4, '0');
}

export interface EscapeOptions {
  /** Keep TAB (kernel log lines: the kernel prints `\t` in its own formats). */
  keepTab?: boolean;
}

/** `s` with every character a terminal would act on written as `\xNN`. */
export function escapeTerminal(s: string, opts: EscapeOptions = {}): string {
  const re = opts.keepTab ? UNSAFE_KEEP_TAB : UNSAFE;
  re.lastIndex = 0;
  // Most strings are clean: test first, so they are returned without a copy.
  if (!re.test(s)) return s;
  re.lastIndex = 0;
  return s.replace(re, escapeChar);
}

/**
 * A copy of a report (plain objects and arrays) with every string escaped for a terminal;
 * strings in an array under a key named `log` (kernel lines, pasted log lines) keep their TABs.
 * Renderers call this once on what they print, so no field can be forgotten.
 */
export function escapeStrings<T>(value: T): T {
  return walk(value, false) as T;
}

function walk(value: unknown, inLog: boolean): unknown {
  if (typeof value === 'string') return escapeTerminal(value, { keepTab: inLog });
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = walk(value[i], inLog);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  if (value !== null && typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    // Class instances (a Btf, a Map) are not report data; leave them as they are.
    if (proto !== Object.prototype && proto !== null) return value;
    let out: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(value)) {
      const w = walk(v, k === 'log' && Array.isArray(v));
      if (w !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = w;
    }
    return out ?? value;
  }
  return value;
}
