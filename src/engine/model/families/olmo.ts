// OLMo-1 (modular_olmo.py): Llama's layer with OlmoLayerNorm, a LayerNorm computed in fp32
// without weight or bias, before attention, before the MLP and at the end; no biases.
import { Config } from '../config-reader';
import { Family, refuseClipQkv } from '../family';
import { LLAMA_CONFIG_DEFAULTS } from './text-configs';

/** OlmoConfig's defaults (configuration_olmo.py): OLMo-7B's shape, LlamaConfig's but the
 * vocabulary. */
const OLMO_DEFAULTS: Config = {
  ...LLAMA_CONFIG_DEFAULTS,
  vocab_size: 50304,
  attention_bias: false,
};

export const olmo: Family = {
  types: ['olmo'],
  mlp: 'gated',
  norm: 'layernorm-weightless',
  normsPerLayer: 2,
  defaults: OLMO_DEFAULTS,
  refine: (_arch, read) => refuseClipQkv(read),
};
