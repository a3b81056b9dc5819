// @ts-check
// How the page writes figures: bytes in GiB, counts, money, durations. Pure functions.

/** Bytes in a GiB (2^30), the unit nvidia-smi and PyTorch report memory in. */
export const GIB = 1024 ** 3;

/** What the page shows where a figure is missing. */
const MISSING = '–';

/**
 * Bytes as GiB: two decimals below 10 GiB and one above, unless `digits` says.
 * @param {number | null | undefined} bytes
 * @param {number} [digits]
 */
export function gib(bytes, digits) {
  if (bytes === undefined || bytes === null || Number.isNaN(bytes)) return MISSING;
  const value = bytes / GIB;
  const places = digits ?? (Math.abs(value) < 10 ? 2 : 1);
  return `${value.toFixed(places)} GiB`;
}

/**
 * An interval of bytes in GiB, one unit at the end: [115.2, 133.8] GiB -> '115.2–133.8 GiB'.
 * @param {[number, number] | null | undefined} range
 */
export function gibRange(range) {
  if (!range) return MISSING;
  const [low, high] = range.map((bytes) => gib(bytes).replace(' GiB', ''));
  return `${low}–${high} GiB`;
}

/**
 * Large counts with a metric suffix: 8030261248 -> 8.03 B.
 * @param {number | null | undefined} n
 */
export function count(n) {
  if (n === undefined || n === null) return MISSING;
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)} T`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n * 100) / 100);
}

/**
 * US dollars: cents below $100, whole dollars with separators above.
 * @param {number | null | undefined} n
 */
export function usd(n) {
  if (n === undefined || n === null) return MISSING;
  return n >= 100 ? `$${Math.round(n).toLocaleString('en-US')}` : `$${n.toFixed(2)}`;
}

/**
 * Days of wall-clock time: one decimal, as budget tables give them.
 * @param {number | null | undefined} d
 */
export function days(d) {
  return d === undefined || d === null ? MISSING : `${d.toFixed(1)} days`;
}

/**
 * A duration in the unit that keeps it short: ms below a second, minutes past two.
 * @param {number | null | undefined} s
 */
export function seconds(s) {
  if (s === undefined || s === null) return MISSING;
  if (s < 1) return `${(s * 1000).toFixed(1)} ms`;
  if (s < 120) return `${s.toFixed(2)} s`;
  return `${(s / 60).toFixed(1)} min`;
}

/**
 * A fraction as a whole percentage: 0.4 -> 40%.
 * @param {number | null | undefined} x
 */
export function percent(x) {
  return x === undefined || x === null ? MISSING : `${(x * 100).toFixed(0)}%`;
}

/**
 * A compare row's label as people write it: 'zeroStage 3' -> 'ZeRO-3'.
 * @param {string} label
 */
export function variantLabel(label) {
  const zero = /^zeroStage (\d)$/.exec(label);
  return zero ? `ZeRO-${zero[1]}` : label;
}

/**
 * The parallel degrees of a layout on one line.
 * @param {import('../../src/engine/vocabulary').PlanLayout} layout
 */
export function degreesText(layout) {
  return `DP ${layout.dataParallel} · TP ${layout.tensorParallel} · PP ${layout.pipelineParallel} · CP ${layout.contextParallel}`;
}

/**
 * Why a search turned layouts down, largest reason first:
 * "76 out of memory (stage 0: 40, ...); 120 over the card by the memory bound (not planned);
 * 3 impossible splits (tensorParallel: 3)".
 * @param {import('../../src/engine').SearchCounts['rejected'] | undefined} rejected
 */
export function rejectionText(rejected) {
  if (!rejected) return '';
  /** @param {Record<string, number>} byKey */
  const top = (byKey) =>
    Object.entries(byKey)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([key, n]) => `${key}: ${n}`)
      .join(', ');
  const parts = [];
  if (rejected.outOfMemory)
    parts.push(`${rejected.outOfMemory} out of memory (${top(rejected.outOfMemoryByRank)})`);
  if (rejected.boundOutOfMemory)
    parts.push(`${rejected.boundOutOfMemory} over the card by the memory bound (not planned)`);
  if (rejected.invalidSplit)
    parts.push(`${rejected.invalidSplit} impossible splits (${top(rejected.invalidSplitByField)})`);
  return parts.join('; ');
}

/**
 * A summary field's name in words: 'gpuHours' -> 'gpu hours', 'notFitting' -> 'not fitting'.
 * @param {string} key
 */
export function summaryLabel(key) {
  return key
    .replace(/Bytes$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
}

/**
 * A summary figure in its unit: bytes in GiB, USD as money, other numbers as counts.
 * @param {string} key
 * @param {unknown} value
 */
export function summaryValue(key, value) {
  if (typeof value !== 'number') return String(value);
  if (/bytes$/i.test(key)) return gib(value);
  if (/usd/i.test(key)) return usd(value);
  return count(value);
}
