import { PlanResult } from '../engine';
import { planDifferences } from './plan-differences';

const saved = {
  engineVersion: '1.0.0',
  request: { model: 'llama-3-8b' },
  model: {
    id: 'llama-3-8b',
    name: 'Llama 3 8B',
    parameters: { total: 8, trainable: 8, active: 8 },
  },
  layout: { gpus: 8, dataParallel: 8 },
  memory: {
    perGpu: { label: 'every rank', deviceUsedBytes: 100, fits: true, breakdownGiB: { weights: 1 } },
    ranks: [{ label: 'every rank', deviceUsedBytes: 100 }],
    hostPerNodeBytes: 0,
  },
  performance: { stepTimeSeconds: 2 },
  cost: { usdPerMillionTokens: 1.5, priceSource: 'catalog' },
  warnings: ['old warning'],
  assumptions: [],
} as unknown as PlanResult;

describe('planDifferences', () => {
  it('is empty for identical results', () => {
    expect(planDifferences(saved, structuredClone(saved))).toEqual([]);
  });

  it('lists each changed figure by its dotted path, leaving prose and the request out', () => {
    const current = structuredClone(saved);
    current.memory.perGpu.deviceUsedBytes = 120;
    current.memory.perGpu.fits = false;
    current.memory.perGpu.breakdownGiB.weights = 2;
    current.memory.ranks[0].deviceUsedBytes = 120;
    current.performance.stepTimeSeconds = 2.5;
    current.cost.gpuHours = 10;
    current.cost.priceSource = 'request';
    current.warnings = ['new warning'];
    current.request.model = 'other';
    expect(planDifferences(saved, current)).toEqual([
      { field: 'memory.perGpu.deviceUsedBytes', saved: 100, current: 120 },
      { field: 'memory.perGpu.fits', saved: true, current: false },
      { field: 'memory.ranks.0.deviceUsedBytes', saved: 100, current: 120 },
      { field: 'performance.stepTimeSeconds', saved: 2, current: 2.5 },
      { field: 'cost.gpuHours', saved: null, current: 10 },
    ]);
  });
});
