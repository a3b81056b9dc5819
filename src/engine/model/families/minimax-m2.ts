// MiniMax-M2 (models/minimax_m2/modular_minimax_m2.py): Mixtral's pre-norm layer and experts in
// every layer, attention with RMSNorms over the whole q and k projections (FlexOlmo's), and a
// router that chooses on a sigmoid of the fp32 logits plus e_score_correction_bias. Its RoPE over
// rotary_dim of each head (half, in MiniMax-M2's config) is planned over the whole head, as
// GLM-4.5's partial RoPE is (larger tables and rotation transients, the same kept bytes).
import { Config } from '../config-reader';
import { Family } from '../family';

/** MiniMaxM2Config's defaults: MiniMax-M2's shape. */
const MINIMAX_M2_DEFAULTS: Config = {
  vocab_size: 200064,
  hidden_size: 3072,
  intermediate_size: 1536,
  num_hidden_layers: 62,
  num_attention_heads: 48,
  num_key_value_heads: 8,
  head_dim: 128,
  hidden_act: 'silu',
  max_position_embeddings: 196608,
  tie_word_embeddings: false,
  num_experts_per_tok: 8,
  num_local_experts: 256,
};

export const minimaxM2: Family = {
  types: ['minimax_m2'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: MINIMAX_M2_DEFAULTS,
  refine: (arch, read) => {
    arch.qkNorm = true;
    arch.qkNormPerHead = true; // q_norm over num_heads x head_dim, k_norm over the K/V heads'
    if (!arch.moe || read.config.moe) return;
    arch.moe.router = 'fp32-biased-sigmoid';
    // e_score_correction_bias: a buffer of num_local_experts per layer, in the checkpoint (so
    // counted in the total, as DeepSeek-V3's), never trained
    arch.moe.routerBias = true;
  },
};
