// DeBERTa-v2 and DeBERTa-v3 (transformers models/deberta_v2/modeling_deberta_v2.py; model_type
// 'deberta-v2' for both): BERT's post-LN encoder layers with biases everywhere, whose attention
// adds relative position scores (DisentangledSelfAttention) read from one table the encoder
// holds; DebertaV2Embeddings adds absolute positions and token types only where the config asks.
import {
  DisentangledAttentionConfig,
  EncoderConvConfig,
  ModelArchitecture,
  PlanValidationError,
} from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { Family } from '../family';
import { refuseProjectedEmbedding } from './bert';

/** The defaults DebertaConfig and DebertaV2Config share (configuration_deberta.py,
 * configuration_deberta_v2.py), but for the shape: no relative attention, absolute positions,
 * no token types. */
export const DEBERTA_SHARED_DEFAULTS: Config = {
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 0,
  relative_attention: false,
  max_relative_positions: -1,
  position_biased_input: true,
  pos_att_type: null,
  pooler_dropout: 0,
  pooler_hidden_act: 'gelu',
  tie_word_embeddings: true, // PretrainedConfig's: the masked-LM decoder is the word embedding
};

/** DebertaV2Config's defaults (configuration_deberta_v2.py: deberta-v2-xlarge's shape), under
 * the common names; attention_head_size stands for head_dim. */
function debertaV2Defaults(config: Config): Config {
  return {
    ...DEBERTA_SHARED_DEFAULTS,
    vocab_size: 128100,
    hidden_size: 1536,
    num_hidden_layers: 24,
    num_attention_heads: 24,
    intermediate_size: 6144,
    ...(config.attention_head_size !== undefined ? { head_dim: config.attention_head_size } : {}),
  };
}

/** pos_att_type as DebertaV2Config.__init__ (and DebertaConfig's) reads it: a '|'-separated
 * string or a list (none: no relative scores). */
export function positionScores(read: ConfigReader): string[] {
  const given = read.config.pos_att_type;
  if (typeof given === 'string')
    return given
      .toLowerCase()
      .split('|')
      .map((x) => x.trim());
  if (Array.isArray(given)) return given.map((x) => String(x).toLowerCase());
  if (given !== undefined && given !== null) {
    read.fail('pos_att_type', "give a '|'-separated string such as 'p2c|c2p', or a list");
    throw new PlanValidationError(read.errors);
  }
  return [];
}

/** DisentangledSelfAttention.__init__ and DebertaV2Encoder.__init__: the table's span
 * (pos_ebd_size), which scores are added, and how the positions are projected. */
function readDisentangled(
  arch: ModelArchitecture,
  read: ConfigReader,
): DisentangledAttentionConfig {
  const buckets = read.numberOr(-1, 'position_buckets');
  const maxRelative = read.numberOr(-1, 'max_relative_positions');
  const distances = maxRelative < 1 ? arch.maxPositionEmbeddings : maxRelative;
  const scores = positionScores(read);
  const norms = String(read.config.norm_rel_ebd ?? 'none')
    .toLowerCase()
    .split('|');
  return {
    span: buckets > 0 ? buckets : distances,
    contentToPosition: scores.includes('c2p'),
    positionToContent: scores.includes('p2c'),
    sharedKey: read.config.share_att_key === true,
    normalized: norms.map((x) => x.trim()).includes('layer_norm'),
    logBuckets: buckets > 0 && distances > 0,
  };
}

/** The shapes the plan has no model code for, each refused by its field. */
function refuseUnplanned(arch: ModelArchitecture, read: ConfigReader): void {
  refuseProjectedEmbedding(arch, read, 'embed_proj');
  if (read.errors.length > 0) throw new PlanValidationError(read.errors);
}

/** DebertaV2Encoder.conv where conv_kernel_size > 0 (ConvLayer: conv_groups 1 and conv_act
 * 'tanh' by default; deberta-v2-xlarge gives 'gelu'). */
function readEncoderConv(read: ConfigReader): EncoderConvConfig | undefined {
  const kernel = read.numberOr(0, 'conv_kernel_size');
  if (kernel <= 0) return undefined;
  const activation = read.config.conv_act ?? 'tanh';
  if (activation !== 'tanh' && activation !== 'gelu') {
    read.fail('conv_act', "give 'tanh' (ConvLayer's default) or 'gelu'");
    throw new PlanValidationError(read.errors);
  }
  return { kernel, groups: read.numberOr(1, 'conv_groups'), activation };
}

/** What both DeBERTa codes build: post-LN layers of biased linears and two LayerNorms each
 * (DeBERTa-v1's DebertaLayerNorm has nn.LayerNorm's weight and bias). */
export const DEBERTA_SHAPE: Pick<
  Family,
  'mlp' | 'norm' | 'normsPerLayer' | 'biasEverywhere' | 'dropoutModules'
> = {
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  biasEverywhere: () => true,
  // modeling_deberta(_v2).py: every dropout is an nn.Dropout (the attention probabilities', the
  // embeddings', each output's, the ConvLayer's, the pooler's and the classifier's)
  dropoutModules: ['attention', 'residual', 'embedding'],
};

/** DebertaEmbeddings and DebertaV2Embeddings: position_embeddings where position_biased_input,
 * token types where type_vocab_size > 0, then its LayerNorm; the encoder ends without a final
 * norm; the legacy masked-LM head (cls.predictions) is BERT's transform and a decoder tied to
 * the word embedding, with its own bias. */
export function debertaEnds(arch: ModelArchitecture, read: ConfigReader): void {
  const positions = read.config.position_biased_input === false ? 0 : arch.maxPositionEmbeddings;
  arch.learnedPositionEmbeddings ||= positions + read.numberOr(0, 'type_vocab_size');
  arch.embeddingNorm = true;
  arch.finalNorm = false;
  arch.maskedLmHead = true;
  arch.outputHeadBias = true;
}

/** An exported architecture that gives its disentangled block itself. */
export function givesDisentangled(read: ConfigReader): boolean {
  return Boolean(read.config.disentangled && typeof read.config.disentangled === 'object');
}

export const debertaV2: Family = {
  ...DEBERTA_SHAPE,
  types: ['deberta-v2'],
  defaults: debertaV2Defaults,
  refine: (arch, read) => {
    refuseUnplanned(arch, read);
    debertaEnds(arch, read);
    if (givesDisentangled(read)) return;
    if (read.config.relative_attention === true) arch.disentangled = readDisentangled(arch, read);
    const conv = readEncoderConv(read);
    if (conv) arch.encoderConv = conv;
  },
};
