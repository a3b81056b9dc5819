// The last check before saving: a plan as the engine makes it passes, and a range end or an
// advised figure that no store can hold exactly is named.
import { estimatePlan } from '../application/estimate';
import { loadCatalog } from '../catalog/catalog';
import type { Advice, PlanResult } from '../engine';
import { unstorableFigures } from './storable-figures';

const GIB = 1024 ** 3;

describe('unstorableFigures', () => {
  const planned = estimatePlan(
    {
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 },
      parallelism: { zeroStage: 3 },
    },
    loadCatalog(),
  );

  it('passes a plan as the engine makes it, 80% range included', () => {
    expect(planned.memory.perGpu.deviceUsedRangeBytes).toHaveLength(2);
    expect(unstorableFigures(planned)).toEqual([]);
  });

  it('names a range end past 2^53 and an advised figure that is not a number', () => {
    const perGpu = { ...planned.memory.perGpu, deviceUsedRangeBytes: [GIB, 2 ** 53 + 2] };
    const advice = {
      figures: {
        gpus: 16,
        deviceUsedBytes: 40 * GIB,
        capacityBytes: 80 * GIB,
        stepTimeSeconds: 1,
        tokensPerSecond: NaN,
        clusterPerHour: 32,
        usdPerMillionTokens: 0.5,
      },
    } as Advice;
    const bent = {
      ...planned,
      memory: { ...planned.memory, perGpu },
      advice: [advice],
    } as PlanResult;
    expect(unstorableFigures(bent).map((error) => error.field)).toEqual([
      'memory.perGpu.deviceUsedRangeBytes.1',
      'advice.0.figures.tokensPerSecond',
    ]);
  });
});
