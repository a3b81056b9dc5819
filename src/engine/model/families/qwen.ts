// Qwen2, Qwen2-MoE, Qwen3 and Qwen3-MoE (modeling_qwen2.py, modeling_qwen2_moe.py,
// modeling_qwen3.py, modeling_qwen3_moe.py).
import { Family, readNormTopkProb, readSparseLayers } from '../family';

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
    readNormTopkProb(arch, read, false);
    readSparseLayers(arch, read);
  },
};

export const qwen3: Family = {
  types: ['qwen3', 'qwen3_moe'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  refine: (arch, read) => {
    arch.qkNorm = true; // Qwen3Attention: q_norm and k_norm of head_dim
    readNormTopkProb(arch, read, false);
    readSparseLayers(arch, read);
  },
};
