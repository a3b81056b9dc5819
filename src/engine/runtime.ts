// Memory outside PyTorch's allocator and the allocator's own slack (memory-model.md section 0).
import { PlanLayout, PlanRequest } from './types';

/** NCCL communicator groups a rank joins: data (with context), tensor, pipeline, expert. */
export function communicatorGroups(layout: PlanLayout): number {
  const groups = [
    layout.dataParallel * layout.contextParallel,
    layout.tensorParallel,
    layout.pipelineParallel,
    layout.expertParallel,
  ];
  return groups.filter((size) => size > 1).length;
}

/** CUDA context with its kernels and NCCL buffers: what nvidia-smi shows beyond reserved. */
export function runtimeOverheadBytes(request: PlanRequest, layout: PlanLayout): number {
  return request.runtime.cudaContextBytes + communicatorGroups(layout) * request.runtime.ncclBytes;
}

/** Reserved = allocated plus the caching allocator's fragmentation slack. */
export function reservedBytes(allocated: number, fragmentation: number): number {
  return Math.ceil(allocated * (1 + fragmentation));
}
