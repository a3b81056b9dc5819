// OLMo-2 (modeling_olmo2.py): RMSNorm over the whole a*d queries and g*d keys.
import { Family } from '../family';

export const olmo2: Family = {
  types: ['olmo2'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  refine: (arch) => {
    arch.qkNorm = true;
    arch.qkNormPerHead = true;
  },
};
