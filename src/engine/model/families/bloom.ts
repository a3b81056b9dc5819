// BLOOM (modeling_bloom.py): a LayerNorm right after the embedding, biases everywhere, tied.
import { Family } from '../family';

export const bloom: Family = {
  types: ['bloom'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  biasEverywhere: () => true,
  defaults: { tie_word_embeddings: true }, // BloomForCausalLM ties lm_head to word_embeddings
  refine: (arch) => {
    arch.embeddingNorm = true; // word_embeddings_layernorm
  },
};
