// GLM-4 (modular_glm.py, modular_glm4.py): Llama's layer with biased q, k and v (o_proj without),
// Phi-3's MLP (one gate_up_proj, chunked), RoPE on half of each head's dimensions, interleaved;
// GLM-4-0414 (glm4) adds a norm after attention and after the MLP, before each residual add.
// The partial rotary is planned over the whole head: its saved tensors are the rotated q and k
// either way, only the rotation's transients are larger; the tables each layer
// repeat-interleaves are as wide as the rotated part (partialRotaryFactor).
import { Config } from '../config-reader';
import { Family } from '../family';

/** GlmConfig's defaults (configuration_glm.py): glm-4-9b's shape. */
const GLM_DEFAULTS: Config = {
  vocab_size: 151552,
  hidden_size: 4096,
  intermediate_size: 13696,
  num_hidden_layers: 40,
  num_attention_heads: 32,
  num_key_value_heads: 2,
  head_dim: 128,
  hidden_act: 'silu',
  max_position_embeddings: 131072,
  tie_word_embeddings: false,
  attention_bias: true,
};

export const glm: Family = {
  types: ['glm', 'glm4'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: GLM_DEFAULTS,
  refine: (arch, read, { type }) => {
    arch.fusedGateUp = true; // Phi3MLP: gate_up_proj, then chunk(2)
    arch.attentionOutputBias = false; // GlmAttention: o_proj = nn.Linear(..., bias=False)
    // GlmRotaryEmbedding's tables span partial_rotary_factor of each head (GlmConfig: 0.5).
    arch.partialRotaryFactor ??= read.numberOr(0.5, 'partial_rotary_factor');
    // Glm4DecoderLayer: input_layernorm, post_self_attn_layernorm, post_attention_layernorm,
    // post_mlp_layernorm
    if (type === 'glm4') arch.normsPerLayer = 4;
  },
};
