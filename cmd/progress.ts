/** A progress bar on stderr, shown only when stderr is a terminal (never in CI logs or pipes). */
export class Progress {
  private count = 0;
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(private readonly total: number, allowed: boolean) {
    this.enabled = allowed && total > 1 && process.stderr.isTTY === true;
  }

  tick(): void {
    this.count++;
    if (!this.enabled) return;
    const now = Date.now();
    // Redraw at most every 50 ms: drawing per module would cost more than checking it.
    if (now - this.lastDraw < 50 && this.count < this.total) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round((this.count / this.total) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.count}/${this.total} modules`);
  }

  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}
