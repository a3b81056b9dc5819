// The ranges a model's shape must lie in before anything is counted or planned: each the
// largest published value of its field times a margin, so every real model fits while a
// request cannot make one plan cost seconds, gigabytes, or figures past 2^53.
import { FieldError, ModelArchitecture } from '../vocabulary';
import { countParameters } from './parameters';

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
  attentionLogitSoftcapping: real(0, MAX_SOFTCAP),
  finalLogitSoftcapping: real(0, MAX_SOFTCAP),
  publishedParameters: count(0, MAX_PARAMETERS),
};

const MOE_RANGES: Record<string, Range> = {
  numExperts: count(1, MAX_EXPERTS),
  expertsPerToken: count(1, MAX_EXPERTS),
  expertIntermediateSize: count(1, MAX_MLP_WIDTH),
  sharedExperts: count(0, MAX_SHARED_EXPERTS),
  sharedExpertIntermediateSize: count(0, MAX_MLP_WIDTH),
  firstDenseLayers: count(0, MAX_LAYERS),
};
const MOE_FLAGS = ['routerBias', 'sharedExpertGate'];

const MLA_RANGES: Record<string, Range> = {
  qLoraRank: count(0, MAX_LORA_RANK), // 0: q projected straight from h
  kvLoraRank: count(1, MAX_LORA_RANK),
  qkNopeHeadDim: count(1, MAX_HEAD_DIM),
  qkRopeHeadDim: count(0, MAX_HEAD_DIM),
  vHeadDim: count(1, MAX_HEAD_DIM),
};

const ENCODER_RANGES: Record<string, Range> = {
  numLayers: count(1, MAX_LAYERS),
  relativeAttentionBuckets: count(0, MAX_POSITION_BUCKETS),
};

const FLAGS: (keyof ModelArchitecture)[] = [
  'tieWordEmbeddings',
  'parallelResidual',
  'fusedQkv',
  'fusedGateUp',
  'qkNorm',
  'qkNormPerHead',
  'qkvBias',
  'attentionOutputBias',
  'mlpBias',
  'embeddingNorm',
  'finalNorm',
  'outputHeadBias',
];
const TEXTS: (keyof ModelArchitecture)[] = ['id', 'name', 'hfId', 'activation', 'source'];
const CHOICES: Partial<Record<keyof ModelArchitecture, readonly string[]>> = {
  mlp: ['gated', 'plain'],
  norm: ['rmsnorm', 'layernorm', 'layernorm-nobias'],
};

/** Config.json keys the architecture reads as plain numbers, with the range each must lie in
 * (the architecture's own field they feed is named in the comment where it differs). */
const CONFIG_RANGES: Record<string, Range> = {
  type_vocab_size: count(0, MAX_VOCABULARY), // BERT's token types: learnedPositionEmbeddings
  num_decoder_layers: count(1, MAX_LAYERS), // T5: numLayers = encoder + decoder
  relative_attention_num_buckets: count(0, MAX_POSITION_BUCKETS),
  n_positions: count(1, MAX_POSITIONS),
  num_local_experts: count(0, MAX_EXPERTS),
  num_experts: count(0, MAX_EXPERTS),
  n_routed_experts: count(0, MAX_EXPERTS),
  num_experts_per_tok: count(1, MAX_EXPERTS),
  moe_intermediate_size: count(1, MAX_MLP_WIDTH),
  n_shared_experts: count(0, MAX_SHARED_EXPERTS),
  shared_expert_intermediate_size: count(0, MAX_MLP_WIDTH),
  first_k_dense_replace: count(0, MAX_LAYERS),
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
  attn_logit_softcapping: real(0, MAX_SOFTCAP),
  final_logit_softcapping: real(0, MAX_SOFTCAP),
  attentionLogitSoftcapping: real(0, MAX_SOFTCAP),
  finalLogitSoftcapping: real(0, MAX_SOFTCAP),
};

