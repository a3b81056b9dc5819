// The committed error bands (data/calibration/error-bands.json) must be the current engine's, and
// the 80% interval they give must hold for sources it was built without.
import { loadCatalog } from '../src/catalog/catalog';
import { BandKey, buildErrorBands, ErrorBand, ErrorBands, nestedCoverage } from '../src/engine';
import {
  calibrationErrors,
  ERROR_BANDS_COMMAND,
  ERROR_BANDS_FILE,
  readErrorBandsFile,
} from '../scripts/calibration-errors';

/** How far a committed quantile may sit from the recomputed one: floating-point order only. */
const TOLERANCE = 0.002;

/** The fewest of `n` rows an 80% interval holds in all but 5% of samples: the 5th percentile of
 * Binomial(n, 0.8), so a category of 13 rows is not failed for one row's luck. */
function fewestInside(n: number, p = 0.8, alpha = 0.05): number {
  let cumulative = 0;
  let term = (1 - p) ** n; // P(X = 0)
  for (let k = 0; k <= n; k++) {
    cumulative += term;
    if (cumulative > alpha) return k;
    term *= ((n - k) / (k + 1)) * (p / (1 - p)); // P(X = k + 1) from P(X = k)
  }
  return n;
}

describe('error bands (data/calibration/error-bands.json)', () => {
  // Every calibration row planned once for the whole file (the slow part, a few seconds).
  const errors = calibrationErrors(loadCatalog());
  const committed = readErrorBandsFile() as unknown as ErrorBands;

  it('are what the current engine gives: regenerate them when it changes', () => {
    const fresh = buildErrorBands(errors);
    const stale = Object.entries(fresh.bands).flatMap(([key, band]) => {
      const saved: ErrorBand | undefined = committed.bands[key as BandKey];
      const off =
        !saved ||
        saved.tail !== band.tail ||
        Math.abs(saved.lowError - band.lowError) > TOLERANCE ||
        Math.abs(saved.highError - band.highError) > TOLERANCE ||
        saved.rows.harness !== band.rows.harness ||
        saved.rows.published !== band.rows.published;
      return off
        ? [
            `${ERROR_BANDS_FILE} band '${key}' is stale (now tail ${band.tail}, ${band.lowError.toFixed(4)} to ${band.highError.toFixed(4)}): run ${ERROR_BANDS_COMMAND}`,
          ]
        : [];
    });
    expect(stale).toEqual([]);
  });

  it('a binomial floor: 8 of 13 rows, 69 of 94', () => {
    // Binomial(13, 0.8): P(X <= 7) = 0.030, P(X <= 8) = 0.099; Binomial(94, 0.8): P(X <= 68) = 0.046.
    expect(fewestInside(13)).toBe(8);
    expect(fewestInside(94)).toBe(69);
  });

  it('hold 75-85% of the rows of a source they were built without, and each category its binomial floor', () => {
    const coverage = nestedCoverage(errors);
    const share = (key: string) => coverage[key].inside / coverage[key].rows;
    expect(coverage.overall.rows).toBe(errors.length);
    expect(share('overall')).toBeGreaterThanOrEqual(0.75);
    expect(share('overall')).toBeLessThanOrEqual(0.85);
    // Categories hold 13 to 94 rows: one qlora row moves its share by 7.7 points, so each is held
    // to what an 80% interval holds by chance in 95% of samples of its size.
    const low = ['full', 'lora', 'qlora', 'multi-gpu'].filter(
      (category) => coverage[category].inside < fewestInside(coverage[category].rows),
    );
    expect(low).toEqual([]);
  });
});
