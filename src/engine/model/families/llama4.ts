// Llama-4 (modeling_llama4.py): MoE layers with one routed expert and a shared expert,
// chunked attention on RoPE layers, full attention without RoPE on every fourth (NoPE), a
// weightless L2 q/k norm, and a ViT image encoder with a pixel-shuffle adapter.
import { Config } from '../config-reader';
import {
  Family,
  indicesWhere,
  noRopeIndices,
  ropeFlags,
  textConfigOrRoot,
  visionConfigOf,
} from '../family';
import { ModelArchitecture, VisionTower } from '../../vocabulary';
import { ConfigReader } from '../config-reader';

/** Llama4TextConfig's defaults (configuration_llama4.py). */
const LLAMA4_TEXT_DEFAULTS: Config = {
  vocab_size: 202048,
  hidden_size: 5120,
  intermediate_size: 8192,
  intermediate_size_mlp: 16384,
  num_hidden_layers: 48,
  num_attention_heads: 40,
  num_key_value_heads: 8,
  head_dim: 128,
  max_position_embeddings: 131072,
  tie_word_embeddings: false,
  num_experts_per_tok: 1,
  num_local_experts: 16,
  interleave_moe_layer_step: 1,
  no_rope_layer_interval: 4,
  attention_chunk_size: 8192,
};

/** Llama4VisionConfig's defaults (configuration_llama4.py). */
const LLAMA4_VISION_DEFAULTS: Config = {
  hidden_size: 768,
  num_hidden_layers: 34,
  num_attention_heads: 16,
  num_channels: 3,
  intermediate_size: 5632,
  vision_output_dim: 7680,
  image_size: 448,
  patch_size: 14,
  pixel_shuffle_ratio: 0.5,
  projector_input_dim: 4096,
  projector_output_dim: 4096,
};

/** The routed experts, shared expert and MoE layers (Llama4TextMoe). */
function llama4Moe(arch: ModelArchitecture, read: ConfigReader): void {
  const step = read.numberOr(1, 'interleave_moe_layer_step');
  const width = read.numberOr(8192, 'intermediate_size');
  arch.moe = {
    numExperts: read.numberOr(16, 'num_local_experts'),
    expertsPerToken: read.numberOr(1, 'num_experts_per_tok'),
    expertIntermediateSize: width,
    sharedExperts: 1, // Llama4TextMoe.shared_expert: one gated MLP of intermediate_size
    sharedExpertIntermediateSize: width,
    firstDenseLayers: 0,
    routerBias: false,
    router: 'top-k-sigmoid', // Llama4Router: top-k logits scattered into -inf, fp32 sigmoid
    denseExperts: true, // Llama4TextMoe: hidden_states.repeat(num_experts, 1) through every expert
    layers:
      read.integers('moe_layers') ?? indicesWhere(arch.numLayers, (i) => i % step === step - 1),
  };
  // Dense layers use intermediate_size_mlp (Llama4TextMLP in Llama4TextDecoderLayer).
  arch.intermediateSize = read.numberOr(16384, 'intermediate_size_mlp');
}

/** Llama4VisionModel and Llama4MultiModalProjector. */
function llama4Tower(vision: Config, textWidth: number): VisionTower {
  const read = new ConfigReader({ ...LLAMA4_VISION_DEFAULTS, ...vision }, 'vision_config');
  const h = read.numberOr(0, 'hidden_size');
  const patch = read.numberOr(0, 'patch_size');
  const image = read.numberOr(0, 'image_size');
  const patches = (image / patch) ** 2;
  const shuffle = read.numberOr(0.5, 'pixel_shuffle_ratio');
  const f = read.numberOr(0, 'intermediate_size');
  const projectorIn = read.numberOr(0, 'projector_input_dim');
  const projectorOut = read.numberOr(0, 'projector_output_dim');
  // Unfold patch linear (c p^2 -> h, no bias), class embedding, positional_embedding_vlm over
  // patches + 1, layernorm_pre and layernorm_post (weight and bias).
  const embeddings =
    read.numberOr(3, 'num_channels') * patch * patch * h + h + (patches + 1) * h + 4 * h;
  return {
    kind: 'llama4_vision_model',
    layers: read.numberOr(0, 'num_hidden_layers'),
    hiddenSize: h,
    intermediateSize: f,
    heads: read.numberOr(0, 'num_attention_heads'),
    patchSize: patch,
    imageSize: image,
    patchesPerImage: patches,
    tokensPerImage: patches * shuffle * shuffle, // pixel shuffle merges 1 / ratio^2 patches
    norm: 'layernorm',
    mlp: 'plain',
    attentionBias: true,
    mlpBias: true,
    embeddingParameters: embeddings,
    projector: [
      // Llama4VisionPixelShuffleMLP: fc1 (intermediate -> projector_input), fc2, no biases.
      { name: 'vision_adapter.fc1', inFeatures: f, outFeatures: projectorIn, bias: false },
      {
        name: 'vision_adapter.fc2',
        inFeatures: projectorOut,
        outFeatures: projectorOut,
        bias: false,
      },
      // Llama4MultiModalProjector.linear_1: vision_output_dim -> text hidden, no bias.
      {
        name: 'multi_modal_projector',
        inFeatures: read.numberOr(0, 'vision_output_dim'),
        outFeatures: textWidth,
        bias: false,
      },
    ],
    projectorNormParameters: 0,
  };
}

export const llama4: Family = {
  types: ['llama4', 'llama4_text'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: LLAMA4_TEXT_DEFAULTS,
  textConfig: textConfigOrRoot,
  refine: (arch, read, { root }) => {
    arch.qkNorm = false; // Llama4TextL2Norm has no weight
    llama4Moe(arch, read);
    const rope = ropeFlags(read, arch.numLayers);
    arch.noRopeLayers = noRopeIndices(rope);
    arch.attentionChunkSize = read.numberOr(8192, 'attention_chunk_size');
    arch.layerTypes = Array.isArray(read.config.layer_types)
      ? (read.config.layer_types as ModelArchitecture['layerTypes'])
      : rope.map((flag) => (flag ? 'chunked_attention' : 'full_attention'));
    if (root.vision_config) arch.vision = llama4Tower(visionConfigOf(root), arch.hiddenSize);
  },
};
