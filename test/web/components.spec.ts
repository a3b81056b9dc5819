// The segments of the page's memory bars: the vocabulary's order, the allocator's reserve where
// it belongs, and every byte of the device's use drawn once.
import { segmentsFor, segmentValue } from '../../public/js/components.js';
import { MEMORY_COMPONENTS, RankMemory } from '../../src/engine';

const GIB = 2 ** 30;

/** A training rank: 1 + 2 + 3 GiB allocated, 0.5 GiB of allocator cache, 0.75 GiB outside. */
const rank = {
  allocatedPeakBytes: 6 * GIB,
  reservedPeakBytes: 6.5 * GIB,
  deviceUsedBytes: 7.25 * GIB,
  breakdown: {
    weights: 1 * GIB,
    gradients: 0,
    optimizerStates: 2 * GIB,
    masterWeights: 0,
    activations: 3 * GIB,
    logitsAndLoss: 0,
    buffers: 0,
    runtimeOverhead: 0.75 * GIB,
  },
} as unknown as RankMemory;

describe('memory bar segments', () => {
  const segments = segmentsFor(MEMORY_COMPONENTS, [rank]);

  it('stack what the rank holds in the vocabulary order, the reserve under the runtime', () => {
    expect(segments.map((s) => s.key)).toEqual([
      ...MEMORY_COMPONENTS.filter(
        (key) => (rank.breakdown[key] ?? 0) > 0 && key !== 'runtimeOverhead',
      ),
      'allocatorReserve',
      'runtimeOverhead',
    ]);
    expect(new Set(segments.map((s) => s.color)).size).toBe(segments.length);
  });

  it('add up to the device used: allocated + (reserved - allocated) + outside the allocator', () => {
    const total = segments.reduce((sum, s) => sum + segmentValue(rank, s.key, GIB), 0);
    expect(total).toBeCloseTo(1 + 2 + 3 + 0.5 + 0.75, 12);
    expect(segmentValue(rank, 'allocatorReserve', GIB)).toBe(0.5);
  });

  it('show a component no rank holds bytes of nowhere, but one any rank holds on every bar', () => {
    const other = { ...rank, breakdown: { ...rank.breakdown, gradients: GIB } } as RankMemory;
    expect(segmentsFor(MEMORY_COMPONENTS, [rank, other]).map((s) => s.key)).toContain('gradients');
    expect(segments.map((s) => s.key)).not.toContain('gradients');
  });
});
