// The ranks a parameter's sharded states are spread over. Expert parallelism takes its ranks
// from the data-parallel (and context) ranks, so a routed expert lives on only 1/EP of them and
// ZeRO and FSDP shard it over the ranks that hold the same experts: torchtitan's
// dp_shard_mod_ep mesh (parallelize.py apply_fsdp: fully_shard(transformer_block.moe.experts,
// mesh=dp_mod_ep_mesh)), DeepSpeed's expert data-parallel group (moe/utils.py
// split_params_into_different_moe_groups_for_optimizer), Megatron-Core's expert data-parallel
// group (parallel_state.py). Sharding an expert over every data-parallel rank divided it by the
// expert-parallel degree twice: DeepSeek-V3 at EP 8 on 256 GPUs planned 1.44 GiB of fp32 master
// weights a rank where 671B / 256 x 4 bytes is 9.8 GiB. Approximated: FSDP2 gathers and
// reduce-scatters a layer's experts with its other parameters here, where torchtitan wraps them
// as a unit of their own (two collectives a layer, the experts' gathered inside the layer's
// forward); the bytes gathered are the same.
import { Param } from '../autograd/runtime';

export interface ShardWorld {
  /** Ranks a dense parameter shards over. */
  world: number;
  /** Ranks holding the same experts: world / expertParallel (at least one). */
  expertWorld: number;
}

export function shardWorld(world: number, expertParallel: number): ShardWorld {
  return { world, expertWorld: Math.max(1, world / expertParallel) };
}

/** The ranks `param` shards over. */
export function worldOf(param: Param, worlds: ShardWorld): number {
  return param.expert ? worlds.expertWorld : worlds.world;
}

/** Elements of a flat partition of `params` (DeepSpeed and Megatron's distributed optimizer
 * split each group evenly; the experts are a group of their own). */
export function partitionElements(params: Param[], worlds: ShardWorld): number {
  let dense = 0;
  let expert = 0;
  for (const param of params) {
    if (param.expert) expert += param.elements;
    else dense += param.elements;
  }
  return Math.ceil(dense / worlds.world) + Math.ceil(expert / worlds.expertWorld);
}
