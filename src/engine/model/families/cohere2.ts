// Cohere2 / Command R7B (modeling_cohere2.py): Cohere's parallel block with one bias-free
// LayerNorm and no q/k norms, sliding-window layers with a full-attention layer every
// `sliding_window_pattern`-th (or as layer_types lists them), and RoPE on the sliding layers
// only (Cohere2Attention rotates q and k where its sliding_window is set).
import { LayerType } from '../../vocabulary';
import { Config } from '../config-reader';
import { Family, indicesWhere } from '../family';

/** Cohere2Config.__post_init__: layer_types, else every 4th layer (the pattern) full. */
function cohere2LayerTypes(config: Config, layers: number): LayerType[] {
  if (Array.isArray(config.layer_types)) return config.layer_types as LayerType[];
  const pattern =
    typeof config.sliding_window_pattern === 'number' ? config.sliding_window_pattern : 4;
  return Array.from({ length: layers }, (_, i) =>
    (i + 1) % pattern ? 'sliding_attention' : 'full_attention',
  );
}

export const cohere2: Family = {
  types: ['cohere2'],
  mlp: 'gated',
  norm: 'layernorm-nobias',
  normsPerLayer: 1,
  // Cohere2Config: tie_word_embeddings=True, sliding_window=4096.
  defaults: { tie_word_embeddings: true, sliding_window: 4096 },
  refine: (arch, read) => {
    arch.parallelResidual ??= true;
    const types = cohere2LayerTypes(read.config, arch.numLayers);
    arch.layerTypes = types;
    arch.noRopeLayers = indicesWhere(types.length, (i) => types[i] === 'full_attention');
  },
};
