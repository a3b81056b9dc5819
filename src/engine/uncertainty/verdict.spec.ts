import { loadCatalog } from '../../catalog/catalog';
import { normalizeRequest, planFromRequest, PlanRequestInput, RankMemory } from '..';
import { ErrorBands } from './fit';
import { bandKeyOf, verdictOf, withUncertainty } from './verdict';

const GIB = 1024 ** 3;

/** A rank of 40 GiB with 3 GiB of headroom: 43 GiB usable (capacity less the safety margin). */
const RANK = { deviceUsedBytes: 40 * GIB, headroomBytes: 3 * GIB, fits: true } as RankMemory;

describe('verdictOf', () => {
  it('says fits while the top of the range stays within the usable 43 GiB', () => {
    expect(verdictOf(RANK, [38 * GIB, 43 * GIB])).toBe('fits');
  });
  it('says tight when the estimate fits but the top of the range does not', () => {
    expect(verdictOf(RANK, [38 * GIB, 43 * GIB + 1])).toBe('tight');
  });
  it("keeps the contract's fits: an estimate over the card does not fit, whatever the range", () => {
    const over = { ...RANK, headroomBytes: -1, fits: false };
    expect(verdictOf(over, [1, 2])).toBe('does not fit');
  });
});

const BANDS: ErrorBands = {
  coverage: 0.8,
  shrinkRows: 10,
  bands: Object.fromEntries(
    ['full', 'lora', 'qlora', 'multi-gpu', 'pooled'].map((key, i) => [
      key,
      // Each band its own: full -10% / +8%, lora -11% / +7%, ...
      {
        tail: 0.1,
        lowError: -0.1 - i / 100,
        highError: 0.08 - i / 100,
        rows: { harness: 1, published: 1 },
      },
    ]),
  ) as ErrorBands['bands'],
};

function plan(input: PlanRequestInput) {
  const catalog = loadCatalog();
  const arch = catalog.findModel(input.model as string)!;
  const gpu = catalog.findGpu(input.cluster.gpu)!;
  return planFromRequest(normalizeRequest(input, gpu, arch), arch, gpu);
}

describe('withUncertainty', () => {
  const single = plan({ model: 'llama-3.2-1b', cluster: { gpu: 'h100-80gb', gpusPerNode: 1 } });

  it('reads a one-GPU plan by its method, a many-GPU plan as multi-gpu, serving as pooled', () => {
    expect(bandKeyOf(single)).toBe('full');
    const eight = plan({ model: 'llama-3.2-1b', cluster: { gpu: 'h100-80gb', gpusPerNode: 8 } });
    expect(bandKeyOf(eight)).toBe('multi-gpu');
    const serving = plan({
      model: 'llama-3.2-1b',
      cluster: { gpu: 'h100-80gb', gpusPerNode: 1 },
      workload: 'inference',
    });
    expect(bandKeyOf(serving)).toBe('pooled');
  });

  it('puts [D / (1 + high), D / (1 + low)] and a verdict on every rank and on perGpu', () => {
    const result = withUncertainty(single, BANDS);
    const used = single.memory.perGpu.deviceUsedBytes;
    const range = [Math.round(used / 1.08), Math.round(used / 0.9)];
    expect(result.memory.perGpu.deviceUsedRangeBytes).toEqual(range);
    expect(result.memory.ranks[0].deviceUsedRangeBytes).toEqual(range);
    // A 1B model on an 80 GB card is far from its top: 80% sure it fits.
    expect(range[1]).toBeLessThan(
      single.memory.perGpu.deviceUsedBytes + single.memory.perGpu.headroomBytes,
    );
    expect(result.memory.perGpu.verdict).toBe('fits');
    expect(result.memory.errorBand).toEqual({
      category: 'full',
      coverage: 0.8,
      lowError: -0.1,
      highError: 0.08,
      rows: 2,
    });
    expect(result.assumptions[result.assumptions.length - 1]).toMatch(/-10\.0% to \+8\.0%/);
    // The plan itself is left as it was.
    expect(single.memory.perGpu.verdict).toBeUndefined();
  });

  it('gives each pipeline stage its own range', () => {
    const staged = plan({
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-80gb', gpusPerNode: 4 },
      parallelism: { pipelineParallel: 4 },
    });
    const result = withUncertainty(staged, BANDS);
    // multi-gpu is the fourth band: -13% / +5%.
    for (const [i, rank] of result.memory.ranks.entries()) {
      const used = staged.memory.ranks[i].deviceUsedBytes;
      expect(rank.deviceUsedRangeBytes).toEqual([Math.round(used / 1.05), Math.round(used / 0.87)]);
    }
    expect(result.memory.perGpu).toBe(
      result.memory.ranks[staged.memory.ranks.indexOf(staged.memory.perGpu)],
    );
  });
});
