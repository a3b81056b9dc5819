import { estimateCost } from './cost';
import { normalizeRequest } from '../request/normalize';
import { PlanLayout } from '../vocabulary';
import { H100_SXM } from '../../../test/support/gpus';

const gpu = H100_SXM;

const layout: PlanLayout = {
  gpus: 16,
  nodes: 2,
  gpusPerNode: 8,
  dataParallel: 16,
  tensorParallel: 1,
  pipelineParallel: 1,
  contextParallel: 1,
  expertParallel: 1,
};

describe('estimateCost', () => {
  it('prices the cluster per hour and per million tokens from the catalog price', () => {
    const request = normalizeRequest({
      model: 'llama-3-8b',
      cluster: { gpu: 'h100-80gb', nodes: 2, gpusPerNode: 8 },
    });
    const cost = estimateCost(request, gpu, layout, { tokensPerSecond: 20_000 });
    const perHour = 16 * gpu.pricePerGpuHour; // 16 GPUs at the card's price
    expect(cost.clusterPerHour).toBeCloseTo(perHour, 12);
    // 20,000 tok/s = 72 M tokens per hour.
    expect(cost.usdPerMillionTokens).toBeCloseTo(perHour / 72, 12);
    expect(cost.priceSource).toBe(`RunPod Community 2026-09-25 ${gpu.priceSource}`);
    expect(cost.gpuHours).toBeUndefined();
  });

  it('a request price overrides the catalog and a token budget adds GPU-hours, days and dollars', () => {
    const request = normalizeRequest({
      model: 'llama-3-8b',
      cluster: { gpu: 'h100-80gb', nodes: 2, gpusPerNode: 8 },
      training: { tokensToTrain: 1e12 },
      runtime: { pricePerGpuHour: 2 },
    });
    const cost = estimateCost(request, gpu, layout, { tokensPerSecond: 20_000 });
    // 1e12 tokens / 20,000 tok/s = 5e7 s = 13,888.9 h = 578.7 days on 16 GPUs.
    const hours = 1e12 / 20_000 / 3600;
    expect(cost.pricePerGpuHour).toBe(2);
    expect(cost.priceSource).toBe('runtime.pricePerGpuHour (request)');
    expect(cost.gpuHours).toBeCloseTo(hours * 16, 6); // 222,222 GPU-hours
    expect(cost.wallClockDays).toBeCloseTo(hours / 24, 9);
    expect(cost.totalUsd).toBeCloseTo(hours * 16 * 2, 6); // 444,444 $
  });
});
