// Error bands: how far the device memory a run measures falls from the planner's figure, read
// from the signed errors (predicted / measured - 1) of calibration rows of a plan's kind.
import { CalibrationCategory } from '../vocabulary';

/** Who measured a calibration row: our own harness (tools/measure) or a published source. */
export type CalibrationOrigin = 'harness' | 'published';

/** One calibration row as the bands read it. */
export interface CalibrationError {
  /** The published source, or the harness's measurement group: rows that share biases. */
  source: string;
  origin: CalibrationOrigin;
  category: CalibrationCategory;
  /** predicted / measured - 1, on the statistic the row reports. */
  error: number;
}

export interface WeightedValue {
  value: number;
  weight: number;
}

/** A band's key: a calibration category, or `pooled` (every row) where none applies. */
export type BandKey = CalibrationCategory | 'pooled';

/** The share of runs an interval is meant to hold. */
export const TARGET_COVERAGE = 0.8;

/** Pseudo-rows of an origin's whole pool blended into a category's own rows: a category with 10
 * rows of an origin counts half its own errors and half the origin's (a Dirichlet-process
 * predictive with the pool as its base), so a category with few rows leans on the pool. */
export const SHRINK_ROWS = 10;

/**
 * The q-quantiles of weighted values (Hazen's rule: each value sits at the middle of its weight's
 * share of the cumulative total; linear in between, the extremes beyond). With equal weights it
 * is the usual (i - 0.5) / n plotting position: of five values, q = 0.1 is the smallest.
 */
export function weightedQuantiles(points: WeightedValue[], qs: number[]): number[] {
  const sorted = points.filter((p) => p.weight > 0).sort((a, b) => a.value - b.value);
  if (sorted.length === 0) throw new Error('no weighted values to take a quantile of');
  const total = sorted.reduce((sum, p) => sum + p.weight, 0);
  let below = 0;
  const positions = sorted.map((p) => {
    const position = (below + p.weight / 2) / total;
    below += p.weight;
    return position;
  });
  const last = sorted.length - 1;
  return qs.map((q) => {
    if (q <= positions[0]) return sorted[0].value;
    if (q >= positions[last]) return sorted[last].value;
    const i = positions.findIndex((position) => position >= q);
    const t = (q - positions[i - 1]) / (positions[i] - positions[i - 1]);
    return sorted[i - 1].value + t * (sorted[i].value - sorted[i - 1].value);
  });
}

/**
 * The errors a plan of `key` is read from, weighted. The two origins weigh half each: a user's
 * run is neither one of our harness runs nor one of a published table, and the harness's many
 * rows must not drown the published ones. Within an origin the category's own rows share
 * n / (n + SHRINK_ROWS) of its half and the origin's every row the rest; `pooled` takes the pools.
 */
export function kindWeights(
  errors: CalibrationError[],
  key: BandKey,
  shrinkRows: number = SHRINK_ROWS,
): WeightedValue[] {
  const origins = [...new Set(errors.map((e) => e.origin))];
  return origins.flatMap((origin) => {
    const pool = errors.filter((e) => e.origin === origin);
    const own = key === 'pooled' ? [] : pool.filter((e) => e.category === key);
    const ownShare = own.length / (own.length + shrinkRows);
    const half = 1 / origins.length;
    return [
      ...own.map((e) => ({ value: e.error, weight: (half * ownShare) / own.length })),
      ...pool.map((e) => ({ value: e.error, weight: (half * (1 - ownShare)) / pool.length })),
    ];
  });
}

/** The errors at the band's ends: the `tail` and 1 - `tail` quantiles of the kind's errors. */
export function errorQuantiles(
  errors: CalibrationError[],
  key: BandKey,
  tail: number,
): { lowError: number; highError: number } {
  const [lowError, highError] = weightedQuantiles(kindWeights(errors, key), [tail, 1 - tail]);
  return { lowError, highError };
}

/**
 * The interval of what a run measures, given the planner's figure: measured = predicted /
 * (1 + error), so the highest error gives the lowest measurement and the lowest error the highest.
 */
export function measuredRange(
  predicted: number,
  band: { lowError: number; highError: number },
): [number, number] {
  return [
    Math.round(predicted / (1 + band.highError)),
    Math.round(predicted / (1 + band.lowError)),
  ];
}
