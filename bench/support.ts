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

/** A clock started now: wall and CPU milliseconds since. */
function startClocks(): () => { ms: number; cpuMs: number } {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return {
      ms: Number(process.hrtime.bigint() - started) / 1e6,
      cpuMs: (used.user + used.system) / 1000,
    };
  };
}

function failed(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 90);
}

/** How long `work` takes, and what it returned (or the error it threw). */
export function timed<T>(work: () => T): Timed<T> {
  const clocks = startClocks();
  try {
    const value = work();
    return { ...clocks(), value };
  } catch (error) {
    return { ...clocks(), error: failed(error) };
  }
}

/** timed for work that settles later: wall time to its settling (CPU counts every thread of
 * the process, the simulation threads it waits on too). */
export async function timedAsync<T>(work: () => Promise<T>): Promise<Timed<T>> {
  const clocks = startClocks();
  try {
    const value = await work();
    return { ...clocks(), value };
  } catch (error) {
    return { ...clocks(), error: failed(error) };
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
