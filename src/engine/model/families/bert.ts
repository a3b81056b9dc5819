// Encoder-only BERT (modeling_bert.py): post-LN layers with biases, learned positions and
// token types, an embedding LayerNorm and no final norm; task heads are small beside V x h.
// RoBERTa and XLM-RoBERTa (modeling_roberta.py, modeling_xlm_roberta.py) copy BERT's embeddings
// and layers; only their classification head differs (build.ts addClassifier).
import { ModelArchitecture, PlanValidationError } from '../../vocabulary';
import { Config } from '../config-reader';
import { Family } from '../family';

export const bert: Family = {
  types: ['bert', 'roberta', 'xlm-roberta'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  biasEverywhere: () => true,
  // BertConfig drops 0.1 of hidden states and attention probabilities in training; it keeps
  // PretrainedConfig's tie_word_embeddings=True (the masked-LM decoder is the word embedding).
  defaults: {
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    tie_word_embeddings: true,
  },
  refine: (arch, read) => {
    const positions = (read.pick('maxPositionEmbeddings') as number) ?? 1024;
    // position_embeddings rows + token_type_embeddings rows (BertConfig type_vocab_size=2).
    arch.learnedPositionEmbeddings ||= positions + read.numberOr(2, 'type_vocab_size');
    arch.embeddingNorm = true;
    arch.finalNorm = false;
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
  types: ['distilbert'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  biasEverywhere: () => true,
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
