// The search's early check that a split's model states alone overflow, held to the allocated
// memory no run can go below.
import { loadCatalog, resolveGpu, resolveModel } from '../../catalog/catalog';
import { planFromRequest } from '../plan';
import { normalizeRequest } from '../request/normalize';
import { statesOverflow } from './finalists';

const catalog = loadCatalog();
const GIB = 2 ** 30;

describe('statesOverflow', () => {
  const arch = { ...resolveModel(catalog, 'llama-3-8b'), numLayers: 2 };
  const h100 = resolveGpu(catalog, 'h100-80gb');
  // A card sized so that the optimizer step's allocated total plus what lives outside the
  // allocator leaves `spare` of the usable memory: one plan to read the step, one on that card.
  const onCardWithSpare = (spare: number) => {
    const input = { model: 'llama-3-8b', cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 1 } };
    const probe = planFromRequest(normalizeRequest(input, h100, arch), arch, h100).memory.ranks[0];
    const step = probe.phaseTotals.optimizer + probe.breakdown.runtimeOverhead;
    const gpu = { ...h100, memoryBytes: Math.ceil(step / (1 - spare)) + GIB };
    return planFromRequest(normalizeRequest(input, gpu, arch), arch, gpu);
  };

  it('keeps a split whose optimizer step leaves 3% of the card: its slack may be smaller', () => {
    // 6% over allocated, the serving plans' default slack, would have put it 3% over the card.
    expect(statesOverflow(onCardWithSpare(0.03))).toBe(false);
  });

  it('turns away a split whose optimizer step alone is past the card', () => {
    expect(statesOverflow(onCardWithSpare(-0.01))).toBe(true);
  });
});
