// Nemotron-3/4 and Minitron (modeling_nemotron.py): Llama's pre-norm layer with
// NemotronLayerNorm1P (a LayerNorm applied as weight + 1, with a bias) before attention, the MLP
// and the head, q/k/v/o biased by attention_bias, NemotronMLP (up_proj, relu2, down_proj), and
// RoPE on partial_rotary_factor of each head (planned over the whole head, as Phi's: the saved
// rotated q and k are the same).
import { Config } from '../config-reader';
import { Family } from '../family';

/** NemotronConfig's defaults (configuration_nemotron.py). */
const NEMOTRON_DEFAULTS: Config = {
  vocab_size: 256000,
  hidden_size: 6144,
  intermediate_size: 24576,
  num_hidden_layers: 32,
  num_attention_heads: 48,
  hidden_act: 'relu2',
  max_position_embeddings: 4096,
  tie_word_embeddings: false,
  attention_bias: false,
  mlp_bias: false,
};

export const nemotron: Family = {
  types: ['nemotron'],
  mlp: 'plain',
  norm: 'layernorm1p',
  normsPerLayer: 2,
  defaults: NEMOTRON_DEFAULTS,
};
