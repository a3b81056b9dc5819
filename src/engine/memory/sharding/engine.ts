// Which engine keeps a rank's gradients and master copy, one rule for the timeline
// (sharding/index.ts applySharding) and the closed-form model states (model-states.ts).
import { DataParallelEngine, PlanRequest } from '../../vocabulary';

/** DeepSpeed's ZeRO at its stage (the PyTorch presets' ZeRO-1/2 too, as the Hugging Face Trainer
 * and Lightning run them; torch's ZeroRedundancyOptimizer is not modelled), Megatron's DDP, or
 * PyTorch's (FSDP2 at ZeRO-3, DDP at ZeRO-0), over `world` ranks a state shards over. */
export function shardingEngine(request: PlanRequest, world: number): DataParallelEngine {
  const engine = request.runtime.dataParallelEngine;
  const zero = request.parallelism.zeroStage;
  if (engine === 'megatron') return 'megatron';
  if (engine === 'deepspeed' || ((zero === 1 || zero === 2) && world > 1)) return 'deepspeed';
  return 'pytorch';
}
