// GPT-2 and GPT-3-style configs (modeling_gpt2.py): LayerNorms, biases everywhere, learned
// absolute positions and tied embeddings.
import { Family } from '../family';

export const gpt2: Family = {
  types: ['gpt2'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  biasEverywhere: () => true,
  // modeling_gpt2.py: attn_dropout (its p is what SDPA is handed), resid_dropout, the MLP's
  // dropout and the embeddings' drop are modules
  dropoutModules: ['attention', 'residual', 'embedding'],
  // GPT2LMHeadModel ties lm_head to wte; GPT2Config drops 0.1 of attention, residual, embedding.
  defaults: { tie_word_embeddings: true, attn_pdrop: 0.1, resid_pdrop: 0.1, embd_pdrop: 0.1 },
  refine: (arch, read) => {
    // wpe: n_positions rows (GPT2Config default 1024).
    arch.learnedPositionEmbeddings ||= (read.pick('maxPositionEmbeddings') as number) ?? 1024;
  },
};
