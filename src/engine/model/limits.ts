// The ranges a model's shape must lie in before anything is counted or planned: each the
// largest published value of its field times a margin, so every real model fits while a
// request cannot make one plan cost seconds, gigabytes, or figures past 2^53.
import {
  FieldError,
  ModelArchitecture,
  NORM_KINDS,
  ROUTER_KINDS,
  VisionTower,
} from '../vocabulary';
import { countParameters } from './parameters';
import { isMoeLayer, MIXER_CODES, mixerOf, singleModuleBlocks } from './layers';
import { blockShapes } from './vision';

interface Range {
  min: number;
  max: number;
  /** Whole numbers only (counts, widths); false for fractions and caps. */
  integer: boolean;
}

const count = (min: number, max: number): Range => ({ min, max, integer: true });
const real = (min: number, max: number): Range => ({ min, max, integer: false });

/** Width: MT-NLG 530B's hidden size of 20,480 is the widest published, x3. */
const MAX_HIDDEN = 65_536;
/** Depth of all stacks: DeepNet trained 1,000 layers (Wang et al. 2022); Llama-3.1-405B has 126. */
const MAX_LAYERS = 1_024;
/** Heads: 128 is the most published (Llama-3.1-405B, DeepSeek-V3), x8. */
const MAX_HEADS = 1_024;
/** Head width: 256 is the widest published (Gemma 7B), x4. */
const MAX_HEAD_DIM = 1_024;
/** MLP width: MT-NLG's 81,920 (4 x 20,480) is the widest published, x3. */
const MAX_MLP_WIDTH = 262_144;
/** Vocabulary: Gemma 3's 262,144 rows are the most published, x4. */
const MAX_VOCABULARY = 1_048_576;
/** Positions: Llama 4 Scout's 10M-token context, rounded up to 2^24. */
export const MAX_POSITIONS = 16_777_216;
/** Routed experts: Switch-C's 2,048 are the most published (Fedus et al. 2021), x2. */
const MAX_EXPERTS = 4_096;
/** Shared experts: DeepSeek-V2 uses 2, DeepSeekMoE 16B up to 8; 64 leaves room. */
const MAX_SHARED_EXPERTS = 64;
/** Norms in one layer: Gemma-2's 4 is the most published, x2. */
const MAX_NORMS_PER_LAYER = 8;
/** Low-rank projections (MLA): DeepSeek-V3's 1,536 for q, x~40 and never wider than h. */
const MAX_LORA_RANK = MAX_HIDDEN;
/** T5's relative-position buckets: 32 published, x32. */
const MAX_POSITION_BUCKETS = 1_024;
/** Soft caps: Gemma-2 uses 50 (scores) and 30 (logits); a cap past 1e6 caps nothing. */
const MAX_SOFTCAP = 1e6;
/** Parameters: Switch-C's 1.6T is the largest published, x~60; at 16 bytes a parameter
 * (mixed-precision Adam) the model states stay below 2^53 bytes. */
export const MAX_PARAMETERS = 1e14;
/** Text fields are names: 200 characters hold any published model id or display name. */
const MAX_TEXT = 200;
/** A source is a citation (repository, commit, file and the figure it gives): the catalog's
 * longest is 255 characters, x4. */
const MAX_SOURCE_TEXT = 1_000;
/** Notes are sentences: the engine's longest is about 250 characters, x4. */
const MAX_NOTE_TEXT = 1_000;
/** Notes on one model: the engine writes at most a handful (family assumed, parts not planned). */
const MAX_NOTES = 32;
/** State-space state per channel: Mamba-2's 128 is the largest published, x8. */
const MAX_SSM_STATE = 1_024;
/** Depthwise convolution width: Mamba's 4 is the only published value, x16. */
const MAX_SSM_CONV = 64;
// A 1-D convolution's width (DeBERTa-v2's ConvLayer: 3 published).
const MAX_CONV_KERNEL = 64;
/** Inner width over hidden width: Mamba's expand of 2 is the only published value, x8. */
const MAX_SSM_EXPAND = 16;
/** Image side in pixels: Gemma 3's 896 is the largest published fixed size, x~70. */
const MAX_IMAGE_SIDE = 65_536;
/** Crops of one image through a tower: LLaVA-NeXT's largest grids give 1 + 3 x 3, x~100. */
const MAX_CROPS = 1_024;
/** Patch side in pixels: 14 and 16 are published (SigLIP, Qwen2-VL), x64. */
const MAX_PATCH_SIDE = 1_024;
/** Linears in a vision projector: Idefics2's connector has 24 (modality_projection's 3, its
 * resampler's 7 a layer), x2 and more. */
const MAX_PROJECTOR_LINEARS = 64;
/** Log-mel bins of an audio encoder's input: Whisper's 80 and 128, x8. */
const MAX_MEL_BINS = 1_024;
/** A perceiver resampler's layers: Idefics2's 3, x2 (and 3 + 7 x 8 linears fit the 64). */
const MAX_RESAMPLER_DEPTH = 8;

