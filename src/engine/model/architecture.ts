// Maps a Hugging Face config.json (or our own field names) onto the engine's ModelArchitecture:
// finds the family module, merges that family's Hugging Face defaults under the config, reads
// the common decoder fields, then lets the family read its own.
import { DropoutConfig, FieldError, ModelArchitecture, PlanValidationError } from '../vocabulary';
import { Config, ConfigReader, withDefaults } from './config-reader';
import { readClassification, readDecoder, readMla, readMoe } from './decoder';
import { Family, FamilyContext } from './family';
import { canonicalType, FAMILIES, SUPPORTED_TYPES } from './families';
import { architectureLimitErrors, configLimitErrors, shapeLimitErrors } from './limits';

/** The model_type as written, or the family named by `architectures` (Qwen3MoeForCausalLM). */
function rawModelType(config: Config): string | undefined {
  const type = config.model_type ?? config.modelType;
  if (typeof type === 'string') return type.toLowerCase();
  return architecturesFamily(config);
}

// What follows the family's name in a Hugging Face model class (Gemma2ForCausalLM, GPT2LMHeadModel,
// T5ForConditionalGeneration, BertForSequenceClassification, BertModel).
const CLASS_SUFFIX =
  /(forcausallm|lmheadmodel|forconditionalgeneration|forsequenceclassification|model)$/;

/** The family whose class `architectures[0]` names: its name before the class suffix, without
 * underscores (Qwen2_5_VLForConditionalGeneration is qwen2_5_vl, RWForCausalLM rw). */
function architecturesFamily(config: Config): string | undefined {
  const archs = config.architectures;
  if (!Array.isArray(archs) || typeof archs[0] !== 'string') return undefined;
  const name = archs[0].toLowerCase().replace(/_/g, '').replace(CLASS_SUFFIX, '');
  return [...FAMILIES.keys()].find((family) => family.replace(/_/g, '') === name);
}

/** True when the object already uses the engine's own field names. */
function isEngineShape(config: Config): boolean {
  return typeof config.hiddenSize === 'number' && typeof config.numLayers === 'number';
}

/** A decoder described by its fields alone: gated (Llama-style) or plain MLP, as told. */
function genericFamily(mlp: 'gated' | 'plain', config: Config): Family {
  const norm =
    (config.norm as Family['norm'] | undefined) ??
    (mlp === 'plain' && !isEngineShape(config) ? 'layernorm' : 'rmsnorm');
  return { types: [], mlp, norm, normsPerLayer: 2 };
}

/** A config.json without model_type whose shape says what it is: `mlp` given, or a SiLU-gated
 * activation with an intermediate_size (the Llama recipe). */
function inlineFamily(config: Config): { family: Family; note: string } | undefined {
  const act = String(config.hidden_act ?? config.activation ?? '');
  const gatedAct =
    ['silu', 'swish', 'swiglu'].includes(act) && config.intermediate_size !== undefined;
  const mlp =
    config.mlp === 'gated' || config.mlp === 'plain' ? config.mlp : gatedAct ? 'gated' : undefined;
  if (!mlp) return undefined;
  const family = genericFamily(mlp, config);
  const style =
    mlp === 'gated' ? 'a Llama-style decoder (gated MLP' : 'a GPT-style decoder (plain MLP';
  return {
    family,
    note: `no model_type given: read as ${style}, ${family.norm}, ${config.tie_word_embeddings === true ? 'tied' : 'untied'} embeddings); add model_type to read it as a specific family`,
  };
}

const HINT =
  'or leave model_type out and give hidden_size, num_hidden_layers, num_attention_heads, vocab_size, intermediate_size and "mlp": "gated" (a Llama-style decoder) or "plain"';

/** The model_type error, with every shape field the config also lacks named beside it. */
function refusal(config: Config, prefix: string): PlanValidationError {
  const given = config.model_type ?? config.modelType;
  const message =
    given === undefined
      ? `missing model_type, and the fields do not say which family: add "model_type" (one of ${SUPPORTED_TYPES.join(', ')}), ${HINT}`
      : `unknown model_type '${String(given)}'; supported: ${SUPPORTED_TYPES.join(', ')}; ${HINT}`;
  const read = new ConfigReader(config, prefix);
  try {
    readDecoder('refused', read, genericFamily('gated', config));
  } catch {
    // readDecoder throws with the missing fields it recorded in `read.errors`.
  }
  return new PlanValidationError([{ field: `${prefix}.model_type`, message }, ...read.errors]);
}

interface Resolved {
  family: Family;
  context: FamilyContext;
  note?: string;
}

function resolveFamily(config: Config, prefix: string): Resolved {
  const context = (type: string, rawType = type): FamilyContext => ({
    type,
    rawType,
    root: config,
  });
  if (isEngineShape(config)) {
    const mlp = config.mlp === 'plain' ? 'plain' : 'gated';
    return { family: genericFamily(mlp, config), context: context('') };
  }
  const raw = rawModelType(config);
  const family = raw === undefined ? undefined : FAMILIES.get(raw);
  if (family && raw) return { family, context: context(canonicalType(raw), raw) };
  const byClass = raw === undefined ? undefined : architecturesFamily(config);
  if (byClass) {
    // A checkpoint with its own model_type on a known class (Kimi-K2: kimi_k2 on
    // DeepseekV3ForCausalLM, loaded through trust_remote_code).
    const note = `model_type '${raw}' is not one the planner reads: planned as ${String((config.architectures as string[])[0])}, Hugging Face's ${byClass} code; its own remote code may differ`;
    return { family: FAMILIES.get(byClass)!, context: context(canonicalType(byClass)), note };
  }
  const inline = raw === undefined ? inlineFamily(config) : undefined;
  if (inline) return { family: inline.family, context: context(''), note: inline.note };
  throw refusal(config, prefix);
}

