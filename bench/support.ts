// What the bench scripts share: a clock, medians and a plain-text table.

export interface Timed<T> {
  /** Wall-clock milliseconds. */
  ms: number;
  /** CPU milliseconds of this process (user + system): less moved by other processes on a
   * shared machine than the wall clock. */
  cpuMs: number;
  value?: T;
  error?: string;
}

/** How long `work` takes, and what it returned (or the error it threw). */
export function timed<T>(work: () => T): Timed<T> {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const clocks = () => {
    const used = process.cpuUsage(cpu);
    return {
      ms: Number(process.hrtime.bigint() - started) / 1e6,
      cpuMs: (used.user + used.system) / 1000,
    };
  };
  try {
    const value = work();
    return { ...clocks(), value };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ...clocks(), error: message.slice(0, 90) };
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** Rows under a header, each column as wide as its widest cell. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ');
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  rows.forEach((row) => console.log(line(row)));
}
