// Encoder-only BERT (modeling_bert.py): post-LN layers with biases, learned positions and
// token types, an embedding LayerNorm and no final norm; task heads are small beside V x h.
// RoBERTa and XLM-RoBERTa (modeling_roberta.py, modeling_xlm_roberta.py) copy BERT's embeddings
// and layers; only their classification head differs (build.ts addClassifier).
import { Family } from '../family';

export const bert: Family = {
  types: ['bert', 'roberta', 'xlm-roberta'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  biasEverywhere: () => true,
  // BertConfig drops 0.1 of hidden states and attention probabilities in training.
  defaults: { hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 },
  refine: (arch, read) => {
    const positions = (read.pick('maxPositionEmbeddings') as number) ?? 1024;
    // position_embeddings rows + token_type_embeddings rows (BertConfig type_vocab_size=2).
    arch.learnedPositionEmbeddings ||= positions + read.numberOr(2, 'type_vocab_size');
    arch.embeddingNorm = true;
    arch.finalNorm = false;
  },
};