/** Number ranges of the architecture's own fields. */
const ARCHITECTURE_RANGES: Partial<Record<keyof ModelArchitecture, Range>> = {
  hiddenSize: count(1, MAX_HIDDEN),
  numLayers: count(1, MAX_LAYERS),
  numAttentionHeads: count(1, MAX_HEADS),
  numKeyValueHeads: count(1, MAX_HEADS),
  headDim: count(1, MAX_HEAD_DIM),
  intermediateSize: count(0, MAX_MLP_WIDTH), // 0: MoE models with no dense MLP
  vocabSize: count(1, MAX_VOCABULARY),
  normsPerLayer: count(0, MAX_NORMS_PER_LAYER),
  learnedPositionEmbeddings: count(0, MAX_POSITIONS),
  maxPositionEmbeddings: count(1, MAX_POSITIONS),
  sequenceClassificationLabels: count(1, MAX_VOCABULARY),
  slidingWindow: count(1, MAX_POSITIONS),
  slidingWindowLayerFraction: real(0, 1),
  partialRotaryFactor: real(0, 1),
  attentionLogitSoftcapping: real(0, MAX_SOFTCAP),
  finalLogitSoftcapping: real(0, MAX_SOFTCAP),
  publishedParameters: count(0, MAX_PARAMETERS),
  embeddingVocabSize: count(1, MAX_VOCABULARY),
  embeddingWidth: count(1, MAX_HIDDEN),
  attentionChunkSize: count(1, MAX_POSITIONS),
};

/** What a nested block (moe, mla, encoder, ...) holds: exactly these numbers, optional
 * numbers, flags, texts, choices and lists of layer indices, and nothing else. */
interface BlockShape {
  numbers: Record<string, Range>;
  optionalNumbers?: Record<string, Range>;
  flags?: string[];
  texts?: string[];
  choices?: Record<string, readonly string[]>;
  /** Choices that may be absent (the engine's default then holds). */
  optionalChoices?: Record<string, readonly string[]>;
  /** Lists of layer indices (each also below numLayers: crossFieldErrors). */
  layerLists?: string[];
  /** Lists of nested blocks, with the most entries each may have. */
  blockLists?: Record<string, { shape: BlockShape; max: number }>;
  /** Lists of nested blocks that may be absent. */
  optionalBlockLists?: Record<string, { shape: BlockShape; max: number }>;
  /** Lists of names that may be absent, with the most entries each may have. */
  optionalTextLists?: Record<string, number>;
  /** Nested blocks that may be absent. */
  optionalBlocks?: Record<string, BlockShape>;
}

const MOE: BlockShape = {
  numbers: {
    numExperts: count(1, MAX_EXPERTS),
    expertsPerToken: count(1, MAX_EXPERTS),
    expertIntermediateSize: count(1, MAX_MLP_WIDTH),
    sharedExperts: count(0, MAX_SHARED_EXPERTS),
    sharedExpertIntermediateSize: count(0, MAX_MLP_WIDTH),
    firstDenseLayers: count(0, MAX_LAYERS),
  },
  optionalNumbers: { latentSize: count(1, MAX_MLP_WIDTH) },
  flags: [
    'routerBias',
    'routerBiasFp32',
    'routerWeightFp32',
    'renormalize',
    'sharedExpertGate',
    'expertBias',
    'denseExperts',
    'sharedExpertFirst',
  ],
  optionalChoices: { router: ROUTER_KINDS },
  layerLists: ['layers'],
};

const MLA: BlockShape = {
  numbers: {
    qLoraRank: count(0, MAX_LORA_RANK), // 0: q projected straight from h
    kvLoraRank: count(1, MAX_LORA_RANK),
    qkNopeHeadDim: count(1, MAX_HEAD_DIM),
    qkRopeHeadDim: count(0, MAX_HEAD_DIM),
    vHeadDim: count(1, MAX_HEAD_DIM),
  },
};

/** Whisper's audio input: 80 or 128 mel bins and 1,500 positions published. */
const AUDIO: BlockShape = {
  numbers: { melBins: count(1, MAX_MEL_BINS), frames: count(1, MAX_POSITIONS) },
};

const ENCODER: BlockShape = {
  numbers: {
    numLayers: count(1, MAX_LAYERS),
    relativeAttentionBuckets: count(0, MAX_POSITION_BUCKETS),
  },
  flags: ['finalNorm', 'stackEmbeddings', 'relativeBiasPerLayer'],
  optionalBlocks: { audio: AUDIO },
};

/** DeBERTa's relative position table: 256 buckets published (DeBERTa-v3), or up to every
 * position where it is not bucketed (DeBERTa-v1's 512). */
const DISENTANGLED: BlockShape = {
  numbers: { span: count(1, MAX_POSITIONS) },
  flags: [
    'contentToPosition',
    'positionToContent',
    'sharedKey',
    'normalized',
    'logBuckets',
    'inProjection',
  ],
};

/** DeBERTa-v2's ConvLayer: the published checkpoints' kernel of 3 and one group. */
const ENCODER_CONV: BlockShape = {
  numbers: { kernel: count(1, MAX_CONV_KERNEL), groups: count(1, MAX_HIDDEN) },
  choices: { activation: ['tanh', 'gelu'] },
};

