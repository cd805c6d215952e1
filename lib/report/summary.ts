/**
 * The tree-scan summary: counts by status, the most common first failing kernel message, and the
 * modules grouped by cause. Messages are compared with numbers masked, so
 * `[94979] Invalid name_offset:1694074` and `[95012] Invalid name_offset:1694101` count as one.
 */
import { ModuleResult } from '../check.js';
import { explainLog } from '../explain/index.js';
import { noun } from './plural.js';
import { paragraph, styleFor } from './style.js';

export interface SummaryTable {
  byStatus: Record<string, number>;
  /**
   * The kernel's message for each rejected module (what failed, not the type header before it:
   * `member: Invalid name`), numbers masked, most common first, with one module's line as example.
   */
  firstMessages: { message: string; count: number; example: string }[];
  /** Modules per cause id (explanation.cause, or the status when there is none). */
  byCause: { cause: string; count: number; modules: string[] }[];
}

export function maskNumbers(line: string): string {
  return line.replace(/\d+/g, 'N');
}

export function summaryTable(results: ModuleResult[]): SummaryTable {
  const byStatus: Record<string, number> = {};
  const messages = new Map<string, { count: number; example: string }>();
  const causes = new Map<string, string[]>();
  for (const r of results) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    if (r.status === 'rejected') {
      const { key, example } = failingMessage(r);
      const entry = messages.get(key) ?? { count: 0, example };
      entry.count++;
      messages.set(key, entry);
    }
    if (r.status === 'rejected' || r.status === 'mismatch' || r.status === 'error') {
      const cause = r.explanation?.cause ?? r.status;
      const list = causes.get(cause) ?? [];
      list.push(r.module ?? r.file);
      causes.set(cause, list);
    }
  }
  return {
    byStatus,
    firstMessages: [...messages].map(([message, v]) => ({ message, ...v })).sort((a, b) => b.count - a.count || a.message.localeCompare(b.message)),
    byCause: [...causes].map(([cause, modules]) => ({ cause, count: modules.length, modules })).sort((a, b) => b.count - a.count),
  };
}

/** What the kernel complained about, as explain reads it from the module's lines. */
function failingMessage(r: ModuleResult): { key: string; example: string } {
  const log = r.kernel?.log ?? [];
  const failure = log.some((l) => l.startsWith('BPF:')) ? explainLog(log.join('\n'))[0] : undefined;
  const name = r.module ?? r.file;
  if (!failure) {
    const last = log[log.length - 1];
    return { key: 'none: rejected without a BPF: line', example: `${name}: ${last ?? '(no kernel line)'}` };
  }
  const key = `${failure.kind}: ${maskNumbers(failure.message ?? '(no message)')}`;
  const typeLine = log.find((l) => l.startsWith('BPF:') && l.trim() !== 'BPF:') ?? '';
  return { key, example: `${name}: ${typeLine.replace(/\t/g, '\\t')}` };
}

export interface SummaryTableOptions {
  /** Colour the headings (a terminal). */
  color?: boolean;
  /** Wrap the rows to this many columns. */
  width?: number;
}

export function renderSummaryTable(t: SummaryTable, maxRows = 5, maxNames = 8, opts: SummaryTableOptions = {}): string {
  const st = styleFor(opts.color);
  const row = (count: number, text: string): string => paragraph('', `  ${String(count).padStart(6)}  `, text, opts.width).join('\n') + '\n';
  let out = `${st.bold('by status:')}\n`;
  for (const [status, count] of Object.entries(t.byStatus).sort((a, b) => b[1] - a[1])) out += row(count, status);
  if (t.firstMessages.length) {
    out += `${st.bold(`most common kernel ${noun(t.firstMessages.length, 'message')} of rejected modules:`)}\n`;
    for (const m of t.firstMessages.slice(0, maxRows)) out += row(m.count, `${m.message}   (e.g. ${m.example})`);
  }
  if (t.byCause.length) {
    out += `${st.bold('modules by cause:')}\n`;
    for (const c of t.byCause.slice(0, maxRows)) {
      const names = c.modules.slice(0, maxNames).join(' ') + (c.modules.length > maxNames ? ` (+${c.modules.length - maxNames} more)` : '');
      out += row(c.count, `${c.cause}: ${names}`);
    }
  }
  return out;
}
