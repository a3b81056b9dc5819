// A narrow BART-family config (BartConfig's names): two encoder and two decoder layers of 256,
// a 1,024-wide MLP, 4 heads, 4,096 tokens. Specs over the encoder-decoders put a model_type on
// it (bart, mbart, marian, pegasus, m2m_100).
export const NARROW_SEQ2SEQ = {
  d_model: 256,
  encoder_layers: 2,
  decoder_layers: 2,
  encoder_ffn_dim: 1024,
  decoder_ffn_dim: 1024,
  encoder_attention_heads: 4,
  decoder_attention_heads: 4,
  vocab_size: 4096,
};