const SSM: BlockShape = {
  numbers: {
    version: count(1, 2), // Mamba-1 or Mamba-2
    stateSize: count(1, MAX_SSM_STATE),
    convKernel: count(1, MAX_SSM_CONV),
    expand: real(0, MAX_SSM_EXPAND),
    innerSize: count(1, MAX_MLP_WIDTH),
    dtRank: count(0, MAX_HIDDEN),
    groups: count(1, MAX_HEADS),
    heads: count(0, MAX_MLP_WIDTH), // 0 for Mamba-1; Mamba-2 splits innerSize into heads
    headDim: count(0, MAX_HEAD_DIM),
  },
  flags: ['convBias', 'projBias', 'innerNorms', 'kernelNorms', 'gatedNorm', 'outProjBias'],
};

/** LFM2's short convolution: a few taps (LFM2 uses 3). */
const SHORT_CONV: BlockShape = {
  numbers: { cacheLength: count(1, MAX_SSM_CONV) },
  flags: ['bias'],
};

/** Qwen3-Next's Gated DeltaNet: heads as attention's, a convolution of a few taps (4). */
const GATED_DELTA: BlockShape = {
  numbers: {
    keyHeads: count(1, MAX_HEADS),
    valueHeads: count(1, MAX_HEADS),
    keyHeadDim: count(1, MAX_HEAD_DIM),
    valueHeadDim: count(1, MAX_HEAD_DIM),
    convKernel: count(1, MAX_SSM_CONV),
  },
  flags: ['splitProjections'],
};

const PROJECTOR_LINEAR: BlockShape = {
  numbers: {
    inFeatures: count(1, MAX_MLP_WIDTH),
    outFeatures: count(1, MAX_MLP_WIDTH),
  },
  flags: ['bias', 'parameter'],
  texts: ['name'],
};

/** Idefics2's perceiver resampler: its latents, layers and attention heads. */
const RESAMPLER: BlockShape = {
  numbers: {
    latents: count(1, MAX_POSITIONS),
    depth: count(1, MAX_RESAMPLER_DEPTH),
    heads: count(1, MAX_HEADS),
    kvHeads: count(1, MAX_HEADS),
    headDim: count(1, MAX_HEAD_DIM),
  },
};

/** A deepstack merger reads one tower block's output (one past the last never runs). */
const DEEPSTACK_MERGER: BlockShape = {
  numbers: {
    afterLayer: count(0, MAX_LAYERS),
    inFeatures: count(1, MAX_MLP_WIDTH),
    outFeatures: count(1, MAX_MLP_WIDTH),
  },
};

const VISION: BlockShape = {
  numbers: {
    layers: count(1, MAX_LAYERS),
    hiddenSize: count(1, MAX_HIDDEN),
    intermediateSize: count(1, MAX_MLP_WIDTH),
    heads: count(1, MAX_HEADS),
    patchSize: count(1, MAX_PATCH_SIDE),
    imageSize: count(1, MAX_IMAGE_SIDE),
    patchesPerImage: count(1, MAX_POSITIONS),
    tokensPerImage: count(0, MAX_POSITIONS),
    embeddingParameters: count(0, MAX_PARAMETERS),
    projectorNormParameters: count(0, MAX_PARAMETERS),
  },
  optionalNumbers: {
    layerGates: count(0, 2 * MAX_LAYERS), // two scalar gates a layer
    featureLayers: count(1, MAX_LAYERS),
    crops: count(1, MAX_CROPS),
    pixelShuffle: count(1, MAX_PATCH_SIDE),
    cropFeatures: count(1, MAX_POSITIONS),
    resizedGridTokens: count(1, MAX_POSITIONS),
    pixelsPerPatch: count(1, MAX_MLP_WIDTH),
  },
  flags: ['attentionBias', 'mlpBias', 'projectionBias', 'qkNorm', 'layerScale'],
  texts: ['kind'],
  // a tower's norms have weights (recipes/vision-weights.ts builds them)
  choices: { norm: ['rmsnorm', 'layernorm', 'layernorm-nobias'], mlp: ['gated', 'plain'] },
  optionalChoices: {
    layout: ['qwen', 'clip', 'internvl', 'idefics3', 'paligemma', 'onevision', 'aya', 'idefics2'],
    bidirectional: ['images', 'prefix'],
    activation: ['quick_gelu'],
  },
  blockLists: { projector: { shape: PROJECTOR_LINEAR, max: MAX_PROJECTOR_LINEARS } },
  optionalBlockLists: { deepstack: { shape: DEEPSTACK_MERGER, max: MAX_LAYERS } },
  optionalBlocks: { resampler: RESAMPLER },
  // one name per linear of a block: q, k, v and o (or qkv and proj), then up to three MLP linears
  optionalTextLists: { linearNames: 7 },
};

/** Multi-token-prediction modules: DeepSeek-V3 publishes one. */
const MTP: BlockShape = { numbers: { layers: count(1, MAX_LAYERS) } };

/** Dropout probabilities: 0 (off) to 1. */
const DROPOUT: BlockShape = {
  numbers: { attention: real(0, 1), residual: real(0, 1), embedding: real(0, 1) },
  optionalNumbers: { activation: real(0, 1) },
};

