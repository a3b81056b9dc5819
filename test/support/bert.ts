// bert-base-uncased's config.json shape (the family's own defaults otherwise), for the specs that
// plan BERT as a masked LM, a classifier or a reward model.
export const BERT_BASE = {
  model_type: 'bert',
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  vocab_size: 30522,
  max_position_embeddings: 512,
  type_vocab_size: 2,
};
