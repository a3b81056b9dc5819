// Qwen3-VL and Qwen3-VL-MoE (transformers models/qwen3_vl/modeling_qwen3_vl.py,
// models/qwen3_vl_moe/modular_qwen3_vl_moe.py): a Qwen3 (or Qwen3-MoE) text stack under
// text_config, its interleaved M-RoPE tables as wide as RoPE's, and Qwen3VLVisionModel, whose
// deepstack mergers add the tower's intermediate states to the text stack's first layers.
import { DeepstackMerger, VisionTower } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { PlanValidationError } from '../../vocabulary';
import { Family, readSparseLayers, textConfigOrRoot, visionConfigOf } from '../family';
import { qwenPatchGrid } from './qwen2-vl';

/** Qwen3VLTextConfig's defaults. */
const QWEN3_VL_TEXT_DEFAULTS: Config = {
  vocab_size: 151936,
  hidden_size: 4096,
  intermediate_size: 22016,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  head_dim: 128,
  hidden_act: 'silu',
  max_position_embeddings: 128000,
  tie_word_embeddings: false,
  attention_bias: false,
};

/** Qwen3VLMoeTextConfig's defaults: Qwen3MoeConfig's (vocab_size, hidden_size) with its own. */
const QWEN3_VL_MOE_TEXT_DEFAULTS: Config = {
  vocab_size: 151936,
  hidden_size: 2048,
  intermediate_size: 5632,
  num_hidden_layers: 24,
  num_attention_heads: 16,
  num_key_value_heads: 16,
  hidden_act: 'silu',
  max_position_embeddings: 128000,
  moe_intermediate_size: 1408,
  num_experts_per_tok: 4,
  num_experts: 60,
  tie_word_embeddings: true,
  attention_bias: false,
};

/** Qwen3VLVisionConfig's defaults. */
const QWEN3_VL_VISION_DEFAULTS: Config = {
  depth: 27,
  hidden_size: 1152,
  intermediate_size: 4304,
  num_heads: 16,
  in_channels: 3,
  patch_size: 16,
  spatial_merge_size: 2,
  temporal_patch_size: 2,
  out_hidden_size: 3584,
  num_position_embeddings: 2304,
  deepstack_visual_indexes: [8, 16, 24],
};

/** Qwen3VLVisionModel: a biased Conv3d patch embedding and a learned position table
 * (pos_embed), LayerNorm blocks with a biased qkv and proj and a plain gelu_pytorch_tanh MLP
 * with biases, then Qwen3VLVisionPatchMerger (a LayerNorm over each patch, then linear_fc1 over
 * 2 x 2 merged patches, GELU, linear_fc2 to the text width); with `deepstack`, one more merger
 * (its LayerNorm over the merged patches) per deepstack_visual_indexes entry. Qwen3.5 keeps the
 * tower without them. */
export function qwen3VlTower(vision: Config, kind: string, deepstack: boolean): VisionTower {
  const read = new ConfigReader({ ...QWEN3_VL_VISION_DEFAULTS, ...vision }, 'vision_config');
  const width = read.numberOr(0, 'hidden_size');
  const grid = qwenPatchGrid(read, width);
  const { imageSize, patch, patches, tokens, mergedWidth, convWeights, pixelsPerPatch } = grid;
  const outWidth = read.numberOr(0, 'out_hidden_size');
  const tower: VisionTower = {
    kind,
    layers: read.numberOr(0, 'depth'),
    hiddenSize: width,
    intermediateSize: read.numberOr(0, 'intermediate_size'),
    heads: read.numberOr(0, 'num_heads'),
    patchSize: patch,
    imageSize,
    patchesPerImage: patches,
    tokensPerImage: tokens,
    norm: 'layernorm',
    mlp: 'plain',
    layout: 'qwen', // Qwen3VLVisionAttention's qkv and fp32 rotary, the merger's norm per patch
    linearNames: ['attn.qkv', 'attn.proj', 'mlp.linear_fc1', 'mlp.linear_fc2'],
    attentionBias: true,
    mlpBias: true,
    // the Conv3d's weights and bias, and pos_embed's rows
    embeddingParameters: convWeights + width + read.numberOr(0, 'num_position_embeddings') * width,
    pixelsPerPatch,
    projector: [
      { name: 'merger.linear_fc1', inFeatures: mergedWidth, outFeatures: mergedWidth, bias: true },
      { name: 'merger.linear_fc2', inFeatures: mergedWidth, outFeatures: outWidth, bias: true },
    ],
    projectorNormParameters: 2 * width, // merger.norm: LayerNorm(hidden_size)
  };
  if (deepstack) {
    const indexes = read.integers('deepstack_visual_indexes') ?? [];
    tower.deepstack = indexes.map((afterLayer): DeepstackMerger => ({
      afterLayer,
      inFeatures: mergedWidth,
      outFeatures: outWidth,
    }));
  }
  return tower;
}

/** deepstack_visual_indexes names tower blocks: a list of integers from 0, or absent. */
function refuseBadDeepstack(read: ConfigReader, indexes: unknown): void {
  if (indexes === undefined) return;
  if (Array.isArray(indexes) && indexes.every((i) => Number.isInteger(i) && (i as number) >= 0))
    return;
  read.fail(
    'vision_config.deepstack_visual_indexes',
    "must be a list of vision block indices (integers from 0), as the checkpoint's config.json gives it",
  );
  throw new PlanValidationError(read.errors);
}

/** The Qwen 3 generation's families: a gated MLP and two RMSNorms a layer, the text fields
 * under text_config where the checkpoint has a vision tower (else at the root). */
export function qwen3Family(types: string[], defaults: Config, refine: Family['refine']): Family {
  return {
    types,
    mlp: 'gated',
    norm: 'rmsnorm',
    normsPerLayer: 2,
    defaults,
    textConfig: textConfigOrRoot,
    refine,
  };
}

function qwen3VlFamily(types: string[], defaults: Config, moe: boolean): Family {
  return qwen3Family(types, defaults, (arch, read, { root }) => {
    arch.qkNorm = true; // Qwen3VLTextAttention: q_norm and k_norm over head_dim
    // Qwen3VLMoeTextTopKRouter always divides the top-k weights by their sum
    if (moe && arch.moe && !read.config.moe) arch.moe.renormalize = true;
    readSparseLayers(arch, read);
    if (!root.vision_config) return;
    refuseBadDeepstack(read, visionConfigOf(root).deepstack_visual_indexes);
    arch.vision = qwen3VlTower(visionConfigOf(root), types[0], true);
  });
}

export const qwen3Vl = qwen3VlFamily(['qwen3_vl', 'qwen3_vl_text'], QWEN3_VL_TEXT_DEFAULTS, false);
export const qwen3VlMoe = qwen3VlFamily(
  ['qwen3_vl_moe', 'qwen3_vl_moe_text'],
  QWEN3_VL_MOE_TEXT_DEFAULTS,
  true,
);
