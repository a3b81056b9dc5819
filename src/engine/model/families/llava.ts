// LLaVA (transformers models/llava/modeling_llava.py, LLaVA-1.5): the language model
// AutoModel.from_config(text_config) builds (a Llama, Mistral, Qwen2 ... read as its own family
// reads it), a CLIP image encoder (models/clip/modeling_clip.py CLIPVisionModel) whose
// penultimate block's output, without the class token, LlavaMultiModalProjector carries to
// the text width: linear_1, GELU, linear_2. LLaVA-NeXT (models/llava_next/
// modeling_llava_next.py) runs the same tower over an image's base crop and grid tiles and
// packs their tokens with a newline token ending each grid row.
import { PlanValidationError, VisionTower } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { towerShape } from '../family';
import { visionWrapper, wrappedTextConfig } from './text-configs';
import { refuseUnplannedSiglip, siglipTower, SO400M_384, VIT_ENCODER_LAYER } from './siglip';

/** The vision_config LlavaConfig builds when none is given (configuration_llava.py): CLIP
 * ViT-L/14 at 336 px. */
const LLAVA_VISION: Config = {
  hidden_size: 1024,
  intermediate_size: 4096,
  num_hidden_layers: 24,
  num_attention_heads: 16,
  image_size: 336,
  patch_size: 14,
};

/** CLIPVisionConfig's defaults (configuration_clip.py), under a vision_config LLaVA is given. */
const CLIP_VISION_DEFAULTS: Config = {
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  num_channels: 3,
  image_size: 224,
  patch_size: 32,
  hidden_act: 'quick_gelu',
};

/** LlavaConfig.__init__'s text_config: llama where it names no model_type. */
const llavaText = (root: Config) => wrappedTextConfig(root, 'llama');

/** LlavaConfig.__init__'s vision_config: CLIPVisionConfig's defaults under the one given, or
 * LLaVA-1.5's tower where none is. */
function llavaVision(root: Config): Config {
  const given = root.vision_config;
  const vision = given && typeof given === 'object' ? (given as Config) : LLAVA_VISION;
  return { model_type: 'clip_vision_model', ...CLIP_VISION_DEFAULTS, ...vision };
}

/** vision_feature_layer as blocks run before the features: -2 (LlavaConfig's default) is all
 * but the last block; a list of layers (features concatenated) is refused by the field. */
export function featureLayers(read: ConfigReader, layers: number, byDefault = -2): number {
  const given = read.config.vision_feature_layer ?? byDefault;
  const index = typeof given === 'number' && Number.isInteger(given) ? given : NaN;
  if (!(index >= -layers && index <= layers && index !== 0)) {
    read.fail(
      'vision_feature_layer',
      `give one block's hidden-state index, 1 to ${layers} or -${layers} to -1 (-2: the penultimate block); lists of layers are not planned yet`,
    );
    throw new PlanValidationError(read.errors);
  }
  // hidden_states[0] is the embeddings' output, hidden_states[i] block i's
  return index < 0 ? layers + 1 + index : index;
}

/** CLIPVisionModel under LLaVA: Conv2d patches (no bias), a class embedding and a position per
 * patch and the class token, pre_layrnorm, blocks of LayerNorms, q, k, v and out_proj and fc1,
 * quick_gelu, fc2 with biases, post_layernorm; then the projector to `textWidth`. */
