// A narrow DeBERTa encoder (DebertaConfig's and DebertaV2Config's names): two layers of 256, 4
// heads, a 512-wide FFN, 1,024 tokens, both relative score kinds and no absolute positions.
// Specs put a model_type on it (deberta, deberta-v2) and the version's own fields.
export const NARROW_DEBERTA = {
  hidden_size: 256,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 512,
  vocab_size: 1024,
  relative_attention: true,
  pos_att_type: 'c2p|p2c',
  position_biased_input: false,
};
