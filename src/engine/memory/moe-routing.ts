// How many tokens each routed expert on a rank computes. Every token goes to top-k experts; with
// expert parallelism the rank's experts receive their tokens from all ranks of the expert
// group (the all-to-all dispatch), so an expert sees tokens x ep x k / E on average. Routers are
// not even: the most-loaded expert carries `imbalance` times the mean, and the rank plans for it.
// A capacity factor caps what an expert takes (Megatron-Core moe_utils.get_capacity:
// ceil(tokens x k / E x capacity_factor); DeepSpeed's top-k gating the same); the rest is
// dropped, and Megatron's --moe-pad-expert-input-to-capacity pads every expert to it. With no
// capacity factor routing is dropless (Megatron's default, Hugging Face's code).
import { MoeConfig, RuntimeSettings } from '../vocabulary';
import type { ExpertRouting } from './recipes/hf-moe';

export function expertRouting(
  moe: MoeConfig,
  tokens: number,
  expertParallel: number,
  runtime: Pick<RuntimeSettings, 'moeCapacityFactor' | 'moePadToCapacity' | 'moeRoutingImbalance'>,
): ExpertRouting {
  const experts = Math.ceil(moe.numExperts / expertParallel);
  const groupTokens = tokens * expertParallel;
  const mean = (groupTokens * moe.expertsPerToken) / moe.numExperts;
  const loaded = Math.min(Math.ceil(mean * runtime.moeRoutingImbalance), groupTokens);
  const weighing = {
    router: moe.router ?? 'softmax',
    renormalize: moe.renormalize ?? true,
    denseExperts: moe.denseExperts ?? false,
    sharedFirst: moe.sharedExpertFirst ?? false,
    biased: moe.routerBias,
  };
  if (runtime.moeCapacityFactor <= 0) {
    return { topK: moe.expertsPerToken, experts, tokensPerExpert: loaded, ...weighing };
  }
  const capacity = Math.ceil(mean * runtime.moeCapacityFactor);
  const tokensPerExpert = runtime.moePadToCapacity ? capacity : Math.min(loaded, capacity);
  return { topK: moe.expertsPerToken, experts, tokensPerExpert, ...weighing };
}
