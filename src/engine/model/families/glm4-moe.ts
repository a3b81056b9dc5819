// GLM-4.5 and GLM-4.6 (modular_glm4_moe.py): DeepSeek-V3's decoder layer and MoE block
// (DeepseekV3DecoderLayer, DeepseekV3MoE: dense first layers, routed experts under
// DeepseekV3TopkRouter, one shared MLP of n_shared_experts x moe_intermediate_size) around
// Cohere's grouped-query attention: q, k and v biased by attention_bias, o_proj unbiased,
// optional per-head q/k RMSNorms (use_qk_norm), RoPE on partial_rotary_factor of each head
// (planned over the whole head, as GLM-4's: the saved rotated q and k are the same).
import { Config } from '../config-reader';
import { Family, readNormTopkProb } from '../family';
import { uncountedMtpNote } from './deepseek';

/** Glm4MoeConfig's defaults (configuration_glm4_moe.py). */
const GLM4_MOE_DEFAULTS: Config = {
  vocab_size: 151552,
  hidden_size: 4096,
  intermediate_size: 10944,
  num_hidden_layers: 46,
  num_attention_heads: 96,
  num_key_value_heads: 8,
  hidden_act: 'silu',
  max_position_embeddings: 131072,
  tie_word_embeddings: false,
  attention_bias: false,
  moe_intermediate_size: 1408,
  num_experts_per_tok: 8,
  n_shared_experts: 1,
  n_routed_experts: 128,
  first_k_dense_replace: 1,
};

export const glm4Moe: Family = {
  types: ['glm4_moe'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: GLM4_MOE_DEFAULTS,
  refine: (arch, read) => {
    arch.attentionOutputBias = false; // Glm4MoeAttention: o_proj = nn.Linear(..., bias=False)
    arch.qkNorm = read.bool('use_qk_norm'); // Glm4MoeRMSNorm(head_dim) on q and k
    if (arch.moe && !read.config.moe) {
      arch.moe.router = 'grouped-sigmoid';
      // Glm4MoeTopkRouter registers e_score_correction_bias with dtype=torch.float32.
      arch.moe.routerBias = true;
      arch.moe.routerBiasFp32 = true;
    }
    readNormTopkProb(arch, read, true); // Glm4MoeConfig: norm_topk_prob=True
    // Glm4MoeModel: _keys_to_ignore_on_load_unexpected drops the checkpoint's MTP layer.
    const note = uncountedMtpNote(read.numberOr(0, 'num_nextn_predict_layers'), 'Glm4MoeModel');
    if (note) arch.notes = [...(arch.notes ?? []), note];
  },
};
