// ERNIE 4.5 dense (modular_ernie4_5.py): Llama's layer with `use_bias` on every projection, a
// head_dim of its own, and RoPE computed in fp32 with GLM's interleaved rotate_half.
import { Config } from '../config-reader';
import { Family } from '../family';

/** Ernie4_5Config's defaults (configuration_ernie4_5.py): ERNIE-4.5-0.3B's shape. */
const ERNIE_DEFAULTS: Config = {
  vocab_size: 103424,
  hidden_size: 1024,
  intermediate_size: 3072,
  num_hidden_layers: 18,
  num_attention_heads: 16,
  num_key_value_heads: 2,
  head_dim: 128,
  hidden_act: 'silu',
  max_position_embeddings: 131072,
  tie_word_embeddings: true,
  use_bias: false,
};

export const ernie: Family = {
  types: ['ernie4_5'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  biasEverywhere: (read) => read.config.use_bias === true,
  defaults: ERNIE_DEFAULTS,
};
