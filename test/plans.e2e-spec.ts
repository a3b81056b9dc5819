// Saved plans over HTTP: create, read, filter, paginate, delete, and survive a restart.
import { MEMORY_COMPONENTS } from '../src/engine';
import { appPerSuite, testEngines } from './support/app';

const LLAMA_ZERO3 = {
  name: 'llama-3-8b zero-3',
  tags: ['baseline', 'zero'],
  model: 'llama-3-8b',
  cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 },
  training: { microBatchSize: 1, sequenceLength: 4096 },
  parallelism: { zeroStage: 3 },
};

/** api-contract.md: allocatedPeakBytes is the sum of every component but runtimeOverhead, which
 * lives outside PyTorch's allocator (kvCache exists only for serving plans). */
const ALLOCATED_COMPONENTS = MEMORY_COMPONENTS.filter(
  (component) => component !== 'runtimeOverhead' && component !== 'kvCache',
);

interface SavedBody {
  id: string;
  name: string;
  tags: string[];
  createdAt: string;
  model: { id: string };
  request: { parallelism: { zeroStage: number }; training: { method: string } };
  memory: {
    perGpu: {
      allocatedPeakBytes: number;
      reservedPeakBytes: number;
      deviceUsedBytes: number;
      fits: boolean;
      breakdown: Record<string, number>;
    };
  };
}

interface PageBody {
  items: SavedBody[];
  total: number;
  limit: number;
  offset: number;
}

