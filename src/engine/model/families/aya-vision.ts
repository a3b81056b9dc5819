// Aya Vision (transformers models/aya_vision/modeling_aya_vision.py): the text model
// AutoModel.from_config(text_config) builds (Cohere2 where none is given, Llama where it names no
// model_type; read as its own family reads it), SigLIP's vision model over each 364-px tile
// (no class token), hidden_states[vision_feature_layer] as the features, and
// AyaVisionMultiModalProjector: the patches pixel-shuffled downsample_factor x downsample_factor
// into one token each, a LayerNorm over the shuffled width, linear_1, SwiGLU, linear_2.
import { PlanValidationError, VisionTower } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { featureLayers } from './llava';
import { refuseUnplannedSiglip, siglipTower, SO400M_384 } from './siglip';
import { visionWrapper, wrappedTextConfig } from './text-configs';

/** AyaVisionConfig.__init__'s text_config: Cohere2Config() where none is given, the class its
 * model_type names (llama where it names none) where one is. */
const ayaText = (root: Config) =>
  wrappedTextConfig(
    root,
    root.text_config && typeof root.text_config === 'object' ? 'llama' : 'cohere2',
  );

/** downsample_factor (default 2), which must divide the patch grid's side: pixel_shuffle
 * reshapes each row of patches into side / factor groups. */
function downsampleFactor(root: ConfigReader, side: number): number {
  const given = root.config.downsample_factor ?? 2;
  if (typeof given !== 'number' || !Number.isInteger(given) || given < 1 || side % given !== 0)
    root.fail(
      'downsample_factor',
      `give a whole number of patches that divides the grid's side (${side} at this image_size and patch_size)`,
    );
  return typeof given === 'number' ? given : 2;
}

/** SiglipVisionModel and AyaVisionMultiModalProjector from the config: the projector's
 * LayerNorm (weight and bias) and linear_1 over the shuffled width, linear_1 to
 * alignment_intermediate_size (the text width where absent), linear_2 from half of it (SwiGLU
 * halves it) to the text width, both biased. */
function ayaTower(root: ConfigReader, textWidth: number): VisionTower {
  const given = root.config.vision_config;
  const vision = given && typeof given === 'object' ? (given as Config) : SO400M_384;
  refuseUnplannedSiglip(root, vision, 'Aya Vision', 'pixel_shuffle');
  const siglip = siglipTower(vision, [], 0, 0);
  const patches = siglip.patchesPerImage;
  const factor = downsampleFactor(root, Math.sqrt(patches));
  const alignment = root.numberOr(textWidth, 'alignment_intermediate_size');
  if (alignment % 2 !== 0)
    root.fail('alignment_intermediate_size', 'give an even width: SwiGLU splits it in two halves');
  if (root.errors.length > 0) throw new PlanValidationError(root.errors);
  const shuffled = siglip.hiddenSize * factor * factor;
  return {
    ...siglip,
    tokensPerImage: patches / (factor * factor),
    projector: [
      {
        name: 'multi_modal_projector.linear_1',
        inFeatures: shuffled,
        outFeatures: alignment,
        bias: true,
      },
      {
        name: 'multi_modal_projector.linear_2',
        inFeatures: alignment / 2,
        outFeatures: textWidth,
        bias: true,
      },
    ],
    projectorNormParameters: 2 * shuffled, // multi_modal_projector.layernorm
    layout: 'aya',
    pixelShuffle: factor,
    featureLayers: featureLayers(root, siglip.layers, -1),
  };
}

export const ayaVision = visionWrapper(
  'aya_vision',
  ayaText,
  ayaTower,
  (tower) =>
    `Aya Vision's images planned as one ${tower.imageSize}-px tile each (${tower.tokensPerImage} tokens); its processor (crop_to_patches, max_patches 12) splits a larger image into up to 12 tiles and a thumbnail, each through the tower on its own: give training.imagesPerSample as the tiles a sample's images make`,
);
