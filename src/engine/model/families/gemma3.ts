// Gemma-3 (modeling_gemma3.py): Gemma-2's four norms per layer plus q/k RMSNorms, five local
// sliding-window layers to each global one, and a SigLIP image encoder in Gemma3Model.
import { LayerType } from '../../vocabulary';
import { Config } from '../config-reader';
import { Family, textConfigOrRoot, visionConfigOf } from '../family';
import { siglipTower } from './siglip';

/** Gemma3TextConfig's defaults (configuration_gemma3.py). */
const GEMMA3_TEXT_DEFAULTS: Config = {
  vocab_size: 262208,
  hidden_size: 2304,
  intermediate_size: 9216,
  num_hidden_layers: 26,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 256,
  hidden_activation: 'gelu_pytorch_tanh',
  max_position_embeddings: 131072,
  tie_word_embeddings: true,
  sliding_window: 4096,
};

/** layer_types, or every `sliding_window_pattern`-th layer global (default pattern 6). */
function gemma3LayerTypes(config: Config, layers: number): LayerType[] {
  if (Array.isArray(config.layer_types)) return config.layer_types as LayerType[];
  const pattern =
    typeof config.sliding_window_pattern === 'number' ? config.sliding_window_pattern : 6;
  return Array.from({ length: layers }, (_, i) =>
    (i + 1) % pattern ? 'sliding_attention' : 'full_attention',
  );
}

export const gemma3: Family = {
  types: ['gemma3', 'gemma3_text'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 4,
  defaults: GEMMA3_TEXT_DEFAULTS,
  textConfig: textConfigOrRoot,
  refine: (arch, read, { root }) => {
    arch.qkNorm = true; // Gemma3Attention: q_norm and k_norm over head_dim
    arch.layerTypes = gemma3LayerTypes(read.config, arch.numLayers);
    if (!root.vision_config) return;
    const vision = visionConfigOf(root);
    const visionWidth = typeof vision.hidden_size === 'number' ? vision.hidden_size : 768;
    // Gemma3MultiModalProjector: mm_input_projection_weight (vision h x text h) and an RMSNorm.
    const projector = [
      {
        name: 'mm_input_projection',
        inFeatures: visionWidth,
        outFeatures: arch.hiddenSize,
        bias: false,
      },
    ];
    const tokens = typeof root.mm_tokens_per_image === 'number' ? root.mm_tokens_per_image : 256;
    arch.vision = siglipTower(vision, projector, visionWidth, tokens);
  },
};