describe.each(testEngines())('saved plans (e2e) on %s', (engine) => {
  const { http, restart } = appPerSuite(engine);

  let saved: SavedBody;
  let savedText: string;

  it('creates a plan: 201, Location, every breakdown component, totals that add up', async () => {
    const response = await http().post('/api/v1/plans').send(LLAMA_ZERO3).expect(201);
    saved = response.body as SavedBody;
    savedText = response.text;

    expect(response.headers['location']).toBe(`/api/v1/plans/${saved.id}`);
    expect(saved.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(saved.name).toBe('llama-3-8b zero-3');
    expect(saved.tags).toEqual(['baseline', 'zero']);
    expect(new Date(saved.createdAt).toISOString()).toBe(saved.createdAt);
    expect(saved.model.id).toBe('llama-3-8b');
    expect(saved.request.parallelism.zeroStage).toBe(3);
    expect(saved.request.training.method).toBe('full'); // the default, echoed

    const perGpu = saved.memory.perGpu;
    expect(Object.keys(perGpu.breakdown).sort()).toEqual(
      [...ALLOCATED_COMPONENTS, 'runtimeOverhead'].sort(),
    );
    for (const component of [...ALLOCATED_COMPONENTS, 'runtimeOverhead']) {
      expect(Number.isInteger(perGpu.breakdown[component])).toBe(true);
      expect(perGpu.breakdown[component]).toBeGreaterThanOrEqual(0);
    }
    const sum = ALLOCATED_COMPONENTS.reduce((total, key) => total + perGpu.breakdown[key], 0);
    expect(perGpu.allocatedPeakBytes).toBe(sum);
    expect(perGpu.deviceUsedBytes).toBe(
      perGpu.reservedPeakBytes + perGpu.breakdown.runtimeOverhead,
    );
    expect(perGpu.reservedPeakBytes).toBeGreaterThanOrEqual(perGpu.allocatedPeakBytes);
    // 8B parameters sharded 8 ways with bf16-mixed Adam (16 bytes each) is ~15 GiB: it fits.
    expect(perGpu.fits).toBe(true);
  });

  it('estimates without saving', async () => {
    const before = (await http().get('/api/v1/plans').expect(200)).body as PageBody;
    const response = await http().post('/api/v1/plans/estimate').send(LLAMA_ZERO3).expect(200);
    expect((response.body as SavedBody).id).toBeUndefined();
    const after = (await http().get('/api/v1/plans').expect(200)).body as PageBody;
    expect(after.total).toBe(before.total);
  });

  it('plans DoRA: the magnitudes trained, the base and adapter outputs kept for them', async () => {
    const lora = { targetModules: ['q_proj', 'v_proj'] };
    const estimate = async (useDora: boolean) => {
      const training = { ...LLAMA_ZERO3.training, method: 'lora', lora: { ...lora, useDora } };
      const body = { ...LLAMA_ZERO3, training, parallelism: { zeroStage: 0 } };
      const response = await http().post('/api/v1/plans/estimate').send(body).expect(200);
      return response.body as SavedBody & {
        request: { training: { lora: { useDora: boolean } } };
        model: { parameters: { trainable: number } };
      };
    };
    const [lora16, dora16] = [await estimate(false), await estimate(true)];
    expect(dora16.request.training.lora.useDora).toBe(true);
    // one magnitude per output feature: 32 layers x (q_proj's 4,096 + v_proj's 1,024)
    expect(dora16.model.parameters.trainable - lora16.model.parameters.trainable).toBe(
      32 * (4096 + 1024),
    );
    // each adapted linear keeps base_result and lora_result, two bf16 [4,096 x out] tensors
    const activations = (plan: SavedBody) => plan.memory.perGpu.breakdown.activations;
    expect(activations(dora16) - activations(lora16)).toBeGreaterThanOrEqual(
      32 * 2 * 4096 * (4096 + 1024) * 2,
    );
  });

  // DPO's micro-batch is a pair (two sequences), KTO's two labelled completions; both checkpoint
  // every layer by default (DPOConfig's and KTOConfig's gradient_checkpointing).
  it.each([
    ['dpo', "DPO as TRL's DPOTrainer", 1, { dpo: { precomputeReferenceLogProbs: false } }],
    ['kto', "KTO as TRL's KTOTrainer", 2, { kto: { precomputeReferenceLogProbs: false } }],
  ])(
    'plans %s as TRL runs it: defaults echoed, its sequences counted',
    async (preference, assumption, microBatchSize, echoed) => {
      const training = { ...LLAMA_ZERO3.training, preference, microBatchSize };
      const body = { ...LLAMA_ZERO3, name: `llama-3-8b ${preference}`, training };
      const response = await http().post('/api/v1/plans/estimate').send(body).expect(200);
      const plan = response.body as SavedBody & {
        request: { training: Record<string, unknown> };
        performance: { tokensPerStep: number };
        assumptions: string[];
      };
      expect(plan.request.training).toMatchObject({
        preference,
        ...echoed,
        activationCheckpointing: 'full',
      });
      const other = preference === 'dpo' ? 'kto' : 'dpo';
      expect(plan.request.training[other]).toBeUndefined();
      // two sequences of 4,096 tokens a micro-batch on each of the 8 GPUs
      expect(plan.performance.tokensPerStep).toBe(2 * 4096 * 8);
      expect(plan.assumptions.some((line) => line.startsWith(assumption))).toBe(true);
    },
  );

  it('reads the plan back byte for byte', async () => {
    const response = await http().get(`/api/v1/plans/${saved.id}`).expect(200);
    expect(response.text).toBe(savedText);
  });

  it('answers 404 problem+json for an unknown id', async () => {
    const response = await http().get('/api/v1/plans/00000000-0000-0000-0000-000000000000');
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  describe('listing', () => {
    let small: SavedBody;
    let overflowing: SavedBody;

    beforeAll(async () => {
      small = (
        await http()
          .post('/api/v1/plans')
          .send({
            tags: ['small', 'zero-extra'],
            model: 'llama-3.2-1b',
            cluster: { gpu: 'h100-80gb', gpusPerNode: 2 },
            parallelism: { zeroStage: 2 },
          })
          .expect(201)
      ).body as SavedBody;
      // A full fine-tune of 8B parameters with Adam needs ~128 GiB of states: not on one L4.
      overflowing = (
        await http()
          .post('/api/v1/plans')
          .send({ tags: ['big'], model: 'llama-3-8b', cluster: { gpu: 'l4' } })
          .expect(201)
      ).body as SavedBody;
    });

    it('lists newest first with the page figures', async () => {
      const page = (await http().get('/api/v1/plans').expect(200)).body as PageBody;
      expect(page.total).toBe(3);
      expect(page.limit).toBe(20);
      expect(page.offset).toBe(0);
      expect(page.items.map((plan) => plan.id)).toEqual([overflowing.id, small.id, saved.id]);
    });

    it('filters by exact tag (no prefix or substring matches)', async () => {
      const zero = (await http().get('/api/v1/plans?tag=zero').expect(200)).body as PageBody;
      expect(zero.items.map((plan) => plan.id)).toEqual([saved.id]);
      // A tag alone is counted on the tag's rows, with another filter on the plans: both agree.
      expect(zero.total).toBe(1);
      const zeroOn = (gpu: string) => http().get(`/api/v1/plans?tag=zero&gpu=${gpu}`).expect(200);
      expect(((await zeroOn('a100-80gb')).body as PageBody).total).toBe(1);
      expect(((await zeroOn('h100-80gb')).body as PageBody).total).toBe(0);
      const none = (await http().get('/api/v1/plans?tag=zer').expect(200)).body as PageBody;
      expect(none.total).toBe(0);
      const percent = (await http().get('/api/v1/plans?tag=%25').expect(200)).body as PageBody;
      expect(percent.total).toBe(0);
    });

    it('filters by model (id or Hugging Face alias), gpu and fits', async () => {
      const byModel = (await http().get('/api/v1/plans?model=llama-3-8b').expect(200))
        .body as PageBody;
      expect(byModel.items.map((plan) => plan.id)).toEqual([overflowing.id, saved.id]);
      const byAlias = (
        await http().get('/api/v1/plans').query({ model: 'meta-llama/Meta-Llama-3-8B' }).expect(200)
      ).body as PageBody;
      expect(byAlias.total).toBe(2);
      const byGpu = (await http().get('/api/v1/plans?gpu=h100-80gb').expect(200)).body as PageBody;
      expect(byGpu.items.map((plan) => plan.id)).toEqual([small.id]);
      const misfits = (await http().get('/api/v1/plans?fits=false').expect(200)).body as PageBody;
      expect(misfits.items.map((plan) => plan.id)).toEqual([overflowing.id]);
      expect(misfits.items[0].memory.perGpu.fits).toBe(false);
      const fitting = (await http().get('/api/v1/plans?fits=true&model=llama-3-8b').expect(200))
        .body as PageBody;
      expect(fitting.items.map((plan) => plan.id)).toEqual([saved.id]);
    });

    it('paginates with limit and offset', async () => {
      const first = (await http().get('/api/v1/plans?limit=2').expect(200)).body as PageBody;
      expect(first.items.map((plan) => plan.id)).toEqual([overflowing.id, small.id]);
      expect(first.total).toBe(3);
      const second = (await http().get('/api/v1/plans?limit=2&offset=2').expect(200))
        .body as PageBody;
      expect(second.items.map((plan) => plan.id)).toEqual([saved.id]);
      expect(second).toEqual(expect.objectContaining({ total: 3, limit: 2, offset: 2 }));
    });

    it('sums the plans a filter selects', async () => {
      const all = await http().get('/api/v1/plans/summary').expect(200);
      expect(all.body).toEqual(
        expect.objectContaining({ plans: 3, fitting: 2, notFitting: 1, gpuHours: 0, totalUsd: 0 }),
      );
      const tagged = await http().get('/api/v1/plans/summary?tag=zero').expect(200);
      expect(tagged.body).toEqual(expect.objectContaining({ tag: 'zero', plans: 1, fitting: 1 }));
    });

    it('exports the selected plans as CSV, newest first', async () => {
      const response = await http().get('/api/v1/plans/export.csv?model=llama-3-8b').expect(200);
      expect(response.headers['content-type']).toMatch(/^text\/csv/);
      const lines = response.text.trim().split('\r\n');
      expect(lines[0].split(',').slice(0, 3)).toEqual(['id', 'name', 'createdAt']);
      expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual([overflowing.id, saved.id]);
    });

    it('rejects a page size above 100 and a fits that is not true or false', async () => {
      const tooMany = await http().get('/api/v1/plans?limit=500');
      expect(tooMany.status).toBe(400);
      expect((tooMany.body as { errors: { field: string }[] }).errors[0].field).toBe('limit');
      const maybe = await http().get('/api/v1/plans?fits=maybe');
      expect(maybe.status).toBe(400);
      expect((maybe.body as { errors: { field: string }[] }).errors[0].field).toBe('fits');
    });

    it('deletes: 204, then 404, and the tag index forgets it', async () => {
      await http().delete(`/api/v1/plans/${small.id}`).expect(204);
      await http().get(`/api/v1/plans/${small.id}`).expect(404);
      await http().delete(`/api/v1/plans/${small.id}`).expect(404);
      const tagged = (await http().get('/api/v1/plans?tag=small').expect(200)).body as PageBody;
      expect(tagged.total).toBe(0);
    });
  });

  it('keeps plans byte for byte across a restart on the same file', async () => {
    await restart();
    const response = await http().get(`/api/v1/plans/${saved.id}`).expect(200);
    expect(response.text).toBe(savedText);
    const page = (await http().get('/api/v1/plans').expect(200)).body as PageBody;
    expect(page.total).toBe(2);
  });
});
