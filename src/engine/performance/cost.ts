// Price of a plan: GPU-hours x price per GPU-hour, and the budget of a whole run (docs/memory-model.md §8).
import { GpuSpec, PlanCost, PlanLayout, PlanPerformance, PlanRequest } from '../vocabulary';

/** Hourly price, price per million trained tokens and, given tokensToTrain, the run's budget. */
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
    // What the cluster costs for the hour it takes to train a million tokens.
    usdPerMillionTokens: tokensPerHour > 0 ? (clusterPerHour / tokensPerHour) * 1e6 : 0,
    priceSource:
      override !== undefined
        ? 'runtime.pricePerGpuHour (request)'
        : `${gpu.priceProvider ?? ''} ${gpu.priceDate} ${gpu.priceSource}`.trim(),
  };
  const tokens = request.training.tokensToTrain;
  if (tokens !== undefined && performance.tokensPerSecond > 0) {
    // Budget = tokens to train / tokens per second / 3600 x GPUs x price.
    const hours = tokens / performance.tokensPerSecond / 3600;
    cost.gpuHours = hours * layout.gpus;
    cost.wallClockDays = hours / 24;
    cost.totalUsd = cost.gpuHours * pricePerGpuHour;
  }
  return cost;
}
