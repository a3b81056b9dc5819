// DeBERTa-v1 (transformers models/deberta/modeling_deberta.py; model_type 'deberta'): DeBERTa-v2's
// post-LN encoder (deberta-v2.ts) with the paper's first attention: q, k and v from one bias-free
// in_proj plus a q_bias and a v_bias, the relative positions through the layer's own pos_proj
// and pos_q_proj, and DebertaLayerNorm (TF-style, written as tensor ops) for every norm.
import { ModelArchitecture, PlanValidationError } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { Family } from '../family';
import { refuseProjectedEmbedding } from './bert';
import {
  DEBERTA_SHAPE,
  DEBERTA_SHARED_DEFAULTS,
  debertaEnds,
  givesDisentangled,
  positionScores,
} from './deberta-v2';

/** DebertaConfig's defaults (configuration_deberta.py: deberta-base's shape; the legacy
 * masked-LM head), under the common names. */
const DEBERTA_DEFAULTS: Config = {
  ...DEBERTA_SHARED_DEFAULTS,
  vocab_size: 50265,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  legacy: true,
};

/** The shapes the plan has no model code for, each refused by its field. */
function refuseUnplanned(arch: ModelArchitecture, read: ConfigReader): void {
  const { config } = read;
  if (config.relative_attention !== true && !givesDisentangled(read))
    read.fail(
      'relative_attention',
      'DeBERTa without relative position scores is not planned: give relative_attention true (every published DeBERTa checkpoint sets it)',
    );
  if (config.talking_head === true)
    read.fail(
      'talking_head',
      "talking heads (head_logits_proj and head_weights_proj over the scores) are not planned: give talking_head false (DebertaConfig's default)",
    );
  if (config.legacy === false && !arch.sequenceClassificationLabels)
    read.fail(
      'legacy',
      "DebertaForMaskedLM's lm_predictions head (legacy false) is not planned: give legacy true (DebertaConfig's default), whose cls.predictions head is BERT's",
    );
  refuseProjectedEmbedding(arch, read, 'embed_proj');
  if (read.errors.length > 0) throw new PlanValidationError(read.errors);
}

export const deberta: Family = {
  ...DEBERTA_SHAPE, // DebertaLayerNorm: a weight and a bias
  types: ['deberta'],
  defaults: DEBERTA_DEFAULTS,
  refine: (arch, read) => {
    refuseUnplanned(arch, read);
    debertaEnds(arch, read);
    // DisentangledSelfAttention.in_proj: nn.Linear(h, 3 x all_head_size, bias=False).
    arch.fusedQkv = true;
    arch.qkvBias = false;
    if (givesDisentangled(read)) return;
    // DebertaEncoder.rel_embeddings: 2 x max_relative_positions rows (max_position_embeddings
    // where that is below 1), no LayerNorm, distances not bucketed.
    const maxRelative = read.numberOr(-1, 'max_relative_positions');
    const scores = positionScores(read);
    arch.disentangled = {
      span: maxRelative < 1 ? arch.maxPositionEmbeddings : maxRelative,
      contentToPosition: scores.includes('c2p'),
      positionToContent: scores.includes('p2c'),
      sharedKey: false,
      normalized: false,
      logBuckets: false,
      inProjection: true,
    };
  },
};
