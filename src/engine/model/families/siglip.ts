// The SigLIP image encoder Gemma-3 uses (modeling_siglip.py: SiglipVisionTransformer).
import { VisionTower } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { towerShape } from '../family';

/** SiglipVisionConfig's defaults (configuration_siglip.py). */
const SIGLIP_DEFAULTS: Config = {
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  num_channels: 3,
  image_size: 224,
  patch_size: 16,
};

/** The vision_config LlavaOnevisionConfig and AyaVisionConfig build when none is given
 * (configuration_llava_onevision.py, configuration_aya_vision.py): SigLIP so400m's shape at
 * 384 px, 26 blocks, no pooling head. */
export const SO400M_384: Config = {
  hidden_size: 1152,
  intermediate_size: 4304,
  patch_size: 14,
  image_size: 384,
  num_hidden_layers: 26,
  num_attention_heads: 14,
  vision_use_head: false,
};

/** The attention-pooling head SiglipVisionTransformer adds unless vision_use_head is false:
 * probe (h), nn.MultiheadAttention (3h x h + 3h in, h x h + h out), LayerNorm (2h), MLP. */
function poolingHead(h: number, f: number): number {
  return h + (3 * h * h + 3 * h) + (h * h + h) + 2 * h + (2 * h * f + f + h);
}

/** The encoder layer CLIP and SigLIP share (CLIPEncoderLayer, SiglipEncoderLayer): biased
 * LayerNorms, self_attn's q_proj, k_proj, v_proj and out_proj and mlp's fc1 and fc2, each with
 * a bias. */
export const VIT_ENCODER_LAYER = {
  norm: 'layernorm',
  mlp: 'plain',
  linearNames: [
    ...['q_proj', 'k_proj', 'v_proj', 'out_proj'].map((n) => `self_attn.${n}`),
    'mlp.fc1',
    'mlp.fc2',
  ],
  attentionBias: true,
  mlpBias: true,
} satisfies Partial<VisionTower>;

/** A SigLIP tower from vision_config, with the projector the caller names. */
export function siglipTower(
  vision: Config,
  projector: VisionTower['projector'],
  projectorNormParameters: number,
  tokensPerImage: number,
): VisionTower {
  const read = new ConfigReader({ ...SIGLIP_DEFAULTS, ...vision }, 'vision_config');
  const h = read.numberOr(0, 'hidden_size');
  const f = read.numberOr(0, 'intermediate_size');
  const patch = read.numberOr(0, 'patch_size');
  const image = read.numberOr(0, 'image_size');
  const channels = read.numberOr(0, 'num_channels');
  // the Conv2d's stride is its kernel: a 384-px image in 14-px patches makes 27 x 27 of them
  const patches = Math.floor(image / patch) ** 2;
  // Conv2d patch embedding with bias, a position embedding per patch, post_layernorm.
  const embeddings = channels * patch * patch * h + h + patches * h + 2 * h;
  return {
    kind: 'siglip_vision_model',
    ...towerShape(read),
    patchSize: patch,
    imageSize: image,
    patchesPerImage: patches,
    tokensPerImage,
    ...VIT_ENCODER_LAYER,
    embeddingParameters: embeddings + (vision.vision_use_head === false ? 0 : poolingHead(h, f)),
    projector,
    projectorNormParameters,
  };
}

/** What a wrapper whose features are SigLIP's every patch plans one way, refused by the field:
 * another image encoder, and 'default' features (SigLIP has no class token; [:, 1:] would drop
 * a patch that `reader`, the code reading the features, needs). */
export function refuseUnplannedSiglip(
  root: ConfigReader,
  vision: Config,
  model: string,
  reader: string,
): void {
  if ((vision.model_type ?? 'siglip_vision_model') !== 'siglip_vision_model')
    root.fail(
      'vision_config.model_type',
      `${model}'s image encoder is planned as SigLIP's: give 'siglip_vision_model'`,
    );
  if ((root.config.vision_feature_select_strategy ?? 'full') !== 'full')
    root.fail(
      'vision_feature_select_strategy',
      `SigLIP has no class token to drop, and ${reader} needs every patch: give 'full'`,
    );
}
