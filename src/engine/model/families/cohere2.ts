// Cohere2 / Command R7B (modeling_cohere2.py): Cohere's parallel block with one bias-free
// LayerNorm and no q/k norms, sliding-window layers with a full-attention layer every
// `sliding_window_pattern`-th (or as layer_types lists them), and RoPE on the sliding layers
// only (Cohere2Attention rotates q and k where its sliding_window is set).
import { Family, indicesWhere, slidingLayerTypes } from '../family';

export const cohere2: Family = {
  types: ['cohere2'],
  mlp: 'gated',
  norm: 'layernorm-nobias',
  normsPerLayer: 1,
  // Cohere2Config: tie_word_embeddings=True, sliding_window=4096.
  defaults: { tie_word_embeddings: true, sliding_window: 4096 },
  refine: (arch, read) => {
    arch.parallelResidual ??= true;
    // Cohere2Config.__post_init__: sliding_window_pattern (default 4), every 4th layer full.
    const pattern = read.numberOr(4, 'sliding_window_pattern');
    const types = slidingLayerTypes(read.config, arch.numLayers, pattern);
    arch.layerTypes = types;
    arch.noRopeLayers = indicesWhere(types.length, (i) => types[i] === 'full_attention');
  },
};