const BLOCKS: [keyof ModelArchitecture, BlockShape][] = [
  ['moe', MOE],
  ['mla', MLA],
  ['encoder', ENCODER],
  ['disentangled', DISENTANGLED],
  ['encoderConv', ENCODER_CONV],
  ['ssm', SSM],
  ['shortConv', SHORT_CONV],
  ['gatedDelta', GATED_DELTA],
  ['vision', VISION],
  ['mtp', MTP],
  ['dropout', DROPOUT],
];

/** Layer kinds of `layerTypes` (Hugging Face's layer_types and the hybrid stacks' mixers). */
const LAYER_TYPES: readonly string[] = [
  'full_attention',
  'sliding_attention',
  'chunked_attention',
  'cross_attention',
  'mamba',
  'mamba2',
  'conv',
  'linear_attention',
  'hybrid',
  'mlp',
  'moe',
];

const FLAGS: string[] = [
  'tieWordEmbeddings',
  'parallelResidual',
  'normAfterResidual',
  'fusedQkv',
  'fusedGateUp',
  'qkNorm',
  'qkNormPerHead',
  'attentionOutputGate',
  'qkvBias',
  'attentionOutputBias',
  'mlpBias',
  'embeddingNorm',
  'finalNorm',
  'outputHeadBias',
  'maskedLmHead',
  'headDenseBias',
  'normlessFirstAttention',
  'keyBias',
  'attentionSinks',
];
const TEXTS: string[] = ['id', 'name', 'hfId', 'activation', 'modelType', 'wrapperType'];
const CHOICES: Record<string, readonly string[]> = {
  mlp: ['gated', 'plain'],
  norm: NORM_KINDS,
};

/** Config.json keys the architecture reads as plain numbers, with the range each must lie in
 * (the architecture's own field they feed is named in the comment where it differs). */
const CONFIG_RANGES: Record<string, Range> = {
  type_vocab_size: count(0, MAX_VOCABULARY), // BERT's token types: learnedPositionEmbeddings
  word_embed_proj_dim: count(1, MAX_HIDDEN), // OPT: embeddingWidth
  // DistilBERT's and MPT's own names for the common fields (their families map them).
  dim: count(1, MAX_HIDDEN),
  n_layers: count(1, MAX_LAYERS),
  n_heads: count(1, MAX_HEADS),
  hidden_dim: count(1, MAX_MLP_WIDTH),
  max_seq_len: count(1, MAX_POSITIONS),
  num_decoder_layers: count(1, MAX_LAYERS), // T5: numLayers = encoder + decoder
  // BART's and mBART's names (families/bart.ts maps the encoder's to the common fields).
  d_model: count(1, MAX_HIDDEN),
  encoder_layers: count(1, MAX_LAYERS),
  decoder_layers: count(1, MAX_LAYERS),
  encoder_attention_heads: count(1, MAX_HEADS),
  decoder_attention_heads: count(1, MAX_HEADS),
  encoder_ffn_dim: count(1, MAX_MLP_WIDTH),
  decoder_ffn_dim: count(1, MAX_MLP_WIDTH),
  relative_attention_num_buckets: count(0, MAX_POSITION_BUCKETS),
  // DeBERTa-v2's relative positions (families/deberta-v2.ts: disentangled.span)
  position_buckets: count(-1, MAX_POSITIONS),
  max_relative_positions: count(-1, MAX_POSITIONS),
  conv_kernel_size: count(0, MAX_CONV_KERNEL),
  conv_groups: count(1, MAX_HIDDEN),
  attention_head_size: count(1, MAX_HEAD_DIM),
  // ModernBERT's layer pattern and local window (families/modernbert.ts)
  global_attn_every_n_layers: count(1, MAX_LAYERS),
  local_attention: count(2, MAX_POSITIONS),
  n_positions: count(1, MAX_POSITIONS),
  num_local_experts: count(0, MAX_EXPERTS),
  num_experts: count(0, MAX_EXPERTS),
  n_routed_experts: count(0, MAX_EXPERTS),
  num_experts_per_tok: count(1, MAX_EXPERTS),
  // Nemotron-H's own names (families/nemotron-h.ts)
  mamba_num_heads: count(1, MAX_HEADS),
  mamba_head_dim: count(1, MAX_HEAD_DIM),
  ssm_state_size: count(1, MAX_SSM_STATE),
  conv_kernel: count(1, MAX_SSM_CONV),
  n_groups: count(1, MAX_HEADS),
  moe_shared_expert_intermediate_size: count(0, MAX_MLP_WIDTH),
  moe_latent_size: count(1, MAX_MLP_WIDTH),
  moe_intermediate_size: count(1, MAX_MLP_WIDTH),
  n_shared_experts: count(0, MAX_SHARED_EXPERTS),
  shared_expert_intermediate_size: count(0, MAX_MLP_WIDTH),
  first_k_dense_replace: count(0, MAX_LAYERS),
  decoder_sparse_step: count(1, MAX_LAYERS),
  q_lora_rank: count(0, MAX_LORA_RANK),
  kv_lora_rank: count(1, MAX_LORA_RANK),
  qk_nope_head_dim: count(1, MAX_HEAD_DIM),
  qk_rope_head_dim: count(0, MAX_HEAD_DIM),
  v_head_dim: count(1, MAX_HEAD_DIM),
  num_labels: count(1, MAX_VOCABULARY),
  normsPerLayer: count(0, MAX_NORMS_PER_LAYER),
  learnedPositionEmbeddings: count(0, MAX_POSITIONS),
  sliding_window: count(0, MAX_POSITIONS), // 0 or null: no sliding window
  slidingWindow: count(0, MAX_POSITIONS),
  slidingWindowLayerFraction: real(0, 1),
  partial_rotary_factor: real(0, 1),
  attn_logit_softcapping: real(0, MAX_SOFTCAP),
  final_logit_softcapping: real(0, MAX_SOFTCAP),
  attentionLogitSoftcapping: real(0, MAX_SOFTCAP),
  finalLogitSoftcapping: real(0, MAX_SOFTCAP),
};

