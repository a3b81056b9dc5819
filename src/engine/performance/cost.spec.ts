import { estimateCost } from './cost';
import { normalizeRequest } from '../request/normalize';
import { GpuSpec, PlanLayout } from '../vocabulary';

const gpu: GpuSpec = {
  id: 'h100-80gb',
  name: 'H100 SXM',
  memoryBytes: 81559 * 2 ** 20,
  bf16FlopsPerSecond: 989e12,
  memoryBandwidthBytesPerSecond: 3.35e12,
  intraNodeBandwidthBytesPerSecond: 450e9,
  interconnect: 'NVLink 4',
  pricePerGpuHour: 2.5,
  priceProvider: 'Some Cloud',
  priceDate: '2026-09-25',
  priceSource: 'price page',
  fp8: true,
};

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
    expect(cost.pricePerGpuHour).toBe(2.5);
    expect(cost.clusterPerHour).toBe(40); // 2.5 $ x 16 GPUs
    // 20,000 tok/s = 72 M tokens per hour for 40 $: 0.5556 $ per million.
    expect(cost.usdPerMillionTokens).toBeCloseTo(40 / 72, 12);
    expect(cost.priceSource).toBe('Some Cloud 2026-09-25 price page');
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
