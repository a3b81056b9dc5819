// Arcee AFM (modular_arcee.py): Llama's layer with NemotronMLP, a plain MLP (up_proj, relu2,
// down_proj; biases by mlp_bias) in place of the gated one.
import { Config } from '../config-reader';
import { Family } from '../family';

/** ArceeConfig's defaults (configuration_arcee.py, on LlamaConfig). */
const ARCEE_DEFAULTS: Config = {
  vocab_size: 32000,
  hidden_size: 2560,
  intermediate_size: 18432,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  hidden_act: 'relu2',
  max_position_embeddings: 4096,
  tie_word_embeddings: false,
  attention_bias: false,
  mlp_bias: false,
};

export const arcee: Family = {
  types: ['arcee'],
  mlp: 'plain',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: ARCEE_DEFAULTS,
};
