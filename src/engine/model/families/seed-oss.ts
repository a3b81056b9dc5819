// Seed-OSS (modular_seed_oss.py): Llama's layer with biased q, k and v (attention_bias), o_proj
// biased by its own attention_out_bias, and dropout on o_proj's and down_proj's outputs
// (residual_dropout) and on the attention probabilities (attention_dropout), both 0.1 by default.
import { Config } from '../config-reader';
import { Family } from '../family';

/** SeedOssConfig's defaults (configuration_seed_oss.py). */
const SEED_OSS_DEFAULTS: Config = {
  vocab_size: 155136,
  hidden_size: 4096,
  intermediate_size: 27648,
  num_hidden_layers: 64,
  num_attention_heads: 80,
  num_key_value_heads: 8,
  head_dim: 128,
  hidden_act: 'silu',
  max_position_embeddings: 524288,
  tie_word_embeddings: false,
  attention_bias: true,
  attention_out_bias: false,
  attention_dropout: 0.1,
  residual_dropout: 0.1,
  mlp_bias: false,
};

export const seedOss: Family = {
  types: ['seed_oss'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: SEED_OSS_DEFAULTS,
  refine: (arch, read) => {
    arch.attentionOutputBias = read.bool('attention_out_bias');
  },
};
