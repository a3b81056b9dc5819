// BART (transformers models/bart/modeling_bart.py): an encoder and a decoder stack of
// post-LayerNorm layers (each norm after its residual add), biased q, k, v, out_proj, fc1 and
// fc2, a GELU MLP; each stack adds its own learned positions (BartLearnedPositionalEmbedding,
// 2 offset rows) to the shared token embedding and normalises them (layernorm_embedding);
// BartForConditionalGeneration's head is tied to `shared` and adds the final_logits_bias buffer.
// mBART (models/mbart/modeling_mbart.py) is the same modules with pre-LayerNorm layers and a
// final layer_norm ending each stack. Marian (models/marian/modeling_marian.py, MarianMTModel)
// is BART's layers with a frozen sinusoidal position table per stack
// (MarianSinusoidalPositionalEmbedding: an nn.Parameter with requires_grad=False, no offset
// rows) and no layernorm_embedding; Pegasus (models/pegasus/modeling_pegasus.py) is mBART's
// layers with Marian's tables; M2M100 and NLLB (models/m2m_100/modeling_m2m_100.py) are
// mBART's layers with a sinusoidal table per stack registered as a buffer
// (M2M100SinusoidalPositionalEmbedding: 2 offset rows, not a parameter), no final_logits_bias.
// Whisper (models/whisper/modeling_whisper.py) is mBART's layers with a bias-free k_proj, an
// encoder that reads log-mel frames through two convolutions and a frozen sinusoidal table
// (1,500 positions whatever the text's length), a decoder with a learned table of
// max_target_positions and no layernorm_embedding, and no final_logits_bias.
import { ModelArchitecture, PlanValidationError } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { Family } from '../family';

/** BartConfig's defaults (configuration_bart.py): bart-large's shape; MBartConfig's are the
 * same. */
const BART_DEFAULTS: Config = {
  vocab_size: 50265,
  max_position_embeddings: 1024,
  encoder_layers: 12,
  encoder_ffn_dim: 4096,
  encoder_attention_heads: 16,
  decoder_layers: 12,
  decoder_ffn_dim: 4096,
  decoder_attention_heads: 16,
  d_model: 1024,
  activation_function: 'gelu',
  dropout: 0.1,
  attention_dropout: 0.0,
  activation_dropout: 0.0,
  scale_embedding: false,
  tie_word_embeddings: true,
};

/** MarianConfig's defaults differ from BartConfig's in the vocabulary alone
 * (configuration_marian.py); PegasusConfig's are BartConfig's. */
const MARIAN_DEFAULTS: Config = { ...BART_DEFAULTS, vocab_size: 58101 };
/** M2M100Config's (configuration_m2m_100.py): bart-large's shape with ReLU, attention dropout
 * and scaled embeddings. Its encoder_ and decoder_layerdrop (0.05) skip layers at random, so
 * the plan, each layer run, is the step that skips none. */
const M2M100_DEFAULTS: Config = {
  ...BART_DEFAULTS,
  vocab_size: 128112,
  activation_function: 'relu',
  attention_dropout: 0.1,
  scale_embedding: true,
};

/** WhisperConfig's defaults (configuration_whisper.py): whisper-tiny's shape. */
const WHISPER_DEFAULTS: Config = {
  vocab_size: 51865,
  num_mel_bins: 80,
  encoder_layers: 4,
  encoder_attention_heads: 6,
  decoder_layers: 4,
  decoder_attention_heads: 6,
  encoder_ffn_dim: 1536,
  decoder_ffn_dim: 1536,
  d_model: 384,
  activation_function: 'gelu',
  dropout: 0.0,
  attention_dropout: 0.0,
  activation_dropout: 0.0,
  scale_embedding: false,
  max_source_positions: 1500,
  max_target_positions: 448,
  tie_word_embeddings: true,
};

// BartLearnedPositionalEmbedding: num_embeddings + 2 rows (fairseq's padding offset).
const POSITION_OFFSET = 2;

