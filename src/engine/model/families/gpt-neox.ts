// GPT-NeoX / Pythia (modeling_gpt_neox.py): biases everywhere, parallel residual by default.
import { Family } from '../family';

export const gptNeox: Family = {
  types: ['gpt_neox'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  biasEverywhere: () => true,
  refine: (arch, read) => {
    arch.parallelResidual ??= read.flag('use_parallel_residual', true); // GPTNeoXConfig default
  },
};
