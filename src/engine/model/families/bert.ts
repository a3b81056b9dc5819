// Encoder-only BERT (modeling_bert.py): post-LN layers with biases, learned positions and
// token types, an embedding LayerNorm and no final norm; task heads are small beside V x h.
// RoBERTa, XLM-RoBERTa and CamemBERT (modeling_roberta.py, modeling_xlm_roberta.py,
// modeling_camembert.py) copy BERT's embeddings and layers; only their classification head
// differs (build.ts addClassifier), as ELECTRA's does.
import { ModelArchitecture, PlanValidationError } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { Family } from '../family';

/** What BERT's copies share: post-LN LayerNorm layers with biases everywhere. */
const BERT_SHAPE: Pick<
  Family,
  'mlp' | 'norm' | 'normsPerLayer' | 'biasEverywhere' | 'dropoutModules'
> = {
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  biasEverywhere: () => true,
  // transformers 5's BERT, RoBERTa, ELECTRA and DistilBERT: the embeddings', each sub-layer
  // output's and the classifier's dropout are modules, and the attention hands its kernel
  // `self.dropout.p`, a module's too
  dropoutModules: ['attention', 'residual', 'embedding'],
};

// BertConfig (and ElectraConfig) drop 0.1 of hidden states and attention probabilities in
// training and keep PretrainedConfig's tie_word_embeddings=True (the masked-LM decoder is the
// word embedding).
const BERT_DEFAULTS = {
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  tie_word_embeddings: true,
};

/** BertEmbeddings: position_embeddings rows + token_type_embeddings rows (type_vocab_size 2 by
 * default), then a LayerNorm; no final norm after the layers. */
function bertPositions(arch: ModelArchitecture, read: ConfigReader): void {
  const positions = (read.pick('maxPositionEmbeddings') as number) ?? 1024;
  arch.learnedPositionEmbeddings ||= positions + read.numberOr(2, 'type_vocab_size');
  arch.embeddingNorm = true;
  arch.finalNorm = false;
}

/** Relative position scores (BertSelfAttention's distance_embedding and its einsums over every
 * query and key) are not built: refused by their field. */
function refuseRelativePositions(read: ConfigReader): void {
  const kind = read.config.position_embedding_type;
  if (kind === undefined || kind === null || kind === 'absolute') return;
  read.fail(
    'position_embedding_type',
    `${JSON.stringify(kind)} (relative position scores) is not planned: give position_embedding_type 'absolute'`,
  );
}

export const bert: Family = {
  ...BERT_SHAPE,
  types: ['bert', 'roberta', 'xlm-roberta', 'camembert'],
  defaults: BERT_DEFAULTS,
  refine: (arch, read) => {
    refuseRelativePositions(read);
    if (read.errors.length > 0) throw new PlanValidationError(read.errors);
    bertPositions(arch, read);
    maskedLmHead(arch);
  },
};

/** ELECTRA's shapes the plan has no model code for, each refused by its field. */
function refuseElectraShapes(arch: ModelArchitecture, read: ConfigReader): void {
  refuseRelativePositions(read);
  const { architectures } = read.config;
  if (Array.isArray(architectures) && architectures[0] === 'ElectraForPreTraining')
    read.fail(
      'architectures',
      "ElectraForPreTraining's replaced-token head is not planned: give ['ElectraForSequenceClassification'] to fine-tune a discriminator, or ['ElectraForMaskedLM'] for a generator",
    );
  refuseProjectedEmbedding(arch, read, 'embeddings_project');
  if (read.errors.length > 0) throw new PlanValidationError(read.errors);
}

/** An embedding narrower than the layers, projected up by `projection` (ELECTRA's
 * embeddings_project, DeBERTa-v2's embed_proj): not planned, a failure on embedding_size. */
export function refuseProjectedEmbedding(
  arch: ModelArchitecture,
  read: ConfigReader,
  projection: string,
): void {
  const width = read.config.embedding_size;
  if (width === undefined || width === null || width === arch.hiddenSize) return;
  read.fail(
    'embedding_size',
    `an embedding ${JSON.stringify(width)} wide projected to hidden_size ${arch.hiddenSize} (${projection}) is not planned yet: give embedding_size equal to hidden_size`,
  );
}

// ELECTRA (modeling_electra.py): BERT's embeddings and layers copied, no pooler. The hub's
// discriminators are ElectraForPreTraining (a per-token replaced-token head); the plan builds
// ElectraForSequenceClassification (ElectraClassificationHead: dropout, dense, GELU, dropout,
// out_proj over the first token) and ElectraForMaskedLM (generator_predictions: dense, GELU,
// LayerNorm; generator_lm_head tied to the word embeddings, with its bias).
export const electra: Family = {
  ...BERT_SHAPE,
  types: ['electra'],
  defaults: BERT_DEFAULTS,
  refine: (arch, read) => {
    refuseElectraShapes(arch, read);
    bertPositions(arch, read);
    maskedLmHead(arch);
  },
};

/** Without a classifier the model is planned as its masked-LM: BertForMaskedLM's
 * BertOnlyMLMHead (transform dense, GELU, LayerNorm; the tied decoder and its own bias of V),
 * RobertaLMHead and DistilBertForMaskedLM's vocab_transform, vocab_layer_norm and
 * vocab_projector (nn.Linear with its bias) alike. */
function maskedLmHead(arch: ModelArchitecture): void {
  arch.maskedLmHead = true;
  arch.outputHeadBias = true;
}

/** DistilBertConfig's defaults (configuration_distilbert.py: distilbert-base-uncased's shape),
 * under the common names its own (dim, n_layers, n_heads, hidden_dim) stand for; its `dropout`
 * also drops the embeddings out (Embeddings.dropout). */
function distilbertDefaults(config: Config): Config {
  return {
    hidden_size: config.dim ?? 768,
    num_hidden_layers: config.n_layers ?? 6,
    num_attention_heads: config.n_heads ?? 12,
    intermediate_size: config.hidden_dim ?? 3072,
    vocab_size: 30522,
    max_position_embeddings: 512,
    activation: 'gelu',
    dropout: 0.1,
    attention_dropout: 0.1,
    embedding_dropout: config.dropout ?? 0.1,
    tie_word_embeddings: true, // PretrainedConfig's default: vocab_projector is the embedding
  };
}

// DistilBERT (modeling_distilbert.py): BERT's post-LN layers under other names (q_lin, k_lin,
// v_lin, out_lin, sa_layer_norm, ffn.lin1 and lin2, output_layer_norm), no dropout on the
// attention output, learned positions without token types, pre_classifier and classifier.
export const distilbert: Family = {
  ...BERT_SHAPE,
  types: ['distilbert'],
  defaults: distilbertDefaults,
  refine: (arch, read) => {
    if (read.config.sinusoidal_pos_embds === true) {
      read.fail(
        'sinusoidal_pos_embds',
        'fixed sinusoidal positions (an embedding that is not trained) are not planned: give sinusoidal_pos_embds false',
      );
      throw new PlanValidationError(read.errors);
    }
    arch.learnedPositionEmbeddings = read.numberOr(512, 'max_position_embeddings');
    arch.embeddingNorm = true;
    arch.finalNorm = false;
    maskedLmHead(arch);
  },
};
