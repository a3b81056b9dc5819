// Qwen2-VL and Qwen2.5-VL (modeling_qwen2_vl.py, modeling_qwen2_5_vl.py): a Qwen2 text stack
// (its fields at the root in older checkpoints, under text_config in newer ones) and a ViT with
// a 3D patch embedding whose merger joins 2 x 2 patches into one text token.
import { VisionTower } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { Family, textConfigOrRoot, visionConfigOf } from '../family';

/** Qwen2VLTextConfig's and Qwen2_5_VLTextConfig's defaults (the same values in both files). */
const QWEN2_VL_TEXT_DEFAULTS: Config = {
  vocab_size: 152064,
  hidden_size: 8192,
  intermediate_size: 29568,
  num_hidden_layers: 80,
  num_attention_heads: 64,
  num_key_value_heads: 8,
  max_position_embeddings: 32768,
  tie_word_embeddings: false,
  use_sliding_window: false,
};

/** Qwen2VLVisionConfig's defaults: embed_dim is the ViT width, hidden_size the text width. */
const QWEN2_VL_VISION_DEFAULTS: Config = {
  depth: 32,
  embed_dim: 1280,
  mlp_ratio: 4,
  num_heads: 16,
  in_channels: 3,
  patch_size: 14,
  spatial_merge_size: 2,
  temporal_patch_size: 2,
};

/** Qwen2_5_VLVisionConfig's defaults: hidden_size is the ViT width, out_hidden_size the text's. */
const QWEN2_5_VL_VISION_DEFAULTS: Config = {
  depth: 32,
  hidden_size: 3584,
  intermediate_size: 3420,
  num_heads: 16,
  in_channels: 3,
  patch_size: 14,
  spatial_merge_size: 2,
  temporal_patch_size: 2,
};

/** Images are seen at their own resolution; the counts assume this one (min_pixels..max_pixels
 * of the processor span it). */
const NOMINAL_IMAGE_SIZE = 448;

/** The Qwen ViTs' patch grid at the nominal image size: patch_size square patches, 2 x 2 of
 * them merged into one text token (spatial_merge_size), and the Conv3d patch embedding's
 * weights over temporal_patch_size frames. */
export function qwenPatchGrid(read: ConfigReader, width: number) {
  const patch = read.numberOr(0, 'patch_size');
  const merge = read.numberOr(2, 'spatial_merge_size');
  const patches = (NOMINAL_IMAGE_SIZE / patch) ** 2;
  const channels = read.numberOr(3, 'in_channels') * read.numberOr(2, 'temporal_patch_size');
  return {
    imageSize: NOMINAL_IMAGE_SIZE,
    patch,
    patches,
    tokens: patches / (merge * merge),
    mergedWidth: width * merge * merge,
    convWeights: channels * patch * patch * width,
    pixelsPerPatch: channels * patch * patch,
  };
}

function qwenTower(read: ConfigReader, version: 2 | 2.5, textWidth: number): VisionTower {
  const width = version === 2 ? read.numberOr(0, 'embed_dim') : read.numberOr(0, 'hidden_size');
  const f =
    version === 2 ? width * read.numberOr(4, 'mlp_ratio') : read.numberOr(0, 'intermediate_size');
  const grid = qwenPatchGrid(read, width);
  const { imageSize, patch, patches, tokens, mergedWidth, convWeights, pixelsPerPatch } = grid;
  return {
    kind: version === 2 ? 'qwen2_vl' : 'qwen2_5_vl',
    layers: read.numberOr(0, 'depth'),
    hiddenSize: width,
    intermediateSize: f,
    heads: read.numberOr(0, 'num_heads'),
    patchSize: patch,
    imageSize,
    patchesPerImage: patches,
    tokensPerImage: tokens,
    // Qwen2-VL: LayerNorms and a quick-GELU MLP; Qwen2.5-VL: RMSNorms and a gated SiLU MLP.
    norm: version === 2 ? 'layernorm' : 'rmsnorm',
    mlp: version === 2 ? 'plain' : 'gated',
    layout: 'qwen', // VisionAttention's qkv and fp32 rotary, PatchMerger's ln_q, mlp.0, GELU, mlp.2
    linearNames: [
      'attn.qkv',
      'attn.proj',
      ...(version === 2 ? ['fc1', 'fc2'] : ['gate_proj', 'up_proj', 'down_proj']).map(
        (n) => `mlp.${n}`,
      ),
    ],
    attentionBias: true,
    mlpBias: true,
    embeddingParameters: convWeights, // Conv3d without a bias
    pixelsPerPatch,
    // PatchMerger: ln_q, then Linear(4w, 4w) -> GELU -> Linear(4w, text width), with biases.
    projector: [
      { name: 'merger.mlp.0', inFeatures: mergedWidth, outFeatures: mergedWidth, bias: true },
      { name: 'merger.mlp.2', inFeatures: mergedWidth, outFeatures: textWidth, bias: true },
    ],
    projectorNormParameters: version === 2 ? 2 * width : width,
  };
}

function visionReader(root: Config, version: 2 | 2.5): ConfigReader {
  const defaults = version === 2 ? QWEN2_VL_VISION_DEFAULTS : QWEN2_5_VL_VISION_DEFAULTS;
  return new ConfigReader({ ...defaults, ...visionConfigOf(root) }, 'vision_config');
}

export const qwen2Vl: Family = {
  types: ['qwen2_vl', 'qwen2_5_vl'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: QWEN2_VL_TEXT_DEFAULTS,
  textConfig: textConfigOrRoot,
  refine: (arch, read, { root, type }) => {
    arch.qkvBias = true; // Qwen2 attention: q/k/v with bias, o_proj without
    arch.attentionOutputBias = false;
    const version = type === 'qwen2_vl' ? 2 : 2.5;
    if (root.vision_config)
      arch.vision = qwenTower(visionReader(root, version), version, arch.hiddenSize);
  },
};
