// T5 (modeling_t5.py): an encoder and a decoder stack with relative position buckets; the
// decoder adds cross-attention. feed_forward_proj picks a ReLU MLP or a gated GeLU one. mT5
// (modeling_mt5.py) is T5's code copied module for module, with MT5Config's own defaults. UMT5
// (modeling_umt5.py) is mT5 whose every self-attention holds and computes its own relative
// position bias.
import { Config } from '../config-reader';
import { Family } from '../family';

// T5Config: tie_word_embeddings=True, dropout_rate=0.1.
const T5_DEFAULTS: Config = { tie_word_embeddings: true, dropout_rate: 0.1 };
// MT5Config: an untied head, the gated GeLU MLP, 250,112 tokens (google/mt5-small's shape).
const MT5_DEFAULTS: Config = {
  tie_word_embeddings: false,
  dropout_rate: 0.1,
  feed_forward_proj: 'gated-gelu',
  vocab_size: 250112,
  d_model: 512,
  d_kv: 64,
  d_ff: 1024,
  num_layers: 8,
  num_heads: 6,
};

// UMT5Config: MT5Config's shape with a tied head.
const UMT5_DEFAULTS: Config = { ...MT5_DEFAULTS, tie_word_embeddings: true };
const DEFAULTS: Record<string, Config> = { mt5: MT5_DEFAULTS, umt5: UMT5_DEFAULTS };

export const t5: Family = {
  types: ['t5', 'mt5', 'umt5'],
  mlp: 'plain',
  norm: 'rmsnorm', // T5LayerNorm: RMS-style, weight only
  normsPerLayer: 2,
  defaults: (config) => DEFAULTS[String(config.model_type)] ?? T5_DEFAULTS,
  refine: (arch, read, context) => {
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
    if (context.type === 'umt5') arch.encoder.relativeBiasPerLayer = true;
    arch.numLayers = encoderLayers + read.numberOr(encoderLayers, 'num_decoder_layers');
    arch.maxPositionEmbeddings = read.numberOr(512, 'n_positions');
  },
};
