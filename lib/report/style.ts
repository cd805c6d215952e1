/**
 * Text for a terminal: colour (SGR sequences, only when the caller asks: cmd/output.ts decides from
 * the terminal, NO_COLOR and FORCE_COLOR) and prose wrapped to the terminal's width. Input strings
 * are escaped before they get here (./escape.ts), so every escape sequence in the output is ours.
 */
const SGR = /\x1b\[[0-9;]*m/g;

type Colour = 'red' | 'green' | 'yellow';
const CODES: Record<Colour | 'bold' | 'dim', string> = { red: '31', green: '32', yellow: '33', bold: '1', dim: '2' };

export class Style {
  constructor(readonly on: boolean) {}

  /** `s` without colour. */
  static strip(s: string): string {
    return s.replace(SGR, '');
  }

  private paint(code: string, s: string): string {
    return this.on && s ? `\x1b[${code}m${s}\x1b[0m` : s;
  }

  bold = (s: string): string => this.paint(CODES.bold, s);
  dim = (s: string): string => this.paint(CODES.dim, s);
  red = (s: string): string => this.paint(CODES.red, s);
  green = (s: string): string => this.paint(CODES.green, s);
  yellow = (s: string): string => this.paint(CODES.yellow, s);

  /** A module's verdict label: problems in bold red or yellow, ok in green, the rest dim. */
  status(status: string, s: string): string {
    switch (status) {
      case 'rejected': case 'error': return this.paint(`${CODES.bold};${CODES.red}`, s);
      case 'mismatch': return this.paint(`${CODES.bold};${CODES.yellow}`, s);
      case 'accepted': return this.green(s);
      default: return this.dim(s);
    }
  }

  severity(severity: string, s: string): string {
    return severity === 'error' ? this.red(s) : severity === 'warning' ? this.yellow(s) : this.dim(s);
  }

  /** A count in the summary: coloured only when it is not zero. */
  count(n: number, colour: Colour, s: string): string {
    return n > 0 ? this.paint(CODES[colour], s) : s;
  }
}

export function styleFor(on: boolean | undefined): Style {
  return new Style(on === true);
}

/** Columns a string takes on a terminal, colour sequences aside (one per UTF-16 unit: close enough here). */
export function visibleLength(s: string): number {
  return Style.strip(s).length;
}

/**
 * `indent` + `label` + `text`, wrapped at spaces to `width` columns (none given: one line) with the
 * continuation lines under the text (under the indent + 2 after a long label). A word longer than
 * a line (a path) stays whole.
 */
export function paragraph(indent: string, label: string, text: string, width?: number, labelStyle: (s: string) => string = (s) => s): string[] {
  const head = indent + (label ? labelStyle(label) : '');
  const start = indent.length + visibleLength(label);
  if (!width || start + visibleLength(text) <= width) return [head + text];
  const hang = indent + ' '.repeat(visibleLength(label) > 24 ? 2 : visibleLength(label));
  const lines: string[] = [];
  let line = head;
  let used = start;
  let empty = true;
  for (const word of text.split(' ')) {
    const w = visibleLength(word);
    if (!empty && used + 1 + w > width) {
      lines.push(line);
      line = hang + word;
      used = hang.length + w;
      continue;
    }
    line += (empty ? '' : ' ') + word;
    used += (empty ? 0 : 1) + w;
    empty = false;
  }
  lines.push(line);
  return lines;
}