/** Fields in the engine's own names that no config.json spells (an exported architecture). */
const OWN_FIELDS = [
  'modelType',
  'encoder',
  'disentangled',
  'encoderConv',
  'layerTypes',
  'attentionChunkSize',
  'noRopeLayers',
  'attentionSinks',
  'ssm',
  'shortConv',
  'gatedDelta',
  'attentionOutputGate',
  'vision',
  'mtp',
  'embeddingVocabSize',
  'embeddingWidth',
  'partialRotaryFactor',
  'normAfterResidual',
  'maskedLmHead',
  'headDenseBias',
  'normlessFirstAttention',
  'notes',
] as const;

function copyOwnFields(arch: ModelArchitecture, config: Config): void {
  for (const key of OWN_FIELDS) {
    const value = config[key];
    if (value !== undefined && value !== null && typeof value !== 'function') {
      (arch as unknown as Record<string, unknown>)[key] = value;
    }
  }
}

/** config.json names of each dropout, first present wins (configuration_gpt2.py attn_pdrop,
 * configuration_bert.py hidden_dropout_prob, configuration_t5.py dropout_rate, ...). */
const DROPOUT_NAMES = {
  attention: ['attn_pdrop', 'attention_probs_dropout_prob', 'attention_dropout', 'dropout_rate'],
  // OPT's `dropout` (before each residual add) last: other families' names come first.
  residual: [
    'resid_pdrop',
    'hidden_dropout_prob',
    'hidden_dropout',
    'residual_dropout', // StarCoder2
    'resid_dropout', // GPT-Neo
    'dropout_rate',
    'dropout',
  ],
  embedding: [
    'embd_pdrop',
    'hidden_dropout_prob',
    'hidden_dropout',
    'embedding_dropout',
    'embed_dropout', // GPT-Neo
    'dropout_rate',
  ],
} as const;

function readDropout(arch: ModelArchitecture, read: ConfigReader): void {
  const dropout: DropoutConfig = {
    attention: read.numberOr(0, ...DROPOUT_NAMES.attention),
    residual: read.numberOr(0, ...DROPOUT_NAMES.residual),
    embedding: read.numberOr(0, ...DROPOUT_NAMES.embedding),
  };
  // BART's activation_dropout, after the MLP's activation (BartEncoderLayer.forward).
  const activation = read.numberOr(0, 'activation_dropout');
  if (activation > 0) dropout.activation = activation;
  if (Object.values(dropout).some((p) => p > 0)) arch.dropout = dropout;
}

/** Fields past the model limits (src/engine/model/limits.ts) stop the mapping. */
function refuseErrors(errors: FieldError[]): void {
  if (errors.length > 0) throw new PlanValidationError(errors);
}

/** A wrapper's text stack read as its own family's model (its fields named under
 * text_config), with what the wrapper attaches. */
function wrappedArchitecture(
  id: string,
  config: Config,
  wrapper: { type: string; wraps: NonNullable<Family['wrapsText']> },
  name: string | undefined,
  fieldPrefix: string,
): ModelArchitecture {
  const { wraps } = wrapper;
  const textPrefix = `${fieldPrefix}.text_config`;
  const given = typeof config._name_or_path === 'string' ? config._name_or_path : undefined;
  // a copy: the text stack's counts are remembered per object, and the wrapper adds to them
  const arch = { ...architectureFromConfig(id, wraps.textConfig(config), name, textPrefix) };
  if (given) arch.hfId = given;
  arch.wrapperType = wrapper.type;
  const read = new ConfigReader(config, fieldPrefix);
  wraps.attach(arch, read);
  refuseErrors(read.errors);
  refuseErrors(architectureLimitErrors(arch, fieldPrefix));
  return arch;
}

/**
 * A ModelArchitecture from a Hugging Face config.json or from the engine's own field names.
 * Missing fields throw PlanValidationError listing each one; unknown extra keys are ignored.
 */
export function architectureFromConfig(
  id: string,
  config: Config,
  name?: string,
  fieldPrefix = 'config',
): ModelArchitecture {
  const { family, context, note } = resolveFamily(config, fieldPrefix);
  if (family.wrapsText) {
    const wrapper = { type: context.type, wraps: family.wrapsText };
    return wrappedArchitecture(id, config, wrapper, name, fieldPrefix);
  }
  const text = family.textConfig ? family.textConfig(config) : config;
  // The config's own numbers first, so an error names the key the user wrote (BART's
  // encoder_layers, not the num_hidden_layers its family maps it to).
  refuseErrors(configLimitErrors(text, fieldPrefix));
  const defaults = typeof family.defaults === 'function' ? family.defaults(text) : family.defaults;
  const read = new ConfigReader(withDefaults(text, defaults), fieldPrefix);
  const arch = readDecoder(id, read, family, name);
  readMoe(arch, read, family);
  readMla(arch, read);
  if (context.type) arch.modelType = context.type;
  refuseErrors(shapeLimitErrors(arch, text, fieldPrefix));
  readClassification(arch, read); // before refine: a family's head may depend on it (ModernBERT's)
  family.refine?.(arch, read, context);
  copyOwnFields(arch, config);
  readDropout(arch, read);
  const notes = [...(arch.notes ?? []), ...(note ? [note] : [])];
  if (notes.length > 0) arch.notes = notes;
  refuseErrors(architectureLimitErrors(arch, fieldPrefix));
  return arch;
}