/** Where a config.json names the architecture's own fields, so a message reaches its writer. */
const CONFIG_NAMES: Record<string, string> = {
  hiddenSize: 'hidden_size',
  numLayers: 'num_hidden_layers, plus num_decoder_layers for T5 or decoder_layers for BART',
  numAttentionHeads: 'num_attention_heads',
  numKeyValueHeads: 'num_key_value_heads',
  headDim: 'head_dim',
  intermediateSize: 'intermediate_size',
  vocabSize: 'vocab_size',
  maxPositionEmbeddings: 'max_position_embeddings',
};

function describe(range: Range): string {
  return `${range.integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}`;
}

function rangeError(
  field: string,
  value: unknown,
  range: Range,
  configName?: string,
): FieldError | undefined {
  const inRange =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!range.integer || Number.isInteger(value)) &&
    value >= range.min &&
    value <= range.max;
  if (inRange) return undefined;
  const where = configName ? `; ${configName} in a config.json` : '';
  return { field, message: `must be ${describe(range)} (got ${JSON.stringify(value)}${where})` };
}

function checkAll(
  errors: FieldError[],
  prefix: string,
  values: Record<string, unknown>,
  ranges: Record<string, Range>,
  optional: boolean,
  configNames: Record<string, string> = {},
): void {
  for (const [key, range] of Object.entries(ranges)) {
    if (optional && (values[key] === undefined || values[key] === null)) continue;
    const error = rangeError(`${prefix}.${key}`, values[key], range, configNames[key]);
    if (error) errors.push(error);
  }
}

type Values = Record<string, unknown>;

