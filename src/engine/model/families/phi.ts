// Phi-1/Phi-2 (modeling_phi.py): one LayerNorm feeding parallel attention and MLP, biases
// everywhere including the output head.
import { Family } from '../family';

export const phi: Family = {
  types: ['phi'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 1,
  biasEverywhere: () => true,
  // modeling_phi.py: resid_dropout and embed_dropout are modules; the attention's is the
  // config's float
  dropoutModules: ['residual', 'embedding'],
  refine: (arch) => {
    arch.parallelResidual ??= true;
    arch.outputHeadBias = true; // PhiForCausalLM's lm_head has bias=True
  },
};