/** What sets one model type of the family apart. */
interface BartVariant {
  /** Its classes' prefix (MBartEncoderLayer), and the LM head class fine-tuning trains. */
  prefix: string;
  lm: string;
  /** Each sub-layer's input normalised (pre-LN), each stack ending with a layer_norm. */
  preNorm: boolean;
  /** How each stack holds a sinusoidal position table; absent: a learned one. */
  sinusoidal?: 'frozen' | 'buffer';
  /** Whisper's encoder over log-mel frames (EncoderConfig.audio). */
  audio?: boolean;
  defaults: Config;
}

const VARIANTS: Record<string, BartVariant> = {
  bart: {
    prefix: 'Bart',
    lm: 'BartForConditionalGeneration',
    preNorm: false,
    defaults: BART_DEFAULTS,
  },
  mbart: {
    prefix: 'MBart',
    lm: 'MBartForConditionalGeneration',
    preNorm: true,
    defaults: BART_DEFAULTS,
  },
  marian: {
    prefix: 'Marian',
    lm: 'MarianMTModel',
    preNorm: false,
    sinusoidal: 'frozen',
    defaults: MARIAN_DEFAULTS,
  },
  pegasus: {
    prefix: 'Pegasus',
    lm: 'PegasusForConditionalGeneration',
    preNorm: true,
    sinusoidal: 'frozen',
    defaults: BART_DEFAULTS,
  },
  m2m_100: {
    prefix: 'M2M100',
    lm: 'M2M100ForConditionalGeneration',
    preNorm: true,
    sinusoidal: 'buffer',
    defaults: M2M100_DEFAULTS,
  },
  whisper: {
    prefix: 'Whisper',
    lm: 'WhisperForConditionalGeneration',
    preNorm: true,
    audio: true,
    defaults: WHISPER_DEFAULTS,
  },
};

/** The class prefix of a model type of the family (BART's where the type is not one). */
export function bartClassPrefix(type: string | undefined): string {
  return (VARIANTS[type ?? ''] ?? VARIANTS.bart).prefix;
}

// ACT2FN's activations whose backward reads what the planner keeps: GELU and SiLU (Marian's
// 'swish') their input, ReLU its output.
const ACTIVATIONS = ['gelu', 'relu', 'swish', 'silu'];

/** BartConfig's names for the common fields (its attribute_map: hidden_size is d_model,
 * num_attention_heads encoder_attention_heads), the encoder's shape standing for both stacks. */
const COMMON_NAMES: [string, string][] = [
  ['hidden_size', 'd_model'],
  ['num_hidden_layers', 'encoder_layers'],
  ['intermediate_size', 'encoder_ffn_dim'],
  ['num_attention_heads', 'encoder_attention_heads'],
  // BartEncoder and BartDecoder drop config.dropout of their embeddings' LayerNorm output.
  ['embedding_dropout', 'dropout'],
];

function commonFields(root: Config): Config {
  const text: Config = Object.create(root) as Config;
  const { defaults } = VARIANTS[String(root.model_type)] ?? VARIANTS.bart;
  for (const [common, own] of COMMON_NAMES) {
    const value = root[own] ?? root[common] ?? defaults[own];
    if (value !== undefined) text[common] = value;
  }
  return text;
}

// The head classes whose extra modules the planner has no recipe for.
const OWN_HEADS = [
  'ForSequenceClassification',
  'ForQuestionAnswering',
  'ForCausalLM',
  'ForAudioClassification',
];

/** The shapes one BART architecture cannot hold, each refused by its field: a decoder of
 * another width or head count than its encoder, an activation the recipe does not plan, a
 * head other than the LM's. */
