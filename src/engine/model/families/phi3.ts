// Phi-3 (modeling_phi3.py): q/k/v in one qkv_proj, gate and up in one gate_up_proj.
import { Family } from '../family';

export const phi3: Family = {
  types: ['phi3'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  refine: (arch) => {
    arch.fusedQkv = true;
    arch.fusedGateUp = true;
  },
};