/** Where a config.json names the architecture's own fields, so a message reaches its writer. */
const CONFIG_NAMES: Record<string, string> = {
  hiddenSize: 'hidden_size',
  numLayers: 'num_hidden_layers, plus num_decoder_layers for T5',
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

/** A nested block (moe, mla, encoder): an object of exactly its numbers and flags. */
function blockErrors(
  prefix: string,
  block: unknown,
  ranges: Record<string, Range>,
  flags: string[] = [],
): FieldError[] {
  if (typeof block !== 'object' || block === null || Array.isArray(block)) {
    return [{ field: prefix, message: 'must be an object of numbers' }];
  }
  const values = block as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const key of Object.keys(values)) {
    if (!(key in ranges) && !flags.includes(key)) {
      errors.push({ field: `${prefix}.${key}`, message: `unknown field '${key}'; remove it` });
    }
  }
  checkAll(errors, prefix, values, ranges, false);
  for (const flag of flags) {
    if (values[flag] !== undefined && typeof values[flag] !== 'boolean') {
      errors.push({ field: `${prefix}.${flag}`, message: 'must be true or false' });
    }
  }
  return errors;
}

function fieldKindErrors(arch: ModelArchitecture, prefix: string): FieldError[] {
  const errors: FieldError[] = [];
  const fields = arch as unknown as Record<string, unknown>;
  checkAll(
    errors,
    prefix,
    fields,
    ARCHITECTURE_RANGES as Record<string, Range>,
    true,
    CONFIG_NAMES,
  );
  for (const key of FLAGS) {
    if (fields[key] !== undefined && typeof fields[key] !== 'boolean') {
      errors.push({ field: `${prefix}.${key}`, message: 'must be true or false' });
    }
  }
  for (const key of TEXTS) {
    const text = fields[key];
    if (text !== undefined && (typeof text !== 'string' || text.length > MAX_TEXT)) {
      errors.push({
        field: `${prefix}.${key}`,
        message: `must be text of at most ${MAX_TEXT} characters`,
      });
    }
  }
  for (const [key, choices] of Object.entries(CHOICES)) {
    if (!choices.includes(fields[key] as string)) {
      errors.push({ field: `${prefix}.${key}`, message: `must be one of: ${choices.join(', ')}` });
    }
  }
  if (arch.moe !== undefined)
    errors.push(...blockErrors(`${prefix}.moe`, arch.moe, MOE_RANGES, MOE_FLAGS));
  if (arch.mla !== undefined) errors.push(...blockErrors(`${prefix}.mla`, arch.mla, MLA_RANGES));
  if (arch.encoder !== undefined) {
    errors.push(...blockErrors(`${prefix}.encoder`, arch.encoder, ENCODER_RANGES));
  }
  return errors;
}

/** Limits between fields, once each field is in range. */
function crossFieldErrors(arch: ModelArchitecture, prefix: string): FieldError[] {
  const errors: FieldError[] = [];
  const fail = (field: string, message: string) =>
    errors.push({ field: `${prefix}.${field}`, message });
  if (arch.moe && arch.moe.expertsPerToken > arch.moe.numExperts) {
    fail('moe.expertsPerToken', `must not exceed numExperts (${arch.moe.numExperts})`);
  }
  if (arch.moe && arch.moe.firstDenseLayers > arch.numLayers) {
    fail('moe.firstDenseLayers', `must not exceed numLayers (${arch.numLayers})`);
  }
  if (arch.encoder && arch.encoder.numLayers >= arch.numLayers) {
    fail('encoder.numLayers', `must leave decoder layers: below numLayers (${arch.numLayers})`);
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

/** Config errors first (they name the key the user wrote), then the derived architecture's. */
export function modelLimitErrors(
  arch: ModelArchitecture,
  config: Record<string, unknown>,
  fieldPrefix: string,
): FieldError[] {
  const raw = configLimitErrors(config, fieldPrefix);
  return raw.length > 0 ? raw : architectureLimitErrors(arch, fieldPrefix);
}
