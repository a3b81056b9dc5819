// Idefics3 and SmolVLM (transformers models/idefics3/modeling_idefics3.py, models/smolvlm/
// modular_smolvlm.py): the text model AutoModel.from_config(text_config) builds (Llama where it
// names none, read as its own family reads it), Idefics3VisionTransformer (SigLIP's encoder
// layers over the patches, no class token, post_layernorm) and Idefics3Connector: the patches
// pixel-shuffled scale_factor x scale_factor into one token each, then one bias-free linear.
import { PlanValidationError, VisionTower } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { visionConfigOf } from '../family';
import { siglipTower } from './siglip';
import { visionWrapper, wrappedTextConfig } from './text-configs';

/** Idefics3VisionConfig's defaults (configuration_idefics3.py; SmolVLMVisionConfig's the same). */
const IDEFICS3_VISION_DEFAULTS: Config = {
  hidden_size: 1152,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 16,
  num_channels: 3,
  image_size: 224,
  patch_size: 32,
};

/** scale_factor (default 2), which must divide the patch grid's side. */
function scaleFactor(root: ConfigReader, side: number): number {
  const given = root.config.scale_factor ?? 2;
  if (typeof given !== 'number' || !Number.isInteger(given) || given < 1 || side % given !== 0) {
    root.fail(
      'scale_factor',
      `give a whole number of patches that divides the grid's side (${side})`,
    );
    throw new PlanValidationError(root.errors);
  }
  return given;
}

/** Idefics3VisionTransformer (SigLIP's vision transformer without its pooling head: Conv2d
 * patches with a bias, a position embedding per patch, the encoder layers, post_layernorm) and
 * the connector: modality_projection.proj from the shuffled width to the text's, no bias. */
function idefics3Tower(root: ConfigReader, textWidth: number): VisionTower {
  const vision = { ...IDEFICS3_VISION_DEFAULTS, ...visionConfigOf(root.config) };
  const siglip = siglipTower({ ...vision, vision_use_head: false }, [], 0, 0);
  const patches = siglip.patchesPerImage;
  const scale = scaleFactor(root, Math.sqrt(patches));
  return {
    ...siglip,
    kind: 'idefics3_vision',
    tokensPerImage: patches / (scale * scale),
    projector: [
      {
        name: 'connector.modality_projection.proj',
        inFeatures: siglip.hiddenSize * scale * scale,
        outFeatures: textWidth,
        bias: false,
      },
    ],
    layout: 'idefics3',
    pixelShuffle: scale,
  };
}

const imageNote = (tower: VisionTower) =>
  `images planned as one ${tower.imageSize}-px crop each (${tower.tokensPerImage} tokens); the processor splits a larger image into crops of that size and adds a downscaled whole, each as many tokens more`;

const idefics3Text = (root: Config) => wrappedTextConfig(root, 'llama');

export const idefics3 = visionWrapper('idefics3', idefics3Text, idefics3Tower, imageNote);
export const smolvlm = visionWrapper('smolvlm', idefics3Text, idefics3Tower, imageNote);
