import { CalibrationError, errorQuantiles } from './bands';
import { buildErrorBands, fitTail, heldOutCoverage, nestedCoverage, TAIL_GRID } from './fit';

/** Five sources of one row each: 0, +10%, -10%, +5%, -5%. */
const SPREAD: CalibrationError[] = [0, 0.1, -0.1, 0.05, -0.05].map((error, i) => ({
  source: `source ${i}`,
  origin: 'published',
  category: 'full',
  error,
}));

describe('held-out coverage (leave one source out)', () => {
  it('counts a row inside when the band built without its source holds it', () => {
    // Holding out 0: the other four sit at 1/8, 3/8, 5/8, 7/8, so the 10% and 90% quantiles are
    // -10% and +10%: inside. Holding out +10%: the band is [-10%, +5%]: outside. Likewise -10%
    // is outside [-5%, +10%]; +5% and -5% are inside [-10%, +10%]. Three of five.
    expect(heldOutCoverage(SPREAD, 'full', [0.1])).toEqual([{ inside: 3, rows: 5 }]);
    // The pooled band reads the same rows here, and a category with no rows counts none.
    expect(heldOutCoverage(SPREAD, 'pooled', [0.1])).toEqual([{ inside: 3, rows: 5 }]);
    expect(heldOutCoverage(SPREAD, 'lora', [0.1])).toEqual([{ inside: 0, rows: 0 }]);
  });

  it('fits the tail nearest 80% coverage, the narrower band on a tie', () => {
    expect(TAIL_GRID[0]).toBe(0.04);
    expect(TAIL_GRID[TAIL_GRID.length - 1]).toBe(0.1);
    // Every tail from 4% to 10% is below the outer positions (1/8), so all give 3 of 5: a tie.
    expect(fitTail(SPREAD, 'full')).toBe(0.1);
  });

  it('measures the nested coverage with the tails refitted without each source', () => {
    expect(nestedCoverage(SPREAD)).toEqual({
      overall: { inside: 3, rows: 5 },
      full: { inside: 3, rows: 5 },
      published: { inside: 3, rows: 5 },
    });
  });
});

describe('buildErrorBands', () => {
  it('keeps, for each category and the pool, the fitted tail, its quantiles and the rows', () => {
    const bands = buildErrorBands(SPREAD);
    expect(bands.coverage).toBe(0.8);
    expect(bands.shrinkRows).toBe(10);
    expect(bands.bands.full).toEqual({
      tail: 0.1,
      // Five rows of equal weight: the 10% and 90% positions are the extremes.
      lowError: -0.1,
      highError: 0.1,
      rows: { harness: 0, published: 5 },
    });
    // A category with no rows of its own is its origins' pools.
    const lora = bands.bands.lora;
    expect(lora.rows).toEqual({ harness: 0, published: 0 });
    expect(lora).toMatchObject(errorQuantiles(SPREAD, 'pooled', lora.tail));
  });
});
