/** Only the kernel's lines, in load order, as dmesg shows them (without timestamps). */
import { CheckReport } from './model.js';

export function renderDmesg(report: CheckReport): string {
  let out = '';
  for (const r of report.modules) for (const line of r.kernel?.log ?? []) out += line + '\n';
  return out;
}
