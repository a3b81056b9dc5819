// IBM Granite 3.x (modeling_granite.py): Llama's layer with four scalar multipliers
// (embedding_multiplier, residual_multiplier, attention_multiplier, logits_scaling). GraniteConfig
// defaults them to 1.0 and the model code applies them whatever their value, so the family has
// no field of its own: its recipe (recipes/index.ts) plans the scalar multiplications.
// Granite-MoE (modular_granitemoe.py): the same layer and multipliers around a sparse block in
// every layer, JetMoE's top-k gating and parallel experts (GraniteMoeMoE), no shared expert.
import { Config } from '../config-reader';
import { Family } from '../family';

export const granite: Family = {
  types: ['granite'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
};

/** GraniteMoeConfig's defaults (configuration_granitemoe.py): intermediate_size is each
 * expert's width. */
const GRANITE_MOE_DEFAULTS: Config = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  hidden_act: 'silu',
  max_position_embeddings: 2048,
  tie_word_embeddings: false,
  attention_bias: false,
  num_local_experts: 8,
  num_experts_per_tok: 2,
};

export const graniteMoe: Family = {
  types: ['granitemoe'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: GRANITE_MOE_DEFAULTS,
  refine: (arch, read) => {
    // GraniteMoeTopKGating (JetMoeTopKGating): softmax over the top k of fp32 logits
    if (arch.moe && !read.config.moe) arch.moe.router = 'top-k-gating';
  },
};
