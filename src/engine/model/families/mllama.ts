// Llama-3.2-Vision / Mllama (modeling_mllama.py): a Llama text stack in which some layers are
// gated cross-attention layers over the image states, and a tiled ViT with gated global layers.
import { VisionTower } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { Family, textConfigOrRoot, visionConfigOf } from '../family';

/** MllamaTextConfig's defaults (configuration_mllama.py). */
const MLLAMA_TEXT_DEFAULTS: Config = {
  vocab_size: 128256,
  hidden_size: 4096,
  num_hidden_layers: 40,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  intermediate_size: 14336,
  max_position_embeddings: 131072,
  tie_word_embeddings: false,
  cross_attention_layers: [3, 8, 13, 18, 23, 28, 33, 38],
};

/** MllamaVisionConfig's defaults (configuration_mllama.py). */
const MLLAMA_VISION_DEFAULTS: Config = {
  hidden_size: 1280,
  num_hidden_layers: 32,
  num_global_layers: 8,
  attention_heads: 16,
  num_channels: 3,
  intermediate_size: 5120,
  vision_output_dim: 7680,
  image_size: 448,
  patch_size: 14,
  max_num_tiles: 4,
  supported_aspect_ratios: [
    [1, 1],
    [1, 2],
    [1, 3],
    [1, 4],
    [2, 1],
    [2, 2],
    [3, 1],
    [4, 1],
  ],
};

/** The tiled embeddings of MllamaVisionModel: patch conv, class embedding, the gated position
 * embedding with its per-aspect-ratio tile table, two gated aspect-ratio embeddings, pre/post
 * LayerNorms. */
function mllamaEmbeddings(read: ConfigReader, patches: number): number {
  const h = read.numberOr(0, 'hidden_size');
  const patch = read.numberOr(0, 'patch_size');
  const tiles = read.numberOr(0, 'max_num_tiles');
  const ratios = Array.isArray(read.config.supported_aspect_ratios)
    ? read.config.supported_aspect_ratios.length
    : 8;
  const ratioRows = ratios + 1; // nn.Embedding(max_aspect_ratio_id + 1, ...)
  const conv = read.numberOr(3, 'num_channels') * patch * patch * h;
  const position = 1 + patches * h + ratioRows * tiles * patches * h; // gate, table, tiles
  const aspect = 2 * (ratioRows * tiles * h + 1); // pre- and post-tile, each gated
  return conv + h + position + aspect + 4 * h;
}

function mllamaTower(vision: Config, textWidth: number): VisionTower {
  const read = new ConfigReader({ ...MLLAMA_VISION_DEFAULTS, ...vision }, 'vision_config');
  const patch = read.numberOr(0, 'patch_size');
  const image = read.numberOr(0, 'image_size');
  const patches = (image / patch) ** 2 + 1; // + the class token
  const globalLayers = read.numberOr(0, 'num_global_layers');
  return {
    kind: 'mllama_vision_model',
    layers: read.numberOr(0, 'num_hidden_layers') + globalLayers,
    hiddenSize: read.numberOr(0, 'hidden_size'),
    intermediateSize: read.numberOr(0, 'intermediate_size'),
    heads: read.numberOr(0, 'attention_heads'),
    patchSize: patch,
    imageSize: image,
    patchesPerImage: patches,
    tokensPerImage: patches * read.numberOr(0, 'max_num_tiles'), // cross-attention states
    norm: 'layernorm',
    mlp: 'plain',
    attentionBias: false, // MllamaVisionAttention: q/k/v/o with bias=False
    mlpBias: true, // MllamaVisionMLP: fc1 and fc2 with biases
    embeddingParameters: mllamaEmbeddings(read, patches),
    layerGates: 2 * globalLayers, // gate_attn and gate_ffn of each gated global layer
    projector: [
      {
        name: 'multi_modal_projector',
        inFeatures: read.numberOr(0, 'vision_output_dim'),
        outFeatures: textWidth,
        bias: true,
      },
    ],
    projectorNormParameters: 0,
  };
}

export const mllama: Family = {
  types: ['mllama'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: MLLAMA_TEXT_DEFAULTS,
  textConfig: textConfigOrRoot,
  refine: (arch, read, { root }) => {
    const cross = read.integers('cross_attention_layers') ?? [];
    arch.layerTypes = Array.from({ length: arch.numLayers }, (_, i) =>
      cross.includes(i) ? 'cross_attention' : 'full_attention',
    );
    arch.embeddingVocabSize = arch.vocabSize + 8; // MllamaTextModel: nn.Embedding(vocab_size + 8, h)
    if (root.vision_config) arch.vision = mllamaTower(visionConfigOf(root), arch.hiddenSize);
  },
};
