import { loadCatalog, resolveGpu, resolveModel } from '../../catalog/catalog';
import { estimatePlan } from '../../application/estimate';
import { PlanRequestInput } from '../request/normalize';
import {
  clusterShapes,
  MAX_CLUSTER_SHAPES,
  MAX_SEARCH_PLANS,
  searchLayouts,
  SearchInput,
} from './search';
import { PlanResult, PlanValidationError } from '../vocabulary';

const catalog = loadCatalog();
const plan = (input: PlanRequestInput): PlanResult => estimatePlan(input, catalog);
const contextOf = (model: string, gpu: string) => ({
  arch: resolveModel(catalog, model),
  gpu: resolveGpu(catalog, gpu),
});

function search(input: SearchInput) {
  return searchLayouts(input, plan, contextOf(input.model as string, input.cluster.gpu));
}

describe('searchLayouts: Llama-3-70B full fine-tuning at 8k context', () => {
  const found = search({
    model: 'llama-3-70b',
    cluster: { gpu: 'h100-80gb', gpus: 64, gpusPerNode: 8 },
    training: { method: 'full', sequenceLength: 8192 },
  });

  it('finds fitting layouts on 64 H100 80GB, best throughput first', () => {
    expect(found.results.length).toBe(10);
    expect(found.results.map((r) => r.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const speeds = found.results.map((r) => r.figures.tokensPerSecond);
    expect([...speeds].sort((a, b) => b - a)).toEqual(speeds);
    for (const r of found.results) {
      expect(r.figures.gpus).toBe(64);
      expect(
        r.figures.dataParallel *
          r.figures.tensorParallel *
          r.figures.pipelineParallel *
          r.figures.contextParallel,
      ).toBe(64);
      expect(r.result.memory.perGpu.fits).toBe(true);
      expect(r.figures.deviceUsedBytes).toBeLessThanOrEqual(
        r.result.memory.perGpu.capacityBytes - r.request.runtime.safetyMarginBytes,
      );
    }
  });

  it('every returned request, planned again, reproduces its figures and fits', () => {
    for (const r of found.results) {
      const again = plan(r.request as PlanRequestInput);
      expect(again).toEqual(r.result);
      expect(again.memory.perGpu.deviceUsedBytes).toBe(r.figures.deviceUsedBytes);
      expect(again.performance.tokensPerSecond).toBe(r.figures.tokensPerSecond);
      expect(again.cost.usdPerMillionTokens).toBe(r.figures.usdPerMillionTokens);
    }
  });

  it('counts what it planned, pruned and left unplanned', () => {
    expect(found.complete).toBe(true);
    const c = found.counts;
    expect(c.evaluated).toBe(found.examined);
    expect(c.feasible).toBe(10);
    expect(c.evaluated).toBe(c.feasible + c.rejected.outOfMemory);
    expect(c.planned).toBe(c.evaluated);
    expect(c.candidates).toBe(c.evaluated + c.pruned + c.notPlanned + c.rejected.boundOutOfMemory);
    // Every planned layout was bounded first; the bound's probes are shared across candidates.
    expect(c.boundEvaluated).toBeGreaterThanOrEqual(c.evaluated);
    expect(c.rejected.outOfMemory).toBe(
      Object.values(c.rejected.outOfMemoryByRank).reduce((a, b) => a + b, 0),
    );
  });
});

describe('searchLayouts: a search that needs more full plans than it may run', () => {
  it('GPT-2 by headroom on 512 A100 80GB: every layout nearly ties, so it stops and says so', () => {
    const found = search({
      model: 'gpt-2',
      cluster: { gpu: 'a100-80gb', gpus: 512, gpusPerNode: 8 },
      training: { sequenceLength: 1024 },
      objective: 'headroom',
    });
    expect(found.complete).toBe(false);
    expect(found.counts.planned).toBe(MAX_SEARCH_PLANS);
    expect(found.results).toHaveLength(10);
    const headrooms = found.results.map((r) => r.figures.headroomBytes);
    expect([...headrooms].sort((a, b) => b - a)).toEqual(headrooms);
    // What it left is counted: nothing goes missing from the search space.
    const c = found.counts;
    expect(c.notPlanned).toBeGreaterThan(0);
    expect(c.candidates).toBe(c.planned + c.pruned + c.notPlanned + c.rejected.boundOutOfMemory);
  });
});

describe('searchLayouts: what does not fit', () => {
  it('finds nothing for Llama-3-70B on a single A100 40GB, and says which rank overflowed', () => {
    // 70.6e9 parameters need 141 GB in bf16 weights alone.
    const found = search({
      model: 'llama-3-70b',
      cluster: { gpu: 'a100-40gb', gpus: 1 },
      training: { sequenceLength: 8192 },
      allowOffload: true,
    });
    expect(found.results).toEqual([]);
    expect(found.counts.feasible).toBe(0);
    expect(found.counts.rejected.outOfMemory).toBeGreaterThan(0);
    expect(Object.keys(found.counts.rejected.outOfMemoryByRank)[0]).toMatch(/^every rank \(/);
  });

  it('counts splits the model cannot take: GPT-2 has 12 heads, so tensorParallel 8 is invalid', () => {
    const found = search({
      model: 'gpt-2',
      cluster: { gpu: 'a100-80gb', gpus: 8 },
      training: { sequenceLength: 1024 },
    });
    expect(found.counts.rejected.invalidSplitByField).toEqual({ 'parallelism.tensorParallel': 1 });
    expect(found.results.every((r) => r.figures.tensorParallel !== 8)).toBe(true);
  });
});

describe('searchLayouts: pruning and ranking', () => {
  const input: SearchInput = {
    model: 'llama-3-8b',
    cluster: { gpu: 'a100-40gb', gpus: 8, gpusPerNode: 8 },
    training: { sequenceLength: 4096 },
  };

  it('keeps every layout a brute-force plan of the whole space finds fitting', () => {
    // Every split of 8 GPUs (tp | 8 and | 32 heads, cp chunks >= 1,024 tokens), ZeRO 0-3 (only
    // 0 where dp x cp is one rank: the others would shard nothing), recompute
    // none/selective/full, micro-batches 1-8: planned one by one, no pruning.
    const fitting = new Set<string>();
    for (const t of [1, 2, 4, 8])
      for (const p of [1, 2, 4, 8].filter((p) => (8 / t) % p === 0))
        for (const c of [1, 2, 4].filter((c) => (8 / (t * p)) % c === 0))
          for (const zeroStage of 8 / (t * p) === 1 ? [0 as const] : ([0, 1, 2, 3] as const))
            for (const recompute of ['none', 'selective', 'full'] as const)
              for (const mb of [1, 2, 4, 8]) {
                const result = plan({
                  model: 'llama-3-8b',
                  cluster: { gpu: 'a100-40gb', nodes: 1, gpusPerNode: 8 },
                  training: {
                    sequenceLength: 4096,
                    microBatchSize: mb,
                    activationCheckpointing: recompute,
                  },
                  parallelism: {
                    zeroStage,
                    tensorParallel: t,
                    pipelineParallel: p,
                    contextParallel: c,
                    sequenceParallel: t > 1,
                  },
                });
                if (result.memory.perGpu.fits) {
                  fitting.add(
                    `1x8 dp${8 / (t * p * c)} tp${t} pp${p} cp${c} zero${zeroStage} recompute-${recompute} mb${mb}`,
                  );
                }
              }
    const all = search({ ...input, objective: 'headroom', top: 10_000 });
    expect(all.counts.feasible).toBe(fitting.size);
    expect(new Set(all.results.map((r) => r.label))).toEqual(fitting);
    const headrooms = all.results.map((r) => r.figures.headroomBytes);
    expect([...headrooms].sort((a, b) => b - a)).toEqual(headrooms);

    // Skipping micro-batches that cannot beat the 5th headroom keeps the same top 5.
    const roomiest = search({ ...input, objective: 'headroom', top: 5 });
    expect(roomiest.results.map((r) => r.label)).toEqual(
      all.results.slice(0, 5).map((r) => r.label),
    );
    expect(roomiest.counts.evaluated).toBeLessThan(all.counts.evaluated);

    // Planning best-first and stopping at the top 5 gives the brute force's 5 fastest.
    const fastest = [...all.results]
      .sort(
        (a, b) =>
          b.figures.tokensPerSecond - a.figures.tokensPerSecond || (a.label < b.label ? -1 : 1),
      )
      .slice(0, 5)
      .map((r) => r.label);
    const quick = search({ ...input, top: 5 });
    expect(quick.results.map((r) => r.label)).toEqual(fastest);
    expect(quick.counts.evaluated).toBeLessThan(all.counts.evaluated);
  });

  it('keeps a fitting layout the bound once overstated: ZeRO-3 over 64 A100 40GB, one sequence', () => {
    // The third-fastest layout that fits when all 2,436 of this search's layouts are planned in
    // full; a bound carrying a short probe's allocator slack put it 13.5% of the card too high.
    const found = search({ ...input, cluster: { gpu: 'a100-40gb', gpus: 64, gpusPerNode: 8 } });
    const layout = plan({
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-40gb', nodes: 8, gpusPerNode: 8 },
      training: { sequenceLength: 4096, microBatchSize: 1, activationCheckpointing: 'none' },
      parallelism: { zeroStage: 3, tensorParallel: 1, sequenceParallel: false },
    });
    expect(layout.memory.perGpu.fits).toBe(true);
    const last = found.results[found.results.length - 1];
    expect(layout.performance.tokensPerSecond).toBeGreaterThan(last.figures.tokensPerSecond);
    expect(found.results.map((r) => r.label)).toContain(
      '8x8 dp64 tp1 pp1 cp1 zero3 recompute-none mb1',
    );
  });

  it('ranks by price and by fewest GPUs over a range of node counts', () => {
    const cheapest = search({ ...input, objective: 'cost', top: 3 });
    const prices = cheapest.results.map((r) => r.figures.usdPerMillionTokens);
    expect([...prices].sort((a, b) => a - b)).toEqual(prices);
    const fewest = search({
      ...input,
      cluster: { gpu: 'a100-40gb', nodes: { min: 1, max: 2 }, gpusPerNode: 8 },
      objective: 'fewestGpus',
      top: 3,
    });
    expect(fewest.clusterShapes).toEqual([
      { nodes: 1, gpusPerNode: 8 },
      { nodes: 2, gpusPerNode: 8 },
    ]);
    expect(fewest.results.map((r) => r.figures.gpus)).toEqual([8, 8, 8]);
  });

  it('derives gradient accumulation from a global batch: micro-batch x accumulation x dp', () => {
    const found = search({ ...input, globalBatchSize: 32 });
    expect(found.results.length).toBeGreaterThan(0);
    for (const r of found.results) {
      const f = r.figures;
      expect(f.microBatchSize * f.gradientAccumulationSteps * f.dataParallel).toBe(32);
      expect(r.result.performance.tokensPerStep).toBe(32 * 4096);
    }
  });

  it('rejects inputs it cannot search with the field to fix', () => {
    const fieldOf = (bad: SearchInput) => {
      try {
        search(bad);
      } catch (error) {
        return (error as PlanValidationError).errors.map((e) => e.field);
      }
      return [];
    };
    expect(fieldOf({ ...input, cluster: { gpu: 'a100-40gb', gpus: 12, gpusPerNode: 8 } })).toEqual([
      'cluster.gpus',
    ]);
    expect(fieldOf({ ...input, objective: 'speed' as never })).toEqual(['objective']);
    expect(fieldOf({ ...input, cluster: { gpu: 'a100-40gb' } })).toEqual(['cluster']);
  });
});

describe('clusterShapes', () => {
  it('lists a node range as one shape per count', () => {
    expect(clusterShapes({ gpu: 'h100-80gb', nodes: { min: 2, max: 4 } })).toEqual([
      { nodes: 2, gpusPerNode: 8 },
      { nodes: 3, gpusPerNode: 8 },
      { nodes: 4, gpusPerNode: 8 },
    ]);
  });

  it('refuses a range wider than the limit by its width, before listing it', () => {
    // 1e15 counts would not fit in memory as a list: the refusal must come from arithmetic.
    const huge = () => clusterShapes({ gpu: 'h100-80gb', nodes: { min: 1, max: 1e15 } });
    expect(huge).toThrow(PlanValidationError);
    expect(huge).toThrow(
      `search at most ${MAX_CLUSTER_SHAPES} node counts at once (got 1000000000000000)`,
    );
  });
});

describe('searchLayouts on one GPU: ZeRO shards nothing', () => {
  const found = search({
    model: 'llama-3.2-1b',
    cluster: { gpu: 'h100-80gb', gpus: 1 },
    training: { sequenceLength: 2048 },
    allowOffload: true,
    objective: 'headroom',
    top: 1000,
  });
  it('offers ZeRO-0, and ZeRO-2 only with its optimizer offloaded (single-GPU ZeRO-Offload)', () => {
    const stages = new Set(
      found.results.map((r) => `${r.figures.zeroStage}/${r.figures.offloadOptimizer}`),
    );
    expect(stages).toEqual(new Set(['0/none', '2/cpu']));
  });
  it('so no layout is listed twice under another stage', () => {
    const layouts = found.results.map((r) => r.label.replace(/ zero\d/, ''));
    expect(new Set(layouts).size).toBe(layouts.length);
  });
});

describe("searchLayouts under Megatron's engine", () => {
  // 8 GPUs, 8,192 tokens: the splits of dp x tp x pp x cp = 8, each tried at every ZeRO stage its
  // engine has, three recomputations and micro-batches 1 and 2.
  const input = (preset: 'megatron' | 'deepspeed') =>
    search({
      model: 'llama-3.2-1b',
      cluster: { gpu: 'h100-80gb', gpus: 8, gpusPerNode: 8 },
      training: { method: 'full', sequenceLength: 8192 },
      runtime: { preset },
      maxMicroBatchSize: 2,
      allowOffload: true,
      exhaustive: true,
    });

  it('tries ZeRO 0 and 1 only, without offloading: what the distributed optimizer does', () => {
    const megatron = input('megatron');
    const deepspeed = input('deepspeed');
    expect(megatron.results.length).toBeGreaterThan(0);
    for (const r of megatron.results) {
      expect(r.figures.zeroStage).toBeLessThanOrEqual(1);
      expect(r.figures.offloadOptimizer).toBe('none');
    }
    // A split sharding over several ranks: DeepSpeed tries stage 0, then 1-3 each with and
    // without offload (7); Megatron stages 0 and 1 (2).
    expect(megatron.counts.candidates).toBeLessThan(deepspeed.counts.candidates / 3);
  });
});

describe('searchLayouts for KTO', () => {
  // 8 GPUs, 1,024 tokens: TRL runs KTO on data parallelism alone, and its KL term needs two
  // completions a micro-batch.
  const kto = (maxMicroBatchSize: number): SearchInput => ({
    model: 'llama-3.2-1b',
    cluster: { gpu: 'h100-80gb', gpus: 8, gpusPerNode: 8 },
    training: { sequenceLength: 1024, preference: 'kto' },
    maxMicroBatchSize,
  });

  it('tries micro-batches of 2 and more only', () => {
    const found = search(kto(4));
    expect(found.results.length).toBeGreaterThan(0);
    for (const r of found.results) expect(r.figures.microBatchSize).toBeGreaterThanOrEqual(2);
  });

  it('names maxMicroBatchSize when it leaves KTO no micro-batch', () => {
    expect(() => search(kto(1))).toThrow(/set maxMicroBatchSize to 2 or more/);
  });
});
