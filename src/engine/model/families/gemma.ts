// Gemma and Gemma-2 (modeling_gemma.py, modeling_gemma2.py): tied embeddings; Gemma-2 has
// four norms per layer and alternates local and global attention. VaultGemma
// (modular_vaultgemma.py) is Gemma-2 without the two norms after attention and the MLP.
import { Config } from '../config-reader';
import { Family } from '../family';
import { ModelArchitecture } from '../../vocabulary';

export const gemma: Family = {
  types: ['gemma'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: { tie_word_embeddings: true }, // GemmaConfig: tie_word_embeddings=True
};

/** Gemma2DecoderLayer: is_sliding = not bool(layer_idx % 2), every other layer. */
function everyOtherLayerSlides(arch: ModelArchitecture): void {
  if (arch.slidingWindow) arch.slidingWindowLayerFraction = 0.5;
}

/** The 2B shape Gemma2Config and Gemma3TextConfig both default to (gemma-2-2b's). */
export const GEMMA_2B_SHAPE: Config = {
  hidden_size: 2304,
  intermediate_size: 9216,
  num_hidden_layers: 26,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 256,
  hidden_activation: 'gelu_pytorch_tanh',
  tie_word_embeddings: true,
  sliding_window: 4096,
};

/** Gemma2Config's defaults (configuration_gemma2.py), VaultGemmaConfig's too. */
const GEMMA2_DEFAULTS: Config = {
  ...GEMMA_2B_SHAPE,
  vocab_size: 256000,
  max_position_embeddings: 8192,
  attn_logit_softcapping: 50.0,
  final_logit_softcapping: 30.0,
};

export const gemma2: Family = {
  types: ['gemma2'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 4,
  defaults: GEMMA2_DEFAULTS,
  refine: everyOtherLayerSlides,
};

export const vaultgemma: Family = {
  types: ['vaultgemma'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2, // VaultGemmaDecoderLayer: input_layernorm and pre_feedforward_layernorm
  defaults: GEMMA2_DEFAULTS,
  refine: everyOtherLayerSlides,
};
