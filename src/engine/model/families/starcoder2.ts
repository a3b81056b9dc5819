// StarCoder2 (modeling_starcoder2.py): Llama's sequential layer with LayerNorms (bias), biased
// linears (use_bias), a plain MLP (c_fc, gelu_pytorch_tanh, c_proj), grouped K/V, sliding-window
// attention, and dropout on the embedding and each sub-layer's output.
import { Config } from '../config-reader';
import { Family } from '../family';

/** Starcoder2Config's defaults (configuration_starcoder2.py). */
const STARCODER2_DEFAULTS: Config = {
  vocab_size: 49152,
  hidden_size: 3072,
  intermediate_size: 12288,
  num_hidden_layers: 30,
  num_attention_heads: 24,
  num_key_value_heads: 2,
  hidden_act: 'gelu_pytorch_tanh',
  max_position_embeddings: 4096,
  tie_word_embeddings: true,
  use_bias: true,
  residual_dropout: 0.0,
  embedding_dropout: 0.0,
  attention_dropout: 0.0,
};

export const starcoder2: Family = {
  types: ['starcoder2'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  biasEverywhere: (read) => read.config.use_bias !== false,
  defaults: STARCODER2_DEFAULTS,
};
