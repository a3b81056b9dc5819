// Llama, Mistral and Mixtral: the gated RMSNorm decoder every other family varies
// (modeling_llama.py, modeling_mistral.py, modeling_mixtral.py). Ministral (modular_ministral.py)
// is Qwen2's layer without the q, k and v biases, that is Mistral's, with per-layer layer_types.
import { LayerType } from '../../vocabulary';
import { Config } from '../config-reader';
import { Family } from '../family';

// MinistralConfig: a 4,096-token window on every layer unless layer_types says otherwise, and an
// untied head (Ministral-8B-Instruct-2410's shape for the rest).
const MINISTRAL_DEFAULTS: Config = { sliding_window: 4096, tie_word_embeddings: false };

export const llama: Family = {
  types: ['llama', 'mistral', 'mixtral', 'ministral'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: (config) => (config.model_type === 'ministral' ? MINISTRAL_DEFAULTS : {}),
  refine: (arch, read, context) => {
    // MinistralModel masks each layer as its layer_types entry says (full or sliding).
    const types = read.config.layer_types;
    if (context.type === 'ministral' && Array.isArray(types))
      arch.layerTypes = types as LayerType[];
  },
};
