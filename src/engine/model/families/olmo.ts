// OLMo-1 (modular_olmo.py): Llama's layer with OlmoLayerNorm, a LayerNorm computed in fp32
// without weight or bias, before attention, before the MLP and at the end; no biases.
import { Config } from '../config-reader';
import { Family, refuseClipQkv } from '../family';

/** OlmoConfig's defaults (configuration_olmo.py): OLMo-7B's shape. */
const OLMO_DEFAULTS: Config = {
  vocab_size: 50304,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  hidden_act: 'silu',
  max_position_embeddings: 2048,
  tie_word_embeddings: false,
  attention_bias: false,
};

export const olmo: Family = {
  types: ['olmo'],
  mlp: 'gated',
  norm: 'layernorm-weightless',
  normsPerLayer: 2,
  defaults: OLMO_DEFAULTS,
  refine: (_arch, read) => refuseClipQkv(read),
};
