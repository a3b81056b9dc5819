// A one-line progress bar on stderr, so stdout stays clean for tables and --json.

export interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): boolean;
}

/** The bar's text for `done` of `total`, e.g. `[#######.............]  35% 140/400 layouts`. */
export function progressLine(done: number, total: number, width = 30, unit = 'layouts'): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * width);
  const percent = `${Math.round(fraction * 100)}%`.padStart(4);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent} ${done}/${total} ${unit}`;
}

export class ProgressBar {
  private lastDrawn = -1;

  constructor(
    private readonly stream: ProgressStream,
    private readonly unit = 'layouts',
  ) {}

  /** Redraws in place on a terminal; elsewhere prints at most every 10%, so logs stay short. */
  update(done: number, total: number): void {
    const tenth = total > 0 ? Math.floor((done / total) * 10) : 0;
    if (this.stream.isTTY) {
      this.stream.write(`\r${progressLine(done, total, 30, this.unit)}`);
    } else if (tenth !== this.lastDrawn) {
      this.stream.write(`${progressLine(done, total, 30, this.unit)}\n`);
    }
    this.lastDrawn = tenth;
  }

  /** Clears the bar's line on a terminal. */
  finish(): void {
    if (this.stream.isTTY) this.stream.write('\r\x1b[2K');
  }
}
