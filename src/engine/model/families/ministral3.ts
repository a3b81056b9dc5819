// Ministral 3 (transformers models/ministral3/modular_ministral3.py): Mistral's decoder layer,
// whose attention multiplies the rotated q by Llama-4's position-dependent attention scale
// (_get_llama_4_attn_scale) before the attention kernel.
import { Config } from '../config-reader';
import { Family } from '../family';

/** Ministral3Config's defaults (configuration_ministral3.py). */
const MINISTRAL3_DEFAULTS: Config = {
  vocab_size: 131072,
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 34,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 128,
  hidden_act: 'silu',
  max_position_embeddings: 262144,
  tie_word_embeddings: false,
};

export const ministral3: Family = {
  types: ['ministral3'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: MINISTRAL3_DEFAULTS,
};
