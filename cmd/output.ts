/** Picks the renderer for --format. */
import { CheckReport, toJson } from '../lib/report/model.js';
import { renderDmesg } from '../lib/report/dmesg.js';
import { renderJunit } from '../lib/report/junit.js';
import { renderText, TextOptions } from '../lib/report/text.js';

export const OUTPUT_FORMATS = ['text', 'dmesg', 'json', 'junit'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function renderOutput(report: CheckReport, format: OutputFormat, opts: TextOptions = {}): string {
  switch (format) {
    case 'json': return toJson(report);
    case 'dmesg': return renderDmesg(report);
    case 'junit': return renderJunit(report);
    default: return renderText(report, opts);
  }
}
