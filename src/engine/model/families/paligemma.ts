// PaliGemma and PaliGemma 2 (transformers models/paligemma/modeling_paligemma.py): the Gemma or
// Gemma-2 text model AutoModel.from_config(text_config) builds, read as its own family reads it,
// SiglipVisionModel over each image's patches, and PaliGemmaMultiModalProjector's one biased
// linear; in training the prefix (image and prompt, token_type_ids 0) attends to itself
// bidirectionally, so every text layer receives an explicit mask.
import { PlanValidationError, VisionTower } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { visionConfigOf } from '../family';
import { siglipTower } from './siglip';
import { visionWrapper, wrappedTextConfig } from './text-configs';

/** PaliGemmaConfig.__init__'s tower without a vision_config (configuration_paligemma.py). */
const PALIGEMMA_VISION_DEFAULTS: Config = {
  hidden_size: 1152,
  intermediate_size: 4096,
  num_hidden_layers: 27,
  num_attention_heads: 16,
  patch_size: 14,
  image_size: 224,
  vision_use_head: false,
};

/** PaliGemmaConfig.__init__'s text model without a text_config: GemmaConfig at this shape,
 * over the root's vocab_size (257,152 by default). */
function paligemmaText(root: Config): Config {
  if (root.text_config && typeof root.text_config === 'object')
    return wrappedTextConfig(root, 'gemma');
  const vocab = typeof root.vocab_size === 'number' ? root.vocab_size : 257152;
  const text = {
    hidden_size: 2048,
    num_hidden_layers: 18,
    intermediate_size: 16384,
    num_attention_heads: 8,
    num_key_value_heads: 1,
    vocab_size: vocab,
  };
  return wrappedTextConfig({ ...root, text_config: text }, 'gemma');
}

/** projection_dim (the projector's output, 2,048 by default) must be the text model's width:
 * the image tokens replace placeholder embeddings. */
function projectionWidth(root: ConfigReader, textWidth: number): number {
  const vision = visionConfigOf(root.config);
  const given = root.config.projection_dim ?? vision.projection_dim ?? 2048;
  if (given !== textWidth) {
    root.fail('projection_dim', `give the text model's hidden_size (${textWidth})`);
    throw new PlanValidationError(root.errors);
  }
  return textWidth;
}

/** SiglipVisionModel (the patches, no class token, post_layernorm) and the projector's linear. */
function paligemmaTower(root: ConfigReader, textWidth: number): VisionTower {
  const given = root.config.vision_config;
  const vision = given && typeof given === 'object' ? (given as Config) : PALIGEMMA_VISION_DEFAULTS;
  const out = projectionWidth(root, textWidth);
  const siglip = siglipTower(vision, [], 0, 0);
  const projector = {
    name: 'multi_modal_projector.linear',
    inFeatures: siglip.hiddenSize,
    outFeatures: out,
    bias: true,
  };
  return {
    ...siglip,
    tokensPerImage: siglip.patchesPerImage,
    projector: [projector],
    layout: 'paligemma',
    bidirectional: 'prefix',
  };
}

const imageNote = (tower: VisionTower) =>
  `images planned at ${tower.imageSize} px (${tower.tokensPerImage} tokens each); in training the prefix (images and prompt) attends to itself both ways, so every text layer is handed an explicit mask`;

export const paligemma = visionWrapper('paligemma', paligemmaText, paligemmaTower, imageNote);