function isObject(value: unknown): value is Values {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function flagErrors(errors: FieldError[], prefix: string, values: Values, keys: string[]): void {
  for (const key of keys) {
    if (values[key] !== undefined && typeof values[key] !== 'boolean') {
      errors.push({ field: `${prefix}.${key}`, message: 'must be true or false' });
    }
  }
}

function textErrors(
  errors: FieldError[],
  prefix: string,
  values: Values,
  keys: string[],
  required: boolean,
  maxLength = MAX_TEXT,
): void {
  for (const key of keys) {
    const text = values[key];
    if (text === undefined && !required) continue;
    if (typeof text !== 'string' || text.length > maxLength) {
      errors.push({
        field: `${prefix}.${key}`,
        message: `must be text of at most ${maxLength} characters`,
      });
    }
  }
}

function choiceErrors(
  errors: FieldError[],
  prefix: string,
  values: Values,
  choices: Record<string, readonly string[]>,
  optional = false,
): void {
  for (const [key, allowed] of Object.entries(choices)) {
    if (optional && values[key] === undefined) continue;
    if (!allowed.includes(values[key] as string)) {
      errors.push({ field: `${prefix}.${key}`, message: `must be one of: ${allowed.join(', ')}` });
    }
  }
}

/** A list of at most `max` entries, each passing `entryOk`. */
function listError(
  field: string,
  value: unknown,
  max: number,
  what: string,
  entryOk: (entry: unknown) => boolean,
): FieldError | undefined {
  if (Array.isArray(value) && value.length <= max && value.every(entryOk)) return undefined;
  return { field, message: `must be a list of at most ${max} ${what}` };
}

const isShortText = (entry: unknown) =>
  typeof entry === 'string' && entry.length > 0 && entry.length <= MAX_TEXT;

const isLayerIndex = (entry: unknown) =>
  Number.isInteger(entry) && (entry as number) >= 0 && (entry as number) < MAX_LAYERS;

/** A nested block: an object of exactly the fields its shape names, each of its kind. */
function blockErrors(prefix: string, block: unknown, shape: BlockShape): FieldError[] {
  if (!isObject(block)) return [{ field: prefix, message: 'must be an object' }];
  const known = [
    ...Object.keys(shape.numbers),
    ...Object.keys(shape.optionalNumbers ?? {}),
    ...(shape.flags ?? []),
    ...(shape.texts ?? []),
    ...Object.keys(shape.choices ?? {}),
    ...Object.keys(shape.optionalChoices ?? {}),
    ...(shape.layerLists ?? []),
    ...Object.keys(shape.blockLists ?? {}),
    ...Object.keys(shape.optionalBlockLists ?? {}),
    ...Object.keys(shape.optionalTextLists ?? {}),
    ...Object.keys(shape.optionalBlocks ?? {}),
  ];
  const errors: FieldError[] = Object.keys(block)
    .filter((key) => !known.includes(key))
    .map((key) => ({ field: `${prefix}.${key}`, message: `unknown field '${key}'; remove it` }));
  checkAll(errors, prefix, block, shape.numbers, false);
  checkAll(errors, prefix, block, shape.optionalNumbers ?? {}, true);
  flagErrors(errors, prefix, block, shape.flags ?? []);
  textErrors(errors, prefix, block, shape.texts ?? [], true);
  choiceErrors(errors, prefix, block, shape.choices ?? {});
  choiceErrors(errors, prefix, block, shape.optionalChoices ?? {}, true);
  for (const key of shape.layerLists ?? []) {
    if (block[key] === undefined) continue;
    const error = listError(
      `${prefix}.${key}`,
      block[key],
      MAX_LAYERS,
      'layer indices',
      isLayerIndex,
    );
    if (error) errors.push(error);
  }
  for (const [key, max] of Object.entries(shape.optionalTextLists ?? {})) {
    if (block[key] === undefined) continue;
    const what = `names of at most ${MAX_TEXT} characters`;
    const error = listError(`${prefix}.${key}`, block[key], max, what, isShortText);
    if (error) errors.push(error);
  }
  const lists = [
    ...Object.entries(shape.blockLists ?? {}),
    ...Object.entries(shape.optionalBlockLists ?? {}).filter(([key]) => block[key] !== undefined),
  ];
  for (const [key, { shape: entryShape, max }] of lists) {
    const entries = block[key];
    const error = listError(`${prefix}.${key}`, entries, max, 'objects', isObject);
    if (error) errors.push(error);
    else
      (entries as unknown[]).forEach((entry, i) =>
        errors.push(...blockErrors(`${prefix}.${key}.${i}`, entry, entryShape)),
      );
  }
  for (const [key, nested] of Object.entries(shape.optionalBlocks ?? {})) {
    if (block[key] !== undefined)
      errors.push(...blockErrors(`${prefix}.${key}`, block[key], nested));
  }
  return errors;
}

/** The architecture's lists: layer types, layers without RoPE, and the notes it carries. */
function listErrors(errors: FieldError[], prefix: string, fields: Values): void {
  const checks: [string, number, string, (entry: unknown) => boolean][] = [
    [
      'layerTypes',
      MAX_LAYERS,
      `of: ${LAYER_TYPES.join(', ')}`,
      (entry) => LAYER_TYPES.includes(entry as string),
    ],
    ['noRopeLayers', MAX_LAYERS, 'layer indices', isLayerIndex],
    [
      'notes',
      MAX_NOTES,
      `texts of at most ${MAX_NOTE_TEXT} characters`,
      (entry) => typeof entry === 'string' && entry.length <= MAX_NOTE_TEXT,
    ],
  ];
  for (const [key, max, what, entryOk] of checks) {
    if (fields[key] === undefined) continue;
    const error = listError(`${prefix}.${key}`, fields[key], max, what, entryOk);
    if (error) errors.push(error);
  }
}

/** Mamba-1 has no heads: its head fields count the d_inner channels tensor parallelism splits
 * (families/mamba.ts), so they range as an MLP's width does. */
const CHANNEL_HEADS: Record<string, Range> = {
  numAttentionHeads: count(1, MAX_MLP_WIDTH),
  numKeyValueHeads: count(1, MAX_MLP_WIDTH),
};

function fieldKindErrors(arch: ModelArchitecture, prefix: string): FieldError[] {
  const errors: FieldError[] = [];
  const fields = arch as unknown as Values;
  const ranges = {
    ...ARCHITECTURE_RANGES,
    ...(arch.modelType === 'mamba' || arch.modelType === 'falcon_mamba' ? CHANNEL_HEADS : {}),
  } as Record<string, Range>;
  checkAll(errors, prefix, fields, ranges, true, CONFIG_NAMES);
  flagErrors(errors, prefix, fields, FLAGS);
  textErrors(errors, prefix, fields, TEXTS, false);
  textErrors(errors, prefix, fields, ['source'], false, MAX_SOURCE_TEXT);
  choiceErrors(errors, prefix, fields, CHOICES);
  listErrors(errors, prefix, fields);
  for (const [key, shape] of BLOCKS) {
    if (fields[key] !== undefined)
      errors.push(...blockErrors(`${prefix}.${key}`, fields[key], shape));
  }
  return errors;
}

/** A layer whose mixer is not attention needs the block that shapes it and a model type whose
 * code runs it (MIXER_CODES): without either it would be planned as something else. */
function mixerCodeErrors(arch: ModelArchitecture, fail: (field: string, message: string) => void) {
  const mixers = new Set((arch.layerTypes ?? []).slice(0, arch.numLayers).map(mixerOf));
  for (const mixer of mixers) {
    const code = MIXER_CODES[mixer];
    if (!code) continue;
    if (!arch[code.block]) {
      fail(code.block, `layerTypes has ${mixer} layers: give ${code.block}, their mixer's shape`);
    } else if (!code.modelTypes.includes(arch.modelType ?? '')) {
      const types = code.modelTypes.map((t) => `'${t}'`).join(' or ');
      fail(
        'modelType',
        `layerTypes has ${mixer} layers: give ${types}, whose model code runs them`,
      );
    }
  }
}

/** DeBERTa-v1's attention (modeling_deberta.py: in_proj, q_bias, v_bias) is what its model type
 * runs, and only it: the model type, the fused q, k and v and disentangled.inProjection go
 * together, else the layer would be planned with modules its code does not have. */
function inProjectionErrors(
  arch: ModelArchitecture,
  fail: (field: string, message: string) => void,
) {
  const v1 = arch.modelType === 'deberta';
  const inProjection = arch.disentangled?.inProjection === true;
  if (v1 && !inProjection)
    fail(
      'disentangled',
      "modelType 'deberta' runs DeBERTa-v1's relative attention: give disentangled with inProjection true (and fusedQkv true)",
    );
  else if (inProjection && !v1)
    fail(
      'modelType',
      "disentangled.inProjection is DeBERTa-v1's attention: give modelType 'deberta'",
    );
  else if (inProjection && !arch.fusedQkv)
    fail('fusedQkv', "DeBERTa-v1's in_proj makes q, k and v in one linear: give fusedQkv true");
}

/** LLaVA-OneVision's packing (vision-features.ts packedCrops) takes a base crop, a grid of at
 * least one tile, and a newline a row of the (resized) grid: tokensPerImage past the base
 * crop's and the grid's features. */
function packingErrors(
  vision: VisionTower | undefined,
  fail: (field: string, message: string) => void,
) {
  if (!vision || (vision.layout !== 'onevision' && !vision.resizedGridTokens)) return;
  const crops = vision.crops ?? 1;
  const perCrop = vision.cropFeatures ?? vision.tokensPerImage;
  const grid = vision.resizedGridTokens ?? (crops - 1) * perCrop;
  if (vision.layout !== 'onevision')
    fail('vision.resizedGridTokens', "is LLaVA-OneVision's packing: give layout 'onevision'");
  else if (crops < 2)
    fail(
      'vision.crops',
      "LLaVA-OneVision's packing needs the base crop and a grid: give at least 2",
    );
  else if (vision.tokensPerImage <= perCrop + grid)
    fail(
      'vision.tokensPerImage',
      `must hold the base crop's ${perCrop} features, the grid's ${grid} and a newline a grid row: above ${perCrop + grid}`,
    );
}

/** The class tokens an image's patches carry in the layouts that pixel-shuffle them
 * (vision-features.ts: InternVL's is sliced off first). */
const SHUFFLED_CLASS_TOKENS: Partial<Record<NonNullable<VisionTower['layout']>, number>> = {
  internvl: 1,
  idefics3: 0,
  aya: 0,
};

/** A pixel shuffle folds pixelShuffle^2 patches into one token that the projector's first
 * linear reads: the tokens, the patches and that width agree, and Aya Vision's SwiGLU hands
 * linear_2 half of linear_1's output. */
function shuffleErrors(
  vision: VisionTower | undefined,
  fail: (field: string, message: string) => void,
) {
  const classTokens = vision?.layout && SHUFFLED_CLASS_TOKENS[vision.layout];
  if (!vision || classTokens === undefined) return;
  const groups = (vision.pixelShuffle ?? 1) ** 2;
  const patches = vision.patchesPerImage - classTokens;
  const [first, second] = vision.projector;
  if (patches % groups !== 0)
    fail(
      'vision.pixelShuffle',
      `must fold the image's ${patches} patches evenly: its square (${groups}) does not divide them`,
    );
  else if (vision.tokensPerImage * groups !== patches)
    fail(
      'vision.tokensPerImage',
      `must be the image's ${patches} patches over pixelShuffle squared (${groups}): give ${patches / groups}`,
    );
  else if (first?.inFeatures !== vision.hiddenSize * groups)
    fail(
      'vision.projector',
      `the first linear reads the shuffled patches: give inFeatures hiddenSize x pixelShuffle squared (${vision.hiddenSize * groups})`,
    );
  else if (vision.layout === 'aya' && second?.inFeatures * 2 !== first.outFeatures)
    fail(
      'vision.projector',
      "Aya Vision's SwiGLU halves linear_1's output: give linear_2 inFeatures of half linear_1's outFeatures",
    );
}

/** Idefics2's connector (perceiver.ts) reads modality_projection's three linears, then seven a
 * resampler layer, groups its query heads over whole K/V heads, and hands the text stack its
 * latents: the layout and the resampler go together. */
function resamplerErrors(
  vision: VisionTower | undefined,
  fail: (field: string, message: string) => void,
) {
  const resampler = vision?.resampler;
  if (!vision || (!resampler && vision.layout !== 'idefics2')) return;
  if (!resampler)
    return fail('vision.resampler', "Idefics2's connector needs its perceiver resampler: give one");
  if (vision.layout !== 'idefics2')
    return fail('vision.resampler', "is Idefics2's connector: give layout 'idefics2'");
  const linears = 3 + 7 * resampler.depth;
  if (vision.projector.length !== linears)
    fail(
      'vision.projector',
      `Idefics2's connector has modality_projection's 3 linears and 7 a resampler layer: give ${linears}`,
    );
  if (resampler.heads % resampler.kvHeads !== 0)
    fail('vision.resampler.kvHeads', `must divide the resampler's heads (${resampler.heads})`);
  if (vision.tokensPerImage !== resampler.latents)
    fail(
      'vision.tokensPerImage',
      `an image's tokens are the resampler's latents: give ${resampler.latents}`,
    );
}

/** Blocks of an MLP or a sparse block alone are Nemotron-H's (layers.ts singleModuleBlocks), and
 * its `moe` layers are the ones that route: else they would be planned as something else. */
function singleModuleErrors(
  arch: ModelArchitecture,
  fail: (field: string, message: string) => void,
) {
  const types = (arch.layerTypes ?? []).slice(0, arch.numLayers);
  if (!types.some((type) => mixerOf(type) === 'none')) return;
  if (!singleModuleBlocks(arch)) {
    fail(
      'modelType',
      "layerTypes has mlp or moe layers: give 'nemotron_h', whose model code runs them",
    );
    return;
  }
  const mismatch = types.findIndex((type, layer) => (type === 'moe') !== isMoeLayer(arch, layer));
  if (mismatch >= 0) {
    fail(
      'moe.layers',
      `must list exactly the layers layerTypes calls moe (layer ${mismatch} differs): give moe, with moe.layers`,
    );
  }
}

/** Limits between fields, once each field is in range. */
function crossFieldErrors(arch: ModelArchitecture, prefix: string): FieldError[] {
  const errors: FieldError[] = [];
  const fail = (field: string, message: string) =>
    errors.push({ field: `${prefix}.${field}`, message });
  if (arch.moe && arch.moe.expertsPerToken > arch.moe.numExperts) {
    fail('moe.expertsPerToken', `must not exceed numExperts (${arch.moe.numExperts})`);
  }
  if (arch.encoder && arch.encoder.numLayers >= arch.numLayers) {
    fail('encoder.numLayers', `must leave decoder layers: below numLayers (${arch.numLayers})`);
  }
  // A layer reads layer_types[layer_idx]: a longer list leaves its tail unread (a config cut
  // to fewer layers), a shorter one leaves layers without a type.
  if (arch.layerTypes && arch.layerTypes.length < arch.numLayers) {
    fail(
      'layerTypes',
      `must give a type for every layer: ${arch.layerTypes.length} for numLayers (${arch.numLayers})`,
    );
  }
  mixerCodeErrors(arch, fail);
  inProjectionErrors(arch, fail);
  if (arch.encoderConv && arch.hiddenSize % arch.encoderConv.groups !== 0)
    fail('encoderConv.groups', `must divide hiddenSize (${arch.hiddenSize}): nn.Conv1d's groups`);
  packingErrors(arch.vision, fail);
  shuffleErrors(arch.vision, fail);
  resamplerErrors(arch.vision, fail);
  singleModuleErrors(arch, fail);
  visionNameErrors(arch.vision, fail);
  const indexLists: [string, number[] | undefined][] = [
    ['moe.layers', arch.moe?.layers],
    ['noRopeLayers', arch.noRopeLayers],
  ];
  for (const [field, indices] of indexLists) {
    if (indices?.some((index) => index >= arch.numLayers)) {
      fail(field, `every layer index must be below numLayers (${arch.numLayers})`);
    }
  }
  if (errors.length > 0) return errors;
  const { total } = countParameters(arch);
  if (!(total <= MAX_PARAMETERS)) {
    fail(
      'parameters',
      `the model has ${total.toExponential(3)} parameters; at most ${MAX_PARAMETERS.toExponential(0)} are planned`,
    );
  }
  return errors;
}

/** A tower's linearNames name each linear of its block, in order; its features come from
 * blocks it has. */
function visionNameErrors(
  tower: VisionTower | undefined,
  fail: (field: string, message: string) => void,
): void {
  if (tower?.featureLayers !== undefined && tower.featureLayers > tower.layers)
    fail('vision.featureLayers', `must not exceed the tower's layers (${tower.layers})`);
  if (!tower?.linearNames) return;
  const linears = blockShapes(tower).length;
  if (tower.linearNames.length !== linears)
    fail('vision.linearNames', `must name each of the block's ${linears} linears, in order`);
}

/** Errors for every architecture field outside its range, of the wrong kind, or inconsistent
 * with another; empty when the model may be counted and planned. */
export function architectureLimitErrors(
  arch: ModelArchitecture,
  fieldPrefix: string,
): FieldError[] {
  const kinds = fieldKindErrors(arch, fieldPrefix);
  return kinds.length > 0 ? kinds : crossFieldErrors(arch, fieldPrefix);
}

/** Errors for config.json numbers the architecture reads without checking them itself. */
export function configLimitErrors(
  config: Record<string, unknown>,
  fieldPrefix: string,
): FieldError[] {
  const errors: FieldError[] = [];
  checkAll(errors, fieldPrefix, config, CONFIG_RANGES, true);
  return errors;
}

/** The checks that count nothing, for the common decoder fields before a family builds lists
 * as long as the stack (a config of a billion layers is refused before any is listed). */
export function shapeLimitErrors(
  arch: ModelArchitecture,
  config: Record<string, unknown>,
  fieldPrefix: string,
): FieldError[] {
  const raw = configLimitErrors(config, fieldPrefix);
  return raw.length > 0 ? raw : fieldKindErrors(arch, fieldPrefix);
}