function clipTower(root: ConfigReader, textWidth: number): VisionTower {
  const vision = llavaVision(root.config);
  if (vision.model_type !== 'clip_vision_model') {
    root.fail(
      'vision_config.model_type',
      "LLaVA's image encoder is planned as CLIP's: give 'clip_vision_model'",
    );
    throw new PlanValidationError(root.errors);
  }
  const read = new ConfigReader(vision, `${root.prefix}.vision_config`);
  const h = read.numberOr(0, 'hidden_size');
  const patch = read.numberOr(0, 'patch_size');
  const image = read.numberOr(0, 'image_size');
  const layers = read.numberOr(0, 'num_hidden_layers');
  const patches = Math.floor(image / patch) ** 2;
  const positions = patches + 1; // and the class token
  const conv = read.numberOr(0, 'num_channels') * patch * patch * h;
  const embeddings = conv + h + positions * h + 2 * h + 2 * h; // class, positions, two LayerNorms
  // vision_feature_select_strategy 'default' drops the class token, 'full' keeps it
  const strategy = root.config.vision_feature_select_strategy ?? 'default';
  const bias = root.config.multimodal_projector_bias !== false;
  return {
    kind: 'clip_vision_model',
    ...towerShape(read),
    patchSize: patch,
    imageSize: image,
    patchesPerImage: positions,
    tokensPerImage: strategy === 'full' ? positions : patches,
    ...VIT_ENCODER_LAYER,
    embeddingParameters: embeddings,
    projector: [
      { name: 'multi_modal_projector.linear_1', inFeatures: h, outFeatures: textWidth, bias },
      {
        name: 'multi_modal_projector.linear_2',
        inFeatures: textWidth,
        outFeatures: textWidth,
        bias,
      },
    ],
    projectorNormParameters: 0,
    layout: 'clip',
    ...(vision.hidden_act === 'quick_gelu' ? { activation: 'quick_gelu' as const } : {}),
    featureLayers: featureLayers(root, layers),
  };
}

/** LlavaNextConfig's image_grid_pinpoints (configuration_llava_next.py), as (height, width). */
const LLAVA_NEXT_PINPOINTS = [
  [336, 672],
  [672, 336],
  [672, 672],
  [1008, 336],
  [336, 1008],
];

/** The grid resolution an image is planned at: the pinpoint of the most tiles (the most
 * tokens among them), which select_best_resolution picks for an image of that shape. */
function largestGrid(
  read: ConfigReader,
  crop: number,
  pinpoints: number[][] = LLAVA_NEXT_PINPOINTS,
): { rows: number; cols: number } {
  const given = read.config.image_grid_pinpoints ?? pinpoints;
  const grids = Array.isArray(given)
    ? given.map((p) =>
        Array.isArray(p) &&
        p.length === 2 &&
        p.every((side) => Number.isInteger(side) && side >= crop)
          ? { rows: Math.floor(p[0] / crop), cols: Math.floor(p[1] / crop) }
          : undefined,
      )
    : [];
  if (grids.length === 0 || grids.some((grid) => grid === undefined)) {
    read.fail(
      'image_grid_pinpoints',
      `give [height, width] pairs of at least the crop size (${crop} px), as the checkpoint's config.json does`,
    );
    throw new PlanValidationError(read.errors);
  }
  const size = (g: { rows: number; cols: number }) => [g.rows * g.cols, g.rows * (g.cols + 1)];
  return grids.reduce((best, grid) => {
    const [a, b] = [size(grid!), size(best!)];
    return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]) ? grid : best;
  })!;
}

/** LLaVA-NeXT's anyres (modeling_llava_next.py): the base crop and the tiles of the grid
 * resolution each through the tower; the image's tokens are the base crop's and the grid's,
 * a newline token ending each of its rows. */
function anyresTower(root: ConfigReader, textWidth: number): VisionTower {
  const tower = clipTower(root, textWidth);
  if (tower.tokensPerImage !== tower.patchesPerImage - 1) {
    root.fail(
      'vision_feature_select_strategy',
      "LLaVA-NeXT's grid packing reads each crop without its class token: give 'default'",
    );
    throw new PlanValidationError(root.errors);
  }
  const side = Math.sqrt(tower.tokensPerImage); // patches along a crop's side
  const grid = largestGrid(root, tower.imageSize);
  const crops = 1 + grid.rows * grid.cols;
  return {
    ...tower,
    crops,
    cropFeatures: tower.tokensPerImage,
    patchesPerImage: crops * tower.patchesPerImage,
    tokensPerImage: tower.tokensPerImage + grid.rows * side * (grid.cols * side + 1),
    projectorNormParameters: textWidth, // image_newline
  };
}

/** LlavaOnevisionConfig's image_grid_pinpoints (configuration_llava_onevision.py): every
 * [height, width] of 1 to 6 crops of 384 px a side. */
const ONEVISION_PINPOINTS = [1, 2, 3, 4, 5, 6].flatMap((rows) =>
  [1, 2, 3, 4, 5, 6].map((cols) => [384 * rows, 384 * cols]),
);

