// IBM Granite 3.x (modeling_granite.py): Llama's layer with four scalar multipliers
// (embedding_multiplier, residual_multiplier, attention_multiplier, logits_scaling). GraniteConfig
// defaults them to 1.0 and the model code applies them whatever their value, so the family has
// no field of its own: its recipe (recipes/index.ts) plans the scalar multiplications.
import { Family } from '../family';

export const granite: Family = {
  types: ['granite'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
};
