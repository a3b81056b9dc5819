// A model's first layers as a model of their own (the layout search's probes).
import { ModelArchitecture } from '../vocabulary';
import { tinyArch } from '../../../test/support/timeline';
import { firstLayers } from './layers';

describe('firstLayers', () => {
  it('keeps what the per-layer lists say of the layers kept', () => {
    const arch: ModelArchitecture = {
      ...tinyArch(8),
      layerTypes: ['full_attention', 'sliding_attention', 'full_attention', 'sliding_attention'],
      noRopeLayers: [3, 7],
      moe: {
        numExperts: 4,
        expertsPerToken: 2,
        expertIntermediateSize: 256,
        sharedExperts: 0,
        sharedExpertIntermediateSize: 0,
        firstDenseLayers: 0,
        routerBias: false,
        layers: [1, 3, 5, 7],
      },
    };
    const short = firstLayers(arch, 2);
    expect(short.numLayers).toBe(2);
    expect(short.layerTypes).toEqual(['full_attention', 'sliding_attention']);
    expect(short.noRopeLayers).toEqual([]);
    expect(short.moe?.layers).toEqual([1]);
    expect(firstLayers(arch, 8)).toBe(arch);
  });
});
