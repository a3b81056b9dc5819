// Megatron-Core's data parallelism as it moves memory (megatron/core/distributed/
// distributed_data_parallel.py, param_and_grad_buffer.py; megatron/core/optimizer/
// optimizer.py Float16OptimizerWithFloat16Params, distrib_optimizer.py DistributedOptimizer):
// one contiguous gradient buffer for every trained parameter, allocated when the model is
// wrapped and kept for the run (fp32 under --accumulate-allreduce-grads-in-fp32), into which
// each weight gradient is accumulated (main_grad) and reduced in place; an fp32 master copy of
// the parameters, whole, or under the distributed optimizer this rank's shard of it, which
// carries the optimizer states. The step reads the main gradients in place (views).
import { Param, Runtime } from '../autograd/runtime';
import { makeParam } from '../model/rank-model';
import { Sharding } from './index';
import { partitionElements, ShardWorld } from './shard-world';

export interface MegatronSettings {
  /** Ranks the distributed optimizer shards over (one without it): the data-parallel ranks,
   * the expert data-parallel ones for the experts. */
  shards: ShardWorld;
  /** Bytes per element of the gradient buffer (4 with fp32 accumulation and all-reduce). */
  gradientBytes: number;
  /** Bytes per element of the master copy (0 when the parameters are the master). */
  masterBytes: number;
}

export class MegatronDdp implements Sharding {
  private readonly master: Param;
  private readonly elements: number;

  constructor(
    private readonly rt: Runtime,
    private readonly params: Param[],
    private readonly settings: MegatronSettings,
  ) {
    this.elements = params.reduce((sum, p) => sum + p.elements, 0);
    const shard = partitionElements(params, settings.shards);
    this.master = makeParam('main params', shard, true, 4, settings.gradientBytes);
    this.master.local = { weight: shard, states: shard };
    // The backward hook adds param.grad into main_grad and drops it (gradient accumulation
    // fusion writes the weight gradient into main_grad directly).
    for (const param of params) param.onGradient = (grad) => rt.release(grad);
  }

  /** DDP's buffer, then the optimizer's fp32 main parameters. */
  afterBuild(): void {
    if (this.elements === 0) return;
    const { rt, settings } = this;
    rt.allocate(this.elements * settings.gradientBytes, 'gradients');
    if (settings.masterBytes > 0)
      rt.allocate(this.master.elements * settings.masterBytes, 'masterWeights');
  }

  optimizerParams(): Param[] {
    return this.elements === 0 ? [] : [this.master];
  }
}
