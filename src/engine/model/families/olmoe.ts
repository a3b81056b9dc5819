// OLMoE (modular_olmoe.py): Llama's pre-norm layer with RMSNorms over the whole q and k
// projections (OlmoeAttention: q_norm of hidden_size, k_norm of kv_heads x head_dim) and a
// sparse MoE block in every layer, Mixtral's experts (OlmoeExperts) under Qwen2-MoE's top-k
// router (OlmoeTopKRouter), no shared expert.
import { Config } from '../config-reader';
import { Family, readNormTopkProb, refuseClipQkv } from '../family';

/** OlmoeConfig's defaults (configuration_olmoe.py): OLMoE-1B-7B's shape. */
const OLMOE_DEFAULTS: Config = {
  vocab_size: 50304,
  hidden_size: 2048,
  intermediate_size: 2048,
  num_hidden_layers: 16,
  num_attention_heads: 16,
  hidden_act: 'silu',
  max_position_embeddings: 4096,
  tie_word_embeddings: false,
  attention_bias: false,
  num_experts_per_tok: 8,
  num_experts: 64,
};

export const olmoe: Family = {
  types: ['olmoe'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: OLMOE_DEFAULTS,
  refine: (arch, read) => {
    refuseClipQkv(read);
    arch.qkNorm = true;
    arch.qkNormPerHead = true; // the whole projection: a x d and g x d weights
    readNormTopkProb(arch, read, false);
  },
};
