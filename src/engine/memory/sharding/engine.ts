// Which engine keeps a rank's gradients and master copy, one rule for the timeline
// (sharding/index.ts applySharding) and the closed-form model states (model-states.ts).
import { DataParallelEngine, PlanRequest, ZeroStage } from '../../vocabulary';

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

/** How far an engine shards, and whether it offloads: Megatron's DDP with its distributed
 * optimizer shards the fp32 main parameters and optimizer states (ZeRO-1) and keeps the whole
 * model and main-gradient buffer on each rank, with nothing offloaded (Megatron-FSDP and
 * --optimizer-cpu-offload are not modelled); the others run ZeRO 0-3 and offload. Requests
 * past it are refused (validate.ts) and searches do not try them (search.ts). */
export function engineReach(engine: DataParallelEngine): {
  maxZeroStage: ZeroStage;
  offloads: boolean;
} {
  if (engine === 'megatron') return { maxZeroStage: 1, offloads: false };
  return { maxZeroStage: 3, offloads: true };
}
