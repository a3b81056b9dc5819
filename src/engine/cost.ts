// Price of a plan: GPU-hours x price per GPU-hour (memory-model.md section 8).
import { GpuSpec, PlanCost, PlanLayout, PlanPerformance, PlanRequest } from './types';

export function estimateCost(
  request: PlanRequest,
  gpu: GpuSpec,
  layout: PlanLayout,
  performance: Pick<PlanPerformance, 'tokensPerSecond'>,
): PlanCost {
  const override = request.runtime.pricePerGpuHour;
  const pricePerGpuHour = override ?? gpu.pricePerGpuHour;
  const clusterPerHour = pricePerGpuHour * layout.gpus;
  const tokensPerHour = performance.tokensPerSecond * 3600;
  const cost: PlanCost = {
    pricePerGpuHour,
    clusterPerHour,
    usdPerMillionTokens: tokensPerHour > 0 ? (clusterPerHour / tokensPerHour) * 1e6 : 0,
    priceSource:
      override !== undefined
        ? 'runtime.pricePerGpuHour (request)'
        : `${gpu.priceProvider ?? ''} ${gpu.priceDate} ${gpu.priceSource}`.trim(),
  };
  const tokens = request.training.tokensToTrain;
  if (tokens !== undefined && performance.tokensPerSecond > 0) {
    const hours = tokens / performance.tokensPerSecond / 3600;
    cost.gpuHours = hours * layout.gpus;
    cost.wallClockDays = hours / 24;
    cost.totalUsd = cost.gpuHours * pricePerGpuHour;
  }
  return cost;
}