/** vision_aspect_ratio 'anyres_max_N': a grid of more than N crops' worth of features (by 1.1
 * in side) is resized to about N (pack_image_features reads N with int(...strip('anyres_max_'))). */
function maxCrops(root: ConfigReader): number {
  const given = root.config.vision_aspect_ratio ?? 'anyres_max_9';
  const match = typeof given === 'string' ? /^anyres_max_(\d+)$/.exec(given) : null;
  if (!match || Number(match[1]) < 1) {
    root.fail(
      'vision_aspect_ratio',
      "give 'anyres_max_N' with N at least 1 (the default: 'anyres_max_9')",
    );
    throw new PlanValidationError(root.errors);
  }
  return Number(match[1]);
}

/** LlavaOnevisionModel.pack_image_features on the grid's features (H x W of them): where
 * sqrt(H x W / (N x side^2)) exceeds 1.1, nn.functional.interpolate (bilinear) to
 * int(H // ratio) x int(W // ratio). */
function resizedGrid(height: number, width: number, side: number, max: number) {
  const ratio = Math.sqrt((height * width) / (max * side * side));
  if (ratio <= 1.1) return { height, width, resized: false };
  return { height: Math.floor(height / ratio), width: Math.floor(width / ratio), resized: true };
}

/** LLaVA-OneVision (modeling_llava_onevision.py): SigLIP (no class token, so strategy 'full')
 * over the base crop and the grid's tiles, hidden_states[vision_feature_layer] (-1: the last
 * block's output, before post_layernorm) through LlavaOnevisionMultiModalProjector (linear_1,
 * GELU, linear_2); the grid's features resized where they exceed anyres_max_N, a newline token
 * ending each row, after the base crop's. */
function onevisionTower(root: ConfigReader, textWidth: number): VisionTower {
  const given = root.config.vision_config;
  const vision = given && typeof given === 'object' ? (given as Config) : SO400M_384;
  refuseUnplannedSiglip(root, vision, 'LLaVA-OneVision', 'pack_image_features');
  if (root.errors.length > 0) throw new PlanValidationError(root.errors);
  const h = new ConfigReader(vision, `${root.prefix}.vision_config`).numberOr(1152, 'hidden_size');
  const bias = root.config.multimodal_projector_bias !== false;
  const projector = [
    { name: 'multi_modal_projector.linear_1', inFeatures: h, outFeatures: textWidth, bias },
    { name: 'multi_modal_projector.linear_2', inFeatures: textWidth, outFeatures: textWidth, bias },
  ];
  const tower = siglipTower(vision, projector, textWidth, 0); // image_newline: text-wide
  const patches = tower.patchesPerImage;
  const side = Math.sqrt(patches);
  const grid = largestGrid(root, tower.imageSize, ONEVISION_PINPOINTS);
  const crops = 1 + grid.rows * grid.cols;
  const packed = resizedGrid(grid.rows * side, grid.cols * side, side, maxCrops(root));
  return {
    ...tower,
    layout: 'onevision',
    crops,
    cropFeatures: patches,
    patchesPerImage: crops * patches,
    tokensPerImage: patches + packed.height * (packed.width + 1),
    ...(packed.resized ? { resizedGridTokens: packed.height * packed.width } : {}),
    featureLayers: featureLayers(root, tower.layers, -1),
  };
}

export const llava = visionWrapper('llava', llavaText, clipTower);

export const llavaOnevision = visionWrapper(
  'llava_onevision',
  (root) => wrappedTextConfig(root, 'qwen2'), // LlavaOnevisionConfig's text_config default
  onevisionTower,
  (tower) =>
    `LLaVA-OneVision's images planned at the largest grid of image_grid_pinpoints: ${tower.crops} crops of ${tower.imageSize} px each through the tower, ${tower.tokensPerImage} tokens an image${tower.resizedGridTokens ? ` (the grid's features resized to ${tower.resizedGridTokens} by anyres_max)` : ''}; smaller images make fewer`,
);

export const llavaNext = visionWrapper(
  'llava_next',
  llavaText,
  anyresTower,
  (tower) =>
    `LLaVA-NeXT's images planned at the largest grid of image_grid_pinpoints: ${tower.crops} crops of ${tower.imageSize} px each through the tower, ${tower.tokensPerImage} tokens an image; smaller images make fewer`,
);
