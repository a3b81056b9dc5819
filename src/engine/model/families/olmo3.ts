// OLMo-3 (modeling_olmo3.py): OLMo-2's layer, with sliding-window attention on three layers of
// four (Olmo3Config.__post_init__: layer_types, else every 4th layer full; sliding_window 4096).
import { Family, slidingLayerTypes } from '../family';
import { olmo2 } from './olmo2';

export const olmo3: Family = {
  ...olmo2,
  types: ['olmo3'],
  defaults: { sliding_window: 4096 }, // Olmo3Config
  refine: (arch, read, context) => {
    olmo2.refine?.(arch, read, context);
    arch.layerTypes = slidingLayerTypes(read.config, arch.numLayers, 4); // fixed: 3 of 4 slide
  },
};
