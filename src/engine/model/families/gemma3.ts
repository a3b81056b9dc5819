// Gemma-3 (modeling_gemma3.py): Gemma-2's four norms per layer plus q/k RMSNorms, five local
// sliding-window layers to each global one, and a SigLIP image encoder in Gemma3Model.
import { Config } from '../config-reader';
import { Family, slidingLayerTypes, textConfigOrRoot, visionConfigOf } from '../family';
import { GEMMA_2B_SHAPE } from './gemma';
import { siglipTower } from './siglip';

/** Gemma3TextConfig's defaults (configuration_gemma3.py): Gemma-2's 2B shape, a larger
 * vocabulary and context, no soft-caps. */
const GEMMA3_TEXT_DEFAULTS: Config = {
  ...GEMMA_2B_SHAPE,
  vocab_size: 262208,
  max_position_embeddings: 131072,
};

export const gemma3: Family = {
  types: ['gemma3', 'gemma3_text'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 4,
  defaults: GEMMA3_TEXT_DEFAULTS,
  textConfig: textConfigOrRoot,
  refine: (arch, read, { root }) => {
    arch.qkNorm = true; // Gemma3Attention: q_norm and k_norm over head_dim
    // sliding_window_pattern (default 6): every 6th layer global.
    const pattern = read.numberOr(6, 'sliding_window_pattern');
    arch.layerTypes = slidingLayerTypes(read.config, arch.numLayers, pattern);
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
        parameter: true, // an nn.Parameter used with torch.matmul, not an nn.Linear
      },
    ];
    const tokens = typeof root.mm_tokens_per_image === 'number' ? root.mm_tokens_per_image : 256;
    // Gemma3Model's token_type_ids_mask_function: in training each image's tokens attend to
    // one another, so every layer is handed an explicit mask
    arch.vision = {
      ...siglipTower(vision, projector, visionWidth, tokens),
      bidirectional: 'images',
    };
  },
};
