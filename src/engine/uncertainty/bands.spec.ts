import {
  CalibrationError,
  errorQuantiles,
  kindWeights,
  measuredRange,
  weightedQuantiles,
} from './bands';

const GIB = 1024 ** 3;

/** Five rows of one source kind, one origin: errors -10%, -5%, 0, +2%, +8%. */
const FIVE: CalibrationError[] = [-0.1, -0.05, 0, 0.02, 0.08].map((error, i) => ({
  source: `s${i}`,
  origin: 'published',
  category: 'full',
  error,
}));

describe('weightedQuantiles (Hazen: value i sits at (i - 0.5) / n with equal weights)', () => {
  const equal = FIVE.map((row) => ({ value: row.error, weight: 1 }));

  it('puts five equal values at 0.1, 0.3, 0.5, 0.7 and 0.9', () => {
    expect(weightedQuantiles(equal, [0.1])[0]).toBe(-0.1);
    expect(weightedQuantiles(equal, [0.5])[0]).toBe(0);
    expect(weightedQuantiles(equal, [0.9])[0]).toBe(0.08);
    // 0.2 is halfway from 0.1 (-10%) to 0.3 (-5%); 0.8 halfway from +2% to +8%.
    expect(weightedQuantiles(equal, [0.2])[0]).toBeCloseTo(-0.075, 12);
    expect(weightedQuantiles(equal, [0.8])[0]).toBeCloseTo(0.05, 12);
    // Beyond the outer positions the extremes hold: no extrapolation.
    expect(weightedQuantiles(equal, [0.05])[0]).toBe(-0.1);
  });

  it('moves the position of a heavier value: weights 3, 1 put them at 3/8 and 7/8', () => {
    const points = [
      { value: 0, weight: 3 },
      { value: 1, weight: 1 },
    ];
    expect(weightedQuantiles(points, [0.375])[0]).toBe(0);
    expect(weightedQuantiles(points, [0.625])[0]).toBeCloseTo(0.5, 12); // halfway from 3/8 to 7/8
  });
});

describe('kindWeights', () => {
  it("gives each origin half, and within it the category's own rows n / (n + 10) of that half", () => {
    const row = (source: string, origin: 'harness' | 'published', category: 'full' | 'lora') =>
      ({ source, origin, category, error: 0 }) as CalibrationError;
    const errors = [
      row('A', 'harness', 'full'),
      row('A', 'harness', 'full'),
      row('B', 'harness', 'lora'),
      row('B', 'harness', 'lora'),
      row('P', 'published', 'full'),
    ];
    const weights = kindWeights(errors, 'full');
    // Harness: 2 own rows share 1/2 x 2/12 (1/24 each); its pool of 4 shares 1/2 x 10/12 (5/48
    // each). Published: its 1 own row takes 1/2 x 1/11, and its pool (that row) 1/2 x 10/11.
    const expected = [1 / 24, 1 / 24, 5 / 48, 5 / 48, 5 / 48, 5 / 48, 1 / 22, 10 / 22];
    expect(weights).toHaveLength(expected.length);
    weights.forEach((w, i) => expect(w.weight).toBeCloseTo(expected[i], 12));
    // A harness full row weighs 1/24 + 5/48 = 7/48, a lora row 5/48; the origins 1/2 each.
    expect(expected.reduce((sum, w) => sum + w, 0)).toBeCloseTo(1, 12);
  });

  it('reads only the pools for the pooled band', () => {
    const weights = kindWeights(FIVE, 'pooled');
    expect(weights.map((w) => w.weight)).toEqual([0.2, 0.2, 0.2, 0.2, 0.2]);
  });
});

describe('a band from five known errors', () => {
  it('gives the interval [D / 1.08, D / 0.90] at the nominal 10% tails', () => {
    // One origin, five rows of the category: own share 5/15 plus the pool (the same rows) 10/15,
    // so every row weighs 1/5 and the 10% and 90% quantiles are the extremes, -10% and +8%.
    const band = errorQuantiles(FIVE, 'full', 0.1);
    expect(band).toEqual({ lowError: -0.1, highError: 0.08 });
    // measured = predicted / (1 + error): 100 GiB predicted is 92.59 to 111.11 GiB measured.
    const range = measuredRange(100 * GIB, band);
    expect(range).toEqual([Math.round((100 * GIB) / 1.08), Math.round((100 * GIB) / 0.9)]);
    expect(range).toEqual([99_420_539_259, 119_304_647_111]);
  });
});
