// EXAONE 4.0 (modular_exaone4.py): OLMo-2's layer (norms after attention and after the MLP,
// none before) with Llama's RMSNorm, q/k RMSNorms per head, and in a hybrid model
// sliding-window layers that rotate q and k with full-attention layers that do not
// (Exaone4Attention: "global NoPE for hybrid attention model").
import { LayerType } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { Family, indicesWhere, slidingLayerTypes } from '../family';

/** Exaone4Config's defaults (configuration_exaone4.py). */
const EXAONE4_DEFAULTS: Config = {
  vocab_size: 102400,
  hidden_size: 4096,
  intermediate_size: 16384,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  hidden_act: 'silu',
  max_position_embeddings: 2048,
  tie_word_embeddings: false,
  sliding_window: 4096,
};

/** Exaone4Config.__init__: layer_types as given; else without a sliding window every layer is
 * full; else a period of `sliding_window_pattern` layers (an integer, or a string such as
 * "LLLG") whose last is full. */
function exaoneLayerTypes(read: ConfigReader, layers: number): LayerType[] {
  const { config } = read;
  if (Array.isArray(config.layer_types) || typeof config.sliding_window !== 'number')
    return Array.isArray(config.layer_types)
      ? slidingLayerTypes(config, layers, 1)
      : Array.from({ length: layers }, () => 'full_attention');
  const pattern = config.sliding_window_pattern;
  if (typeof pattern === 'string' && pattern.length > 0)
    return Array.from({ length: layers }, (_, i) =>
      pattern[i % pattern.length] === 'L' && i < layers - 1
        ? 'sliding_attention'
        : 'full_attention',
    );
  return slidingLayerTypes(config, layers, read.numberOr(4, 'sliding_window_pattern'));
}

export const exaone4: Family = {
  types: ['exaone4'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: EXAONE4_DEFAULTS,
  refine: (arch, read) => {
    arch.qkNorm = true; // q_norm and k_norm of head_dim
    const types = exaoneLayerTypes(read, arch.numLayers);
    arch.layerTypes = types;
    if (types.includes('sliding_attention'))
      arch.noRopeLayers = indicesWhere(types.length, (i) => types[i] === 'full_attention');
  },
};
