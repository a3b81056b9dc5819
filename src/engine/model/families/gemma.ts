// Gemma and Gemma-2 (modeling_gemma.py, modeling_gemma2.py): tied embeddings; Gemma-2 has
// four norms per layer and alternates local and global attention.
import { Family } from '../family';

export const gemma: Family = {
  types: ['gemma'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: { tie_word_embeddings: true }, // GemmaConfig: tie_word_embeddings=True
};

export const gemma2: Family = {
  types: ['gemma2'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 4,
  defaults: { tie_word_embeddings: true }, // Gemma2Config: tie_word_embeddings=True
  refine: (arch) => {
    // Gemma2DecoderLayer: is_sliding = not bool(layer_idx % 2), every other layer.
    if (arch.slidingWindow) arch.slidingWindowLayerFraction = 0.5;
  },
};
