// OPT (modeling_opt.py): pre-LayerNorm decoder layers with biased q, k, v, out_proj, fc1 and fc2,
// ReLU, learned positions with an offset of 2 rows (OPTLearnedPositionalEmbedding), dropout
// before each residual add, a tied head.
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
  const proj = config.word_embed_proj_dim;
  if (typeof proj === 'number' && proj !== config.hidden_size)
    read.fail(
      'word_embed_proj_dim',
      `an embedding of ${proj} projected to hidden_size ${String(config.hidden_size)} (OPT-350m's project_in and project_out) is not planned yet: give word_embed_proj_dim equal to hidden_size`,
    );
  if (config.do_layer_norm_before === false)
    read.fail(
      'do_layer_norm_before',
      'post-LayerNorm OPT layers (OPT-350m) are not planned yet: give do_layer_norm_before true',
    );
  if (config.layer_norm_elementwise_affine === false)
    read.fail(
      'layer_norm_elementwise_affine',
      'LayerNorms without weights are not planned yet: give layer_norm_elementwise_affine true',
    );
  if (read.errors.length > 0) throw new PlanValidationError(read.errors);
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
    const positions = read.numberOr(2048, 'max_position_embeddings');
    arch.learnedPositionEmbeddings = positions + POSITION_OFFSET;
  },
};
