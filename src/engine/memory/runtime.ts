// Memory outside PyTorch's allocator and the allocator's own slack (memory-model.md section 0).
import { PlanLayout, PlanRequest } from '../vocabulary';

/** NCCL communicator groups a rank joins: data (with context), tensor, pipeline, expert.
 * Serving replicas never talk to each other, so serving leaves the data-parallel group out. */
export function communicatorGroups(layout: PlanLayout, dataParallelTalks = true): number {
  const groups = [
    dataParallelTalks ? layout.dataParallel * layout.contextParallel : 1,
    layout.tensorParallel,
    layout.pipelineParallel,
    layout.expertParallel,
  ];
  return groups.filter((size) => size > 1).length;
}

/** CUDA context with its kernels and NCCL buffers: what nvidia-smi shows beyond reserved. */
export function runtimeOverheadBytes(
  request: PlanRequest,
  layout: PlanLayout,
  dataParallelTalks = true,
): number {
  const groups = communicatorGroups(layout, dataParallelTalks);
  return request.runtime.cudaContextBytes + groups * request.runtime.ncclBytes;
}

/** Reserved = allocated plus the caching allocator's fragmentation slack. */
export function reservedBytes(allocated: number, fragmentation: number): number {
  return Math.ceil(allocated * (1 + fragmentation));
}
