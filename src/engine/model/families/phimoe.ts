// Phi-3.5-MoE (modeling_phimoe.py): Mixtral-style experts with LayerNorms (weight and bias),
// optional attention biases and a biased output head.
import { Config } from '../config-reader';
import { Family } from '../family';

/** PhimoeConfig's defaults (configuration_phimoe.py). */
const PHIMOE_DEFAULTS: Config = {
  vocab_size: 32064,
  hidden_size: 4096,
  intermediate_size: 6400,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  max_position_embeddings: 131072,
  tie_word_embeddings: false,
  num_experts_per_tok: 2,
  num_local_experts: 16,
  attention_bias: false,
  lm_head_bias: false,
};

export const phimoe: Family = {
  types: ['phimoe'],
  mlp: 'gated',
  norm: 'layernorm', // PhimoeDecoderLayer: nn.LayerNorm(elementwise_affine=True), with bias
  normsPerLayer: 2,
  defaults: PHIMOE_DEFAULTS,
  refine: (arch, read) => {
    if (read.bool('lm_head_bias')) arch.outputHeadBias = true;
  },
};
