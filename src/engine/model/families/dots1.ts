// dots.llm1 (modular_dots1.py): Qwen3's attention (per-head q/k RMSNorms before RoPE, q, k, v
// and o biased by attention_bias) inside DeepSeek-V3's decoder layer and MoE block
// (DeepseekV3DecoderLayer, DeepseekV3MoE: first_k_dense_replace dense layers, routed experts
// under DeepseekV3TopkRouter, one shared MLP of n_shared_experts x moe_intermediate_size), in
// Qwen3's model (sliding-window layers from max_window_layers on).
import { Family, readNormTopkProb } from '../family';

export const dots1: Family = {
  types: ['dots1'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  // Dots1Config: an untied head, max_window_layers = num_hidden_layers' default (62).
  defaults: { tie_word_embeddings: false, sliding_window: 4096, max_window_layers: 62 },
  refine: (arch, read) => {
    arch.qkNorm = true; // Qwen3Attention: q_norm and k_norm of head_dim
    if (arch.moe && !read.config.moe) arch.moe.router = 'grouped-sigmoid'; // DeepseekV3TopkRouter
    readNormTopkProb(arch, read, false); // Dots1Config: norm_topk_prob=False
    // Dots1Config.__post_init__: a layer slides where sliding_window is set and its index
    // reaches max_window_layers.
    if (!Array.isArray(read.config.layer_types)) {
      const from = read.numberOr(arch.numLayers, 'max_window_layers');
      arch.layerTypes = Array.from({ length: arch.numLayers }, (_, i) =>
        arch.slidingWindow && i >= from ? 'sliding_attention' : 'full_attention',
      );
    }
  },
};
