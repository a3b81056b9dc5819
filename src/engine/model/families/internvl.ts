// InternVL 3 and 3.5 as transformers runs them (models/internvl/modeling_internvl.py): the text
// model AutoModel.from_config(text_config) builds (Qwen2 where it names none, read as its own
// family reads it), InternVLVisionModel (InternViT: a class token, layer-scaled blocks) whose
// last block's patches, pixel-shuffled 2 x 2 into one token each, InternVLMultiModalProjector
// carries to the text width: LayerNorm, linear_1, GELU, linear_2.
import { PlanValidationError, VisionTower } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { towerShape, visionConfigOf } from '../family';
import { visionWrapper, wrappedTextConfig } from './text-configs';

/** InternVLVisionConfig's defaults (configuration_internvl.py): InternViT-300M at 448 px. */
const INTERNVL_VISION_DEFAULTS: Config = {
  hidden_size: 1024,
  num_hidden_layers: 24,
  num_attention_heads: 16,
  attention_bias: false,
  use_qk_norm: false,
  intermediate_size: 4096,
  hidden_act: 'gelu',
  norm_type: 'layer_norm',
  image_size: 448,
  patch_size: 14,
  num_channels: 3,
  use_mask_token: false,
  use_absolute_position_embeddings: true,
  use_mean_pooling: true,
};

/** image_size and patch_size as one side: a square, as the checkpoints give them. */
function side(read: ConfigReader, field: string): number {
  const value = read.config[field];
  const sides = Array.isArray(value) ? value : [value];
  if (!sides.every((s) => Number.isInteger(s) && s === sides[0] && (s as number) > 0)) {
    read.fail(field, 'give one positive side, or a square [side, side]');
    throw new PlanValidationError(read.errors);
  }
  return sides[0] as number;
}

/** What get_image_features reads that the planner plans only one way, refused by the field:
 * features from another block (its code calls self.vision_model, which the model lacks), the
 * class token kept, a pooled final LayerNorm, an activation other than GELU. */
function refuseUnplanned(root: ConfigReader, read: ConfigReader): void {
  const layer = root.config.vision_feature_layer ?? -1;
  if (layer !== -1)
    root.fail('vision_feature_layer', "InternVL reads the last block's output: give -1");
  if ((root.config.vision_feature_select_strategy ?? 'default') !== 'default')
    root.fail(
      'vision_feature_select_strategy',
      "the pixel shuffle reads the patches alone: give 'default'",
    );
  if (read.config.use_mean_pooling === false)
    read.fail(
      'use_mean_pooling',
      'the final LayerNorm over every patch is not planned yet: give true',
    );
  if (read.config.hidden_act !== 'gelu')
    read.fail('hidden_act', "the tower's MLP is planned with GELU: give 'gelu'");
  const ratio = root.config.downsample_ratio ?? 0.5;
  if (typeof ratio !== 'number' || !Number.isInteger(1 / ratio) || ratio > 1)
    root.fail(
      'downsample_ratio',
      'give 1 over a whole number of patches a side (0.5: 2 x 2 patches a token)',
    );
  const errors = [...root.errors, ...read.errors];
  if (errors.length > 0) throw new PlanValidationError(errors);
}

/** InternVLVisionModel and InternVLMultiModalProjector from the config: Conv2d patches (with a
 * bias), a class token, a position per patch and the class token; blocks of two norms, q, k, v
 * (attention_bias), projection_layer (always biased), optional q/k RMSNorms, fc1, GELU, fc2 and
 * lambda_1, lambda_2; the projector's LayerNorm and two linears over the shuffled width. */
function internvlTower(root: ConfigReader, textWidth: number): VisionTower {
  const read = new ConfigReader(
    { ...INTERNVL_VISION_DEFAULTS, ...visionConfigOf(root.config) },
    `${root.prefix}.vision_config`,
  );
  refuseUnplanned(root, read);
  const h = read.numberOr(0, 'hidden_size');
  const patch = side(read, 'patch_size');
  const image = side(read, 'image_size');
  const patches = Math.floor(image / patch) ** 2;
  const ratio = root.config.downsample_ratio;
  const shuffle = Math.round(1 / (typeof ratio === 'number' ? ratio : 0.5));
  const shuffled = h * shuffle * shuffle;
  const conv = read.numberOr(0, 'num_channels') * patch * patch * h + h;
  const positions = read.flag('use_absolute_position_embeddings', true) ? (patches + 1) * h : 0;
  const maskToken = read.flag('use_mask_token', false) ? h : 0;
  return {
    kind: 'internvl_vision',
    ...towerShape(read),
    patchSize: patch,
    imageSize: image,
    patchesPerImage: patches + 1, // and the class token
    tokensPerImage: patches / (shuffle * shuffle),
    norm: read.config.norm_type === 'rms_norm' ? 'rmsnorm' : 'layernorm',
    mlp: 'plain',
    // InternVLVisionLayer: attention.{q,k,v}_proj, attention.projection_layer, mlp.fc1, mlp.fc2
    linearNames: [
      ...['q_proj', 'k_proj', 'v_proj', 'projection_layer'].map((n) => `attention.${n}`),
      'mlp.fc1',
      'mlp.fc2',
    ],
    attentionBias: read.flag('attention_bias', false),
    projectionBias: true,
    mlpBias: true,
    qkNorm: read.flag('use_qk_norm', false),
    layerScale: true,
    embeddingParameters: conv + h + positions + maskToken, // + the class token
    projector: [
      {
        name: 'multi_modal_projector.linear_1',
        inFeatures: shuffled,
        outFeatures: textWidth,
        bias: true,
      },
      {
        name: 'multi_modal_projector.linear_2',
        inFeatures: textWidth,
        outFeatures: textWidth,
        bias: true,
      },
    ],
    projectorNormParameters: 2 * shuffled, // its LayerNorm's weight and bias
    layout: 'internvl',
    pixelShuffle: shuffle,
  };
}

export const internvl = visionWrapper(
  'internvl',
  (root) => wrappedTextConfig(root, 'qwen2'),
  internvlTower,
  (tower) =>
    `InternVL's images planned as one ${tower.imageSize}-px tile each (${tower.tokensPerImage} tokens); its processor splits larger images into up to 12 tiles and a thumbnail, each as many tokens more`,
);
