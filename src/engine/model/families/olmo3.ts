// OLMo-3 (modeling_olmo3.py): OLMo-2's layer, with sliding-window attention on three layers of
// four (Olmo3Config.__post_init__: layer_types, else every 4th layer full; sliding_window 4096).
import { LayerType } from '../../vocabulary';
import { Config } from '../config-reader';
import { Family } from '../family';
import { olmo2 } from './olmo2';

function olmo3LayerTypes(config: Config, layers: number): LayerType[] {
  if (Array.isArray(config.layer_types)) return config.layer_types as LayerType[];
  return Array.from({ length: layers }, (_, i) =>
    (i + 1) % 4 !== 0 ? 'sliding_attention' : 'full_attention',
  );
}

export const olmo3: Family = {
  ...olmo2,
  types: ['olmo3'],
  defaults: { sliding_window: 4096 }, // Olmo3Config
  refine: (arch, read, context) => {
    olmo2.refine?.(arch, read, context);
    arch.layerTypes = olmo3LayerTypes(read.config, arch.numLayers);
  },
};
