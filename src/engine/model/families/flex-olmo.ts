// FlexOlmo (modular_flex_olmo.py): OLMo-2's layer (post norms that multiply in fp32, RMSNorms
// over the whole q and k projections, fp32 rotary tables) around OLMoE's sparse MoE block
// (OlmoeTopKRouter's softmax and top-k, Mixtral's experts) in every layer.
import { Config } from '../config-reader';
import { Family, readNormTopkProb } from '../family';

/** FlexOlmoConfig's defaults (configuration_flex_olmo.py): FlexOlmo-7x7B's shape. */
const FLEX_OLMO_DEFAULTS: Config = {
  vocab_size: 100352,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  hidden_act: 'silu',
  max_position_embeddings: 4096,
  tie_word_embeddings: false,
  attention_bias: false,
  num_experts_per_tok: 5,
  num_experts: 7,
};

export const flexOlmo: Family = {
  types: ['flex_olmo'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2, // post_attention_layernorm, post_feedforward_layernorm
  defaults: FLEX_OLMO_DEFAULTS,
  refine: (arch, read) => {
    arch.qkNorm = true;
    arch.qkNormPerHead = true; // Olmo2Attention: the whole projection (a x d and g x d weights)
    readNormTopkProb(arch, read, false); // FlexOlmoConfig: norm_topk_prob=False
  },
};
