// Jamba (modeling_jamba.py): attention every attn_layer_period-th layer and Mamba mixers in the
// others; MoE in every expert_layer_period-th layer, a dense gated MLP elsewhere.
import { Config } from '../config-reader';
import { Family, fixedStateNote, indicesWhere } from '../family';

/** JambaConfig's defaults (configuration_jamba.py). */
const JAMBA_DEFAULTS: Config = {
  vocab_size: 65536,
  tie_word_embeddings: false,
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  max_position_embeddings: 262144,
  num_experts_per_tok: 2,
  num_experts: 16,
  expert_layer_period: 2,
  expert_layer_offset: 1,
  attn_layer_period: 8,
  attn_layer_offset: 4,
  mamba_d_state: 16,
  mamba_d_conv: 4,
  mamba_expand: 2,
  mamba_conv_bias: true,
  mamba_proj_bias: false,
};

export const jamba: Family = {
  types: ['jamba'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2, // input_layernorm and pre_ff_layernorm in both layer kinds
  defaults: JAMBA_DEFAULTS,
  refine: (arch, read) => {
    const h = arch.hiddenSize;
    const attnPeriod = read.numberOr(8, 'attn_layer_period');
    const attnOffset = read.numberOr(4, 'attn_layer_offset');
    arch.layerTypes = Array.from({ length: arch.numLayers }, (_, i) =>
      i % attnPeriod === attnOffset ? 'full_attention' : 'mamba',
    );
    // JambaAttention has no rotary embedding: q and k go to attention as projected
    arch.noRopeLayers = indicesWhere(arch.numLayers, () => true);
    const expertPeriod = read.numberOr(2, 'expert_layer_period');
    const expertOffset = read.numberOr(1, 'expert_layer_offset');
    if (arch.moe) {
      arch.moe.layers = indicesWhere(arch.numLayers, (i) => i % expertPeriod === expertOffset);
      // JambaSparseMoeBlock: softmax, top-k, cast; the weights are not divided by their sum.
      if (!read.config.moe) arch.moe.renormalize = false;
    }
    const expand = read.numberOr(2, 'mamba_expand');
    const rank = read.config.mamba_dt_rank;
    arch.ssm = {
      version: 1,
      stateSize: read.numberOr(16, 'mamba_d_state'),
      convKernel: read.numberOr(4, 'mamba_d_conv'),
      expand,
      innerSize: expand * h,
      dtRank: typeof rank === 'number' ? rank : Math.ceil(h / 16), // "auto": ceil(h / 16)
      groups: 1,
      heads: 0,
      headDim: 0,
      convBias: read.flag('mamba_conv_bias', true),
      projBias: read.flag('mamba_proj_bias', false),
      innerNorms: true, // dt_layernorm, b_layernorm, c_layernorm
    };
    arch.notes = [fixedStateNote('jamba', 'Mamba layers')];
  },
};
