// OPT (modeling_opt.py): pre-LayerNorm decoder layers (post-LayerNorm in OPT-350m) with biased
// q, k, v, out_proj, fc1 and fc2, ReLU, learned positions with an offset of 2 rows
// (OPTLearnedPositionalEmbedding), dropout before each residual add, a tied head; OPT-350m's
// 512-wide embedding projected to and from its 1,024-wide layers.
import { PlanValidationError } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { Family } from '../family';

/** OPTConfig's defaults (configuration_opt.py): OPT-125m's shape. */
const OPT_DEFAULTS: Config = {
  vocab_size: 50272,
  hidden_size: 768,
  num_hidden_layers: 12,
  ffn_dim: 3072,
  num_attention_heads: 12,
  max_position_embeddings: 2048,
  activation_function: 'relu',
  do_layer_norm_before: true,
  dropout: 0.1,
  attention_dropout: 0.0,
  enable_bias: true,
  layer_norm_elementwise_affine: true,
  tie_word_embeddings: true,
};

// OPTLearnedPositionalEmbedding: num_embeddings + 2 rows (fairseq's padding offset).
const POSITION_OFFSET = 2;

/** The OPT shapes the plan has no model code for yet, each refused by its field. */
function refuseUnsupported(read: ConfigReader): void {
  const { config } = read;
  const classifier = Array.isArray(config.architectures)
    ? String(config.architectures[0]).endsWith('ForSequenceClassification')
    : false;
  if (classifier && projectedWidth(read) !== undefined)
    read.fail(
      'word_embed_proj_dim',
      "OPTForSequenceClassification's score over a projected embedding (OPT-350m) is not planned yet: plan the causal LM, or give word_embed_proj_dim equal to hidden_size",
    );
  const before = config.do_layer_norm_before;
  if (before !== undefined && before !== null && typeof before !== 'boolean')
    read.fail('do_layer_norm_before', `must be true or false, got ${JSON.stringify(before)}`);
  if (config.layer_norm_elementwise_affine === false)
    read.fail(
      'layer_norm_elementwise_affine',
      'LayerNorms without weights are not planned yet: give layer_norm_elementwise_affine true',
    );
  if (read.errors.length > 0) throw new PlanValidationError(read.errors);
}

/** word_embed_proj_dim where it differs from hidden_size (OPT-350m's 512 under 1,024). */
function projectedWidth(read: ConfigReader): number | undefined {
  const width = read.config.word_embed_proj_dim;
  return typeof width === 'number' && width !== read.config.hidden_size ? width : undefined;
}

export const opt: Family = {
  types: ['opt'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  biasEverywhere: (read) => read.config.enable_bias !== false,
  defaults: OPT_DEFAULTS,
  refine: (arch, read) => {
    refuseUnsupported(read);
    // OPTDecoder: embed_tokens is vocab x word_embed_proj_dim, with project_in and project_out
    // (bias-free) between it and the layers where the widths differ.
    const width = projectedWidth(read);
    if (width !== undefined) arch.embeddingWidth = width;
    // OPTDecoderLayer's 350m branch: each LayerNorm after its residual add; OPTDecoder then
    // makes no final_layer_norm (only with do_layer_norm_before).
    if (read.config.do_layer_norm_before === false) {
      arch.normAfterResidual = true;
      arch.finalNorm = false;
    }
    const positions = read.numberOr(2048, 'max_position_embeddings');
    arch.learnedPositionEmbeddings = positions + POSITION_OFFSET;
  },
};
