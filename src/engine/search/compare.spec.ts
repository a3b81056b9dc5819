import { loadCatalog } from '../../catalog/catalog';
import { compareVariants, deepMerge, defaultVaryValues } from './compare';
import { estimatePlan } from '../../application/estimate';
import { PlanRequestInput } from '../request/normalize';

const catalog = loadCatalog();
const run = (input: PlanRequestInput) => estimatePlan(input, catalog);

// Llama-3-8B full fine-tuning on one node of eight A100 80GB.
const base: PlanRequestInput = {
  model: 'llama-3-8b',
  cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 },
  training: { sequenceLength: 2048, activationCheckpointing: 'full' },
};

describe('deepMerge', () => {
  it('merges nested objects and keeps what the overrides leave out', () => {
    const merged = deepMerge(base, {
      training: { microBatchSize: 4 },
      parallelism: { zeroStage: 2 },
    });
    expect(merged.training).toEqual({
      sequenceLength: 2048,
      activationCheckpointing: 'full',
      microBatchSize: 4,
    });
    expect(merged.parallelism).toEqual({ zeroStage: 2 });
    expect(merged.cluster).toEqual(base.cluster);
    expect(base.training).toEqual({ sequenceLength: 2048, activationCheckpointing: 'full' });
  });

  it('replaces arrays whole', () => {
    const merged = deepMerge({ tags: ['a', 'b'] }, { tags: ['c'] });
    expect(merged.tags).toEqual(['c']);
  });
});

describe('compareVariants', () => {
  it('vary zeroStage plans stages 0-3; each stage shards more of the model states', () => {
    const { rows, table } = compareVariants(base, { vary: 'zeroStage' }, run);
    expect(rows.map((r) => r.label)).toEqual([
      'zeroStage 0',
      'zeroStage 1',
      'zeroStage 2',
      'zeroStage 3',
    ]);
    expect(rows.map((r) => r.result?.request.parallelism.zeroStage)).toEqual([0, 1, 2, 3]);
    // ZeRO paper: the fp32 master copy and Adam moments (12 bytes per parameter) are whole under
    // DDP and split over the 8 data-parallel ranks from stage 1 on.
    const P = 8_030_261_248;
    const optimizerBytes = rows.map((r) => {
      const b = r.result!.memory.perGpu.breakdown;
      return b.optimizerStates + b.masterWeights;
    });
    expect(optimizerBytes[0]).toBeCloseTo(12 * P, -7);
    for (const stage of [1, 2, 3]) expect(optimizerBytes[stage]).toBeCloseTo((12 * P) / 8, -7);
    const used = table.map((row) => row.deviceUsedBytes!);
    expect(used[1]).toBeLessThan(used[0]);
    expect(used[3]).toBeLessThan(used[1]);
    expect(table[0].fits).toBe(false); // 128 GB of states do not fit an 80 GB card
    expect(table[3].fits).toBe(true);
    for (const [i, row] of table.entries()) {
      const r = rows[i].result!;
      expect(row.deviceUsedBytes).toBe(r.memory.perGpu.deviceUsedBytes);
      expect(row.usdPerMillionTokens).toBe(r.cost.usdPerMillionTokens);
    }
  });

  it('vary zeroStage: model-state bytes per GPU follow the ZeRO paper for bf16-mixed AdamW', () => {
    // Default runtime: 16-bit weights and gradients (2 + 2 bytes) and an fp32 master copy plus two
    // Adam moments (12 bytes) per parameter; N = 8 data-parallel ranks; P counted exactly.
    const P = 8_030_261_248;
    const N = 8;
    const { table } = compareVariants(
      { model: 'llama-3-8b', cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 } },
      { vary: 'zeroStage' },
      run,
    );
    const expected = [
      (2 + 2 + 12) * P, // stage 0: everything replicated = 128,484,179,968
      4 * P + (12 * P) / N, // stage 1: optimizer states and master copy sharded = 44,166,436,864
      2 * P + (14 * P) / N, // stage 2: gradients sharded too = 30,113,479,680
      (16 * P) / N, // stage 3: weights sharded too = 16,060,522,496
    ];
    expect(table.map((row) => row.modelStateBytes)).toEqual(expected);
    for (let stage = 1; stage < 4; stage++) {
      expect(table[stage].modelStateBytes!).toBeLessThan(table[stage - 1].modelStateBytes!);
    }
  });

  it('a variant the engine rejects becomes a row with its errors', () => {
    const { rows, table } = compareVariants(base, { vary: 'tensorParallel', values: [2, 3] }, run);
    expect(rows[0].result?.layout.tensorParallel).toBe(2);
    expect(rows[1].result).toBeUndefined();
    expect(rows[1].errors?.map((e) => e.field)).toContain('parallelism.tensorParallel');
    expect(table[1]).toMatchObject({
      label: 'tensorParallel 3',
      fits: false,
      deviceUsedBytes: null,
    });
    expect(table[1].error).toMatch(/must divide num_attention_heads \(32\)/);
  });

  it('explicit variants deep-merge their overrides into the base', () => {
    const { rows } = compareVariants(
      base,
      {
        variants: [
          { label: 'LoRA mb 4', overrides: { training: { method: 'lora', microBatchSize: 4 } } },
        ],
      },
      run,
    );
    const request = rows[0].result!.request;
    expect(request.training).toMatchObject({
      method: 'lora',
      microBatchSize: 4,
      sequenceLength: 2048,
    });
    expect(request.training.activationCheckpointing).toBe('full');
  });

  it('default degrees divide the GPUs and, given the model, the heads and layers', () => {
    expect(
      defaultVaryValues('tensorParallel', {
        ...base,
        cluster: { gpu: 'h100-80gb', gpusPerNode: 4 },
      }),
    ).toEqual([1, 2, 4]);
    const shape = { numAttentionHeads: 12, numLayers: 12 };
    expect(defaultVaryValues('tensorParallel', base, shape)).toEqual([1, 2, 4]);
    expect(defaultVaryValues('pipelineParallel', base, shape)).toEqual([1, 2, 4]);
  });

  it('vary preference sets the next-token loss beside DPO, a reward model and KTO: the DPO row runs both completions and a reference copy', () => {
    const zero3 = { ...base, parallelism: { zeroStage: 3 as const } };
    const { rows } = compareVariants(zero3, { vary: 'preference' }, run);
    expect(rows.map((row) => row.label)).toEqual([
      'preference none',
      'preference dpo',
      'preference reward',
      'preference kto',
    ]);
    // KTO's KL term needs two completions a micro-batch; the base has one: the row says so
    expect(rows[3].errors?.map((e) => e.field)).toEqual(['training.microBatchSize']);
    const [sft, dpo, reward] = rows.map((row) => row.result!);
    // the reward model's score (4,096) replaces the untied lm_head (128,256 x 4,096)
    expect(reward.model.parameters.total).toBe(8_030_261_248 - 128_256 * 4_096 + 4_096);
    expect(dpo.performance.tokensPerStep).toBe(2 * sft.performance.tokensPerStep);
    // bf16 weights (the default preset's master-weights style), an eighth each: 8,030,261,248 x 2 / 8
    const shard = (8_030_261_248 * 2) / 8;
    const kept = (plan: typeof sft) => plan.memory.perGpu.breakdown.weights;
    expect(kept(dpo) - kept(sft)).toBeGreaterThanOrEqual(shard);
  });

  it('asks for variants or a known vary field', () => {
    expect(() => compareVariants(base, {}, run)).toThrow(/give variants/);
    expect(() => compareVariants(base, { vary: 'colour' as never }, run)).toThrow(
      /unknown vary 'colour'/,
    );
  });
});
