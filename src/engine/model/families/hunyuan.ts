// HunYuan dense v1 (modular_hunyuan_v1_dense.py): Llama's layer with RMSNorms over each head of
// q and k applied after rotary (query_layernorm, key_layernorm), biases on the attention
// projections where attention_bias is set, none on the MLP.
import { Config } from '../config-reader';
import { Family } from '../family';

/** HunYuanDenseV1Config's defaults (configuration_hunyuan_v1_dense.py). */
const HUNYUAN_DEFAULTS: Config = {
  vocab_size: 290943,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  hidden_act: 'silu',
  max_position_embeddings: 2048,
  tie_word_embeddings: false,
  attention_bias: false,
};

export const hunyuan: Family = {
  types: ['hunyuan_v1_dense'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: HUNYUAN_DEFAULTS,
  refine: (arch) => {
    arch.qkNorm = true; // query_layernorm and key_layernorm of head_dim, always built
  },
};
