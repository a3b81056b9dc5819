// A band's tails fitted so that its intervals hold for sources it has not seen, and the coverage
// that proves it, measured leaving one source out at a time.
import { CALIBRATION_CATEGORIES } from '../vocabulary';
import {
  BandKey,
  CalibrationError,
  CalibrationOrigin,
  errorQuantiles,
  kindWeights,
  SHRINK_ROWS,
  TARGET_COVERAGE,
  weightedQuantiles,
} from './bands';

/** Tails tried, 4% to 10% in steps of 0.5 point. Quantiles of the errors seen under-cover runs of a
 * source not seen (each source has biases of its own), so the tails go out from the nominal 10%;
 * never in from it. */
export const TAIL_GRID = Array.from({ length: 13 }, (_, i) => (40 + 5 * i) / 1000);

export interface Coverage {
  inside: number;
  rows: number;
}

/** One band as data/calibration/error-bands.json keeps it. */
export interface ErrorBand {
  /** Share of the kind's weighted errors left out at each end. */
  tail: number;
  lowError: number;
  highError: number;
  /** The kind's own rows by origin. */
  rows: Record<CalibrationOrigin, number>;
}

/** Every band, by calibration category, plus `pooled` for plans of no category (serving). */
export interface ErrorBands {
  coverage: number;
  shrinkRows: number;
  bands: Record<BandKey, ErrorBand>;
}

const BAND_KEYS: BandKey[] = [...CALIBRATION_CATEGORIES, 'pooled'];

function rowsOf(errors: CalibrationError[], key: BandKey): CalibrationError[] {
  return key === 'pooled' ? errors : errors.filter((e) => e.category === key);
}

/** For each tail: how many of the rows of `key` fall inside the band built without their source. */
export function heldOutCoverage(
  errors: CalibrationError[],
  key: BandKey,
  tails: number[],
): Coverage[] {
  const counts = tails.map(() => ({ inside: 0, rows: 0 }));
  const rows = rowsOf(errors, key);
  for (const source of new Set(rows.map((e) => e.source))) {
    const rest = errors.filter((e) => e.source !== source);
    if (rest.length === 0) continue;
    const qs = tails.flatMap((tail) => [tail, 1 - tail]);
    const ends = weightedQuantiles(kindWeights(rest, key), qs);
    for (const row of rows.filter((e) => e.source === source)) {
      tails.forEach((_, i) => {
        counts[i].rows += 1;
        if (ends[2 * i] <= row.error && row.error <= ends[2 * i + 1]) counts[i].inside += 1;
      });
    }
  }
  return counts;
}

/** The tail whose held-out coverage is nearest 80% (the narrower band on a tie). */
export function fitTail(errors: CalibrationError[], key: BandKey): number {
  const coverage = heldOutCoverage(errors, key, TAIL_GRID);
  const miss = (i: number) =>
    coverage[i].rows === 0 ? 0 : Math.abs(coverage[i].inside / coverage[i].rows - TARGET_COVERAGE);
  let best = 0;
  TAIL_GRID.forEach((_, i) => {
    if (miss(i) <= miss(best)) best = i;
  });
  return TAIL_GRID[best];
}

/** Every band from every row: each tail fitted, then the quantiles over all rows. */
export function buildErrorBands(errors: CalibrationError[]): ErrorBands {
  const band = (key: BandKey): ErrorBand => {
    const tail = fitTail(errors, key);
    const own = rowsOf(errors, key);
    const count = (origin: CalibrationOrigin) => own.filter((e) => e.origin === origin).length;
    return {
      tail,
      ...errorQuantiles(errors, key, tail),
      rows: { harness: count('harness'), published: count('published') },
    };
  };
  const bands = Object.fromEntries(BAND_KEYS.map((key) => [key, band(key)]));
  return {
    coverage: TARGET_COVERAGE,
    shrinkRows: SHRINK_ROWS,
    bands: bands as Record<BandKey, ErrorBand>,
  };
}

/** Held-out coverage with nothing of the held-out source used, its band's tail included: for
 * each source, the tails are fitted again on the other sources alone. By category, by origin
 * and overall. */
export function nestedCoverage(errors: CalibrationError[]): Record<string, Coverage> {
  const counts: Record<string, Coverage> = {};
  const add = (key: string, inside: boolean) => {
    counts[key] ??= { inside: 0, rows: 0 };
    counts[key].rows += 1;
    if (inside) counts[key].inside += 1;
  };
  for (const source of new Set(errors.map((e) => e.source))) {
    const rest = errors.filter((e) => e.source !== source);
    const held = errors.filter((e) => e.source === source);
    for (const category of new Set(held.map((e) => e.category))) {
      const band = errorQuantiles(rest, category, fitTail(rest, category));
      for (const row of held.filter((e) => e.category === category)) {
        const inside = band.lowError <= row.error && row.error <= band.highError;
        for (const key of ['overall', category, row.origin]) add(key, inside);
      }
    }
  }
  return counts;
}
