import { loadCatalog } from '../catalog/catalog';
import { PlanRequestInput } from '../engine';
import { estimateWithAdvice } from './advice';
import { rememberedEstimate } from './remembered-estimate';

const REQUEST: PlanRequestInput = {
  model: 'llama-3.2-1b',
  cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 1 },
  training: { sequenceLength: 1024, microBatchSize: 1 },
};

describe('rememberedEstimate', () => {
  it('answers a repeated request at once with the result the estimate and its advice gave it', async () => {
    const catalog = loadCatalog();
    const first = await rememberedEstimate(REQUEST, catalog);
    expect(first).toEqual(estimateWithAdvice(REQUEST, catalog));
    expect(rememberedEstimate({ ...REQUEST }, catalog)).toBe(first);
    const longer = { ...REQUEST, training: { sequenceLength: 2048, microBatchSize: 1 } };
    expect((await rememberedEstimate(longer, catalog)).request.training.sequenceLength).toBe(2048);
  });

  it('plans again once the catalog changes, and keeps catalogs apart', async () => {
    const catalog = loadCatalog();
    const first = await rememberedEstimate(REQUEST, catalog);
    expect(await rememberedEstimate(REQUEST, loadCatalog())).not.toBe(first);
    const entry = catalog.findModel('llama-3.2-1b')!;
    catalog.addModel({ ...entry, id: 'my-llama' });
    const after = await rememberedEstimate(REQUEST, catalog);
    expect(after).not.toBe(first);
    expect(after).toEqual(first);
  });
});
