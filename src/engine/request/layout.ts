// How a request's GPUs divide into data, tensor, pipeline, context and expert parallel groups.
import { PlanLayout, PlanRequest } from '../vocabulary';

/** The layout of the request's cluster; serving passes contextParallel 1 (it does not apply). */
export function layoutOf(
  request: PlanRequest,
  contextParallel: number = request.parallelism.contextParallel,
): PlanLayout {
  const { cluster, parallelism } = request;
  const gpus = cluster.nodes * cluster.gpusPerNode;
  return {
    gpus,
    nodes: cluster.nodes,
    gpusPerNode: cluster.gpusPerNode,
    // dp = GPUs / (t x p x c), as the contract's parallelism section defines it.
    dataParallel:
      gpus / (parallelism.tensorParallel * parallelism.pipelineParallel * contextParallel),
    tensorParallel: parallelism.tensorParallel,
    pipelineParallel: parallelism.pipelineParallel,
    contextParallel,
    expertParallel: parallelism.expertParallel,
  };
}
