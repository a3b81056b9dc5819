// SmolLM3 (modeling_smollm3.py): Llama's layer, with RoPE left out of every
// no_rope_layer_interval-th layer (NoPE) or where no_rope_layers has a 0; with use_sliding_window
// the NoPE layers attend within the window (SmolLM3Config.__post_init__'s layer_types).
import { Config } from '../config-reader';
import { Family, noRopeIndices, ropeFlags } from '../family';

/** SmolLM3Config's defaults (configuration_smollm3.py): SmolLM3-3B's shape. */
const SMOLLM3_DEFAULTS: Config = {
  vocab_size: 128256,
  hidden_size: 2048,
  intermediate_size: 11008,
  num_hidden_layers: 36,
  num_attention_heads: 16,
  num_key_value_heads: 4,
  hidden_act: 'silu',
  max_position_embeddings: 32768,
  tie_word_embeddings: true,
  use_sliding_window: false,
};

export const smollm3: Family = {
  types: ['smollm3'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: SMOLLM3_DEFAULTS,
  refine: (arch, read) => {
    const rope = ropeFlags(read, arch.numLayers);
    arch.noRopeLayers = noRopeIndices(rope);
    if (!arch.slidingWindow) return; // the reader sets it only under use_sliding_window
    arch.layerTypes = Array.isArray(read.config.layer_types)
      ? (read.config.layer_types as typeof arch.layerTypes)
      : rope.map((flag) => (flag ? 'full_attention' : 'sliding_attention'));
  },
};
