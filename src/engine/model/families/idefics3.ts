// Idefics3 and SmolVLM (transformers models/idefics3/modeling_idefics3.py, models/smolvlm/
// modular_smolvlm.py): the text model AutoModel.from_config(text_config) builds (Llama where it
// names none, read as its own family reads it), Idefics3VisionTransformer (SigLIP's encoder
// layers over the patches, no class token, post_layernorm) and Idefics3Connector: the patches
// pixel-shuffled scale_factor x scale_factor into one token each, then one bias-free linear.
import { PlanValidationError, VisionTower } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { towerShape, visionConfigOf } from '../family';
import { VIT_ENCODER_LAYER } from './siglip';
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

/** Idefics3VisionTransformer and the connector: Conv2d patches (with a bias), a position
 * embedding per patch, SigLIP's layers, post_layernorm; modality_projection.proj from the
 * shuffled width to the text's, without a bias. */
function idefics3Tower(root: ConfigReader, textWidth: number): VisionTower {
  const read = new ConfigReader(
    { ...IDEFICS3_VISION_DEFAULTS, ...visionConfigOf(root.config) },
    `${root.prefix}.vision_config`,
  );
  const shape = towerShape(read);
  const h = shape.hiddenSize;
  const patch = read.numberOr(0, 'patch_size');
  const image = read.numberOr(0, 'image_size');
  const side = Math.floor(image / patch);
  const scale = scaleFactor(root, side);
  const conv = read.numberOr(0, 'num_channels') * patch * patch * h + h;
  return {
    kind: 'idefics3_vision',
    ...shape,
    patchSize: patch,
    imageSize: image,
    patchesPerImage: side * side,
    tokensPerImage: (side * side) / (scale * scale),
    ...VIT_ENCODER_LAYER,
    embeddingParameters: conv + side * side * h + 2 * h, // + post_layernorm
    projector: [
      {
        name: 'connector.modality_projection.proj',
        inFeatures: h * scale * scale,
        outFeatures: textWidth,
        bias: false,
      },
    ],
    projectorNormParameters: 0,
    layout: 'idefics3',
    pixelShuffle: scale,
  };
}

const imageNote = (tower: VisionTower) =>
  `images planned as one ${tower.imageSize}-px crop each (${tower.tokensPerImage} tokens); the processor splits a larger image into crops of that size and adds a downscaled whole, each as many tokens more`;

const idefics3Text = (root: Config) => wrappedTextConfig(root, 'llama');

export const idefics3 = visionWrapper('idefics3', idefics3Text, idefics3Tower, imageNote);
export const smolvlm = visionWrapper('smolvlm', idefics3Text, idefics3Tower, imageNote);
