// T5 (modeling_t5.py): an encoder and a decoder stack with relative position buckets; the
// decoder adds cross-attention. feed_forward_proj picks a ReLU MLP or a gated GeLU one.
import { Family } from '../family';

export const t5: Family = {
  types: ['t5'],
  mlp: 'plain',
  norm: 'rmsnorm', // T5LayerNorm: RMS-style, weight only
  normsPerLayer: 2,
  // T5Config: tie_word_embeddings=True, dropout_rate=0.1.
  defaults: { tie_word_embeddings: true, dropout_rate: 0.1 },
  refine: (arch, read) => {
    const projection = String(read.config.feed_forward_proj ?? 'relu');
    if (read.config.mlp === undefined)
      arch.mlp = projection.startsWith('gated-') ? 'gated' : 'plain';
    arch.activation = projection.replace('gated-', '');
    if (read.config.encoder && typeof read.config.encoder === 'object') return;
    // num_layers is the encoder's depth; num_decoder_layers defaults to it (T5Config).
    const encoderLayers = arch.numLayers;
    arch.encoder = {
      numLayers: encoderLayers,
      relativeAttentionBuckets: read.numberOr(32, 'relative_attention_num_buckets'),
    };
    arch.numLayers = encoderLayers + read.numberOr(encoderLayers, 'num_decoder_layers');
    arch.maxPositionEmbeddings = read.numberOr(512, 'n_positions');
  },
};
