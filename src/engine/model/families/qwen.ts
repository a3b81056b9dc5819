// Qwen2, Qwen2-MoE, Qwen3 and Qwen3-MoE (modeling_qwen2.py, modeling_qwen2_moe.py,
// modeling_qwen3.py, modeling_qwen3_moe.py).
import { ModelArchitecture } from '../../vocabulary';
import { ConfigReader } from '../config-reader';
import { Family } from '../family';

export const qwen2: Family = {
  types: ['qwen2', 'qwen2_moe'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  refine: (arch, read, { type }) => {
    arch.qkvBias = true; // Qwen2Attention: q/k/v with bias=True, o_proj without
    if (type === 'qwen2') arch.attentionOutputBias = read.bool('attentionOutputBias');
    // Qwen2MoeSparseMoeBlock gates its shared expert with a Linear(h, 1).
    if (type === 'qwen2_moe' && arch.moe && !read.config.moe) arch.moe.sharedExpertGate = true;
    topKDividedIfAsked(arch, read);
  },
};

export const qwen3: Family = {
  types: ['qwen3', 'qwen3_moe'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  refine: (arch, read) => {
    arch.qkNorm = true; // Qwen3Attention: q_norm and k_norm of head_dim
    topKDividedIfAsked(arch, read);
  },
};

/** Qwen2MoeSparseMoeBlock, Qwen3MoeSparseMoeBlock and OlmoeTopKRouter divide the top-k weights
 * by their sum only `if self.norm_topk_prob`, which their configs default to False. */
export function topKDividedIfAsked(arch: ModelArchitecture, read: ConfigReader): void {
  if (arch.moe && !read.config.moe) arch.moe.renormalize = read.bool('norm_topk_prob');
}
