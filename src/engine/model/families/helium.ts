// Helium (modular_helium.py): Llama's layer with HeliumRMSNorm (the weight times the normalised
// tensor in fp32, then the cast back: OLMo-2's norm), an o_proj without bias whatever
// attention_bias says, and RoPE on interleaved dimensions (cos and sin repeat-interleaved each
// layer: memory/recipes/hf-llama.ts interleavedRotary).
import { Config } from '../config-reader';
import { Family } from '../family';

/** HeliumConfig's defaults (configuration_helium.py): helium-1-preview's 2B shape. */
const HELIUM_DEFAULTS: Config = {
  vocab_size: 48000,
  hidden_size: 2560,
  intermediate_size: 7040,
  num_hidden_layers: 24,
  num_attention_heads: 20,
  num_key_value_heads: 20,
  head_dim: 128,
  hidden_act: 'silu',
  max_position_embeddings: 4096,
  tie_word_embeddings: false,
  attention_bias: false,
};

export const helium: Family = {
  types: ['helium'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: HELIUM_DEFAULTS,
  refine: (arch) => {
    arch.attentionOutputBias = false; // HeliumAttention: o_proj = nn.Linear(..., bias=False)
  },
};
