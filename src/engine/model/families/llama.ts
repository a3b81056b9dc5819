// Llama, Mistral and Mixtral: the gated RMSNorm decoder every other family varies
// (modeling_llama.py, modeling_mistral.py, modeling_mixtral.py).
import { Family } from '../family';

export const llama: Family = {
  types: ['llama', 'mistral', 'mixtral'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
};
