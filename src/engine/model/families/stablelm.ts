// StableLM (modeling_stablelm.py): gated MLP with LayerNorms, sequential unless told.
import { Family } from '../family';

export const stablelm: Family = {
  types: ['stablelm'],
  mlp: 'gated',
  norm: 'layernorm',
  normsPerLayer: 2,
  refine: (arch, read) => {
    arch.parallelResidual ??= read.flag('use_parallel_residual', false); // StableLmConfig default
  },
};
