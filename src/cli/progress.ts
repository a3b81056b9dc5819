// A one-line progress bar on stderr, so stdout stays clean for tables and --json.

export interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): boolean;
}

const SPINNER = ['|', '/', '-', '\\'];

/** The bar's text for `done` of `total`, e.g. `[#######.............]  35% 140/400 layouts`. */
export function progressLine(done: number, total: number, width = 30, unit = 'layouts'): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * width);
  const percent = `${Math.round(fraction * 100)}%`.padStart(4);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent} ${done}/${total} ${unit}`;
}

/** While the total is unknown: a spinner, the count so far and the time taken. */
export function runningLine(tick: number, done: number, seconds: number): string {
  const count = done > 0 ? ` ${done} layouts planned,` : '';
  return `${SPINNER[tick % SPINNER.length]} searching...${count} ${seconds.toFixed(1)} s`;
}

export class ProgressBar {
  private tick = 0;
  private lastDrawnAt = 0;
  private readonly startedAt: number;

  constructor(
    private readonly stream: ProgressStream,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  /** Redraws in place on a terminal at most every 100 ms; elsewhere prints only the final bar. */
  update(done: number, total?: number): void {
    const finished = total !== undefined;
    if (!this.stream.isTTY) {
      if (finished) this.stream.write(`${progressLine(done, total)}\n`);
      return;
    }
    const now = this.now();
    if (!finished && now - this.lastDrawnAt < 100) return;
    this.lastDrawnAt = now;
    const line = finished
      ? progressLine(done, total)
      : runningLine(this.tick++, done, (now - this.startedAt) / 1000);
    this.stream.write(`\r\x1b[2K${line}`);
  }

  /** Ends the bar's line on a terminal so what follows starts on a fresh one. */
  finish(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}
