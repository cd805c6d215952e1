/** Only the kernel's lines, in load order, as dmesg shows them (without timestamps). */
import { escapeTerminal } from './escape.js';
import { CheckReport } from './model.js';

export function renderDmesg(report: CheckReport): string {
  let out = '';
  // Control characters escaped as util-linux dmesg does; the kernel's own TABs kept.
  for (const r of report.modules) for (const line of r.kernel?.log ?? []) out += escapeTerminal(line, { keepTab: true }) + '\n';
  return out;
}
