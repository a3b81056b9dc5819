// Cohere Command-R (modeling_cohere.py): one bias-free LayerNorm feeding attention and MLP in
// parallel; optional q/k LayerNorms with a weight per head.
import { Family } from '../family';

export const cohere: Family = {
  types: ['cohere'],
  mlp: 'gated',
  norm: 'layernorm-nobias',
  normsPerLayer: 1,
  defaults: { tie_word_embeddings: true }, // CohereConfig: tie_word_embeddings=True
  refine: (arch, read) => {
    if (read.bool('use_qk_norm')) arch.qkNormPerHead = true;
    arch.parallelResidual ??= true;
  },
};