function refuseUnsupported(read: ConfigReader, classes: BartVariant): void {
  const { config } = read;
  for (const [decoder, encoder] of [
    ['decoder_ffn_dim', 'encoder_ffn_dim'],
    ['decoder_attention_heads', 'encoder_attention_heads'],
  ]) {
    const given = config[decoder];
    if (given !== undefined && given !== config[encoder])
      read.fail(
        decoder,
        `a decoder whose ${decoder} (${String(given)}) differs from its encoder's ${encoder} (${String(config[encoder])}) is not planned yet: give both the same`,
      );
  }
  const activation = config.activation_function;
  if (!ACTIVATIONS.includes(String(activation)))
    read.fail(
      'activation_function',
      `${JSON.stringify(activation)} is not planned for ${classes.prefix} yet: give one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')}`,
    );
  if (config.share_encoder_decoder_embeddings === false)
    read.fail(
      'share_encoder_decoder_embeddings',
      "a Marian model with separate encoder and decoder embeddings is not planned yet: plan one whose stacks share them (true, MarianConfig's default)",
    );
  const head = Array.isArray(config.architectures) ? String(config.architectures[0]) : '';
  const own = OWN_HEADS.find((suffix) => head.endsWith(suffix));
  if (own)
    read.fail(
      'architectures',
      `${classes.prefix}${own}'s head is not planned yet: plan ${classes.lm} (the LM head fine-tuning trains)`,
    );
  if (read.errors.length > 0) throw new PlanValidationError(read.errors);
}

export const bart: Family = {
  types: Object.keys(VARIANTS),
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  biasEverywhere: () => true,
  wholeHeads: { width: 'd_model', heads: 'encoder_attention_heads' },
  textConfig: commonFields,
  defaults: (config) => (VARIANTS[String(config.model_type)] ?? VARIANTS.bart).defaults,
  refine: (arch, read, context) => {
    const variant = VARIANTS[context.type];
    refuseUnsupported(read, variant);
    if (variant.audio) return whisperStacks(arch, read);
    // MBartEncoder and MBartDecoder (Pegasus's and M2M100's too) end with layer_norm; BART's
    // and Marian's stacks end on a layer's norm.
    const { preNorm, sinusoidal } = variant;
    const encoderLayers = arch.numLayers;
    arch.encoder = {
      numLayers: encoderLayers,
      relativeAttentionBuckets: 0,
      finalNorm: preNorm,
      stackEmbeddings: true,
    };
    arch.numLayers = encoderLayers + read.numberOr(12, 'decoder_layers');
    if (!preNorm) arch.normAfterResidual = true;
    arch.finalNorm = preNorm;
    arch.embeddingNorm = !sinusoidal; // layernorm_embedding: BART's and mBART's stacks only
    arch.maxPositionEmbeddings = read.numberOr(1024, 'max_position_embeddings');
    // Marian's and Pegasus's tables have no offset rows; BART's and M2M100's have 2.
    const offset = sinusoidal === 'frozen' ? 0 : POSITION_OFFSET;
    arch.learnedPositionEmbeddings = arch.maxPositionEmbeddings + offset;
    if (sinusoidal) arch.positionTable = sinusoidal;
  },
};

/** WhisperModel's stacks: the encoder over max_source_positions frames from num_mel_bins
 * features (no token embedding, a frozen sinusoidal table), the decoder's token embedding and
 * learned table of max_target_positions rows (WhisperPositionalEmbedding: no offset rows), a
 * layer_norm ending each stack, no layernorm_embedding, k_proj without a bias. */
function whisperStacks(arch: ModelArchitecture, read: ConfigReader): void {
  const encoderLayers = arch.numLayers;
  const frames = read.numberOr(1500, 'max_source_positions');
  arch.encoder = {
    numLayers: encoderLayers,
    relativeAttentionBuckets: 0,
    finalNorm: true,
    audio: { melBins: read.numberOr(80, 'num_mel_bins'), frames },
  };
  arch.numLayers = encoderLayers + read.numberOr(4, 'decoder_layers');
  arch.finalNorm = true;
  arch.embeddingNorm = false;
  arch.keyBias = false;
  arch.maxPositionEmbeddings = read.numberOr(448, 'max_target_positions');
  arch.learnedPositionEmbeddings = arch.maxPositionEmbeddings;
}
