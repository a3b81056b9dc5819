import { loadCatalog } from '../catalog/catalog';
import { estimatePlan } from './estimate';
import { clusterSizes, gpusNeeded } from './gpus-needed';
import { searchPlans } from './search';

const GIB = 1024 ** 3;
const catalog = loadCatalog();

describe('clusterSizes', () => {
  it('doubles GPUs up to a node, then nodes', () => {
    expect(clusterSizes(8, 1024)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
    expect(clusterSizes(4, 20)).toEqual([1, 2, 4, 8, 16]);
    expect(clusterSizes(8, 6)).toEqual([1, 2, 4]);
  });
});

describe('gpusNeeded', () => {
  it("answers the issue's QLoRA of Llama-3.1-70B on L40S: one does not fit, the fewest fit for sure", () => {
    const answer = gpusNeeded(
      {
        model: 'llama-3.1-70b',
        cluster: { gpu: 'l40s' },
        training: { method: 'qlora', sequenceLength: 2048 },
      },
      catalog,
    );
    const one = answer.tried.find((t) => t.gpus === 1 && t.objective === 'fewestGpus');
    expect(one?.fits).toBe(false);
    const fewest = answer.fewest!;
    expect(fewest.gpus).toBeGreaterThan(1);
    // Each size below the answer was searched and did not fit with room for its range.
    const below = answer.tried.filter((t) => t.gpus < fewest.gpus);
    expect(below.every((t) => !t.fits)).toBe(true);
    // The request it gives back plans the same figures, with the verdict fits.
    const again = estimatePlan(fewest.request, catalog);
    expect(again.layout.gpus).toBe(fewest.gpus);
    expect(again.memory.perGpu.verdict).toBe('fits');
    expect(again.memory.perGpu.deviceUsedBytes).toBe(fewest.figures.deviceUsedBytes);
    // The cheapest costs no more per token than the fewest.
    expect(answer.cheapest!.figures.usdPerMillionTokens).toBeLessThanOrEqual(
      fewest.figures.usdPerMillionTokens,
    );
  });

  it('does not pass over a size where a slower layout fits clearly beside faster tight ones', () => {
    // Two L40S: tensor parallelism over both, one sequence, selective recompute fits with room
    // (its 80 layers simulated whole), while faster layouts of the size fit only at the estimate.
    const onTwo = estimatePlan(
      {
        model: 'llama-3.1-70b',
        cluster: { gpu: 'l40s', nodes: 1, gpusPerNode: 2 },
        training: {
          method: 'qlora',
          sequenceLength: 2048,
          microBatchSize: 1,
          activationCheckpointing: 'selective',
        },
        parallelism: { tensorParallel: 2 },
      },
      catalog,
    );
    expect(onTwo.memory.perGpu.verdict).toBe('fits');
    const answer = gpusNeeded(
      {
        model: 'llama-3.1-70b',
        cluster: { gpu: 'l40s', maxGpus: 2 },
        training: { method: 'qlora', sequenceLength: 2048 },
      },
      catalog,
    );
    expect(answer.fewest?.gpus).toBe(2);
    expect(estimatePlan(answer.fewest!.request, catalog).memory.perGpu.verdict).toBe('fits');
  });

  it('skips the sizes whose GPUs cannot hold one replica of the model states', () => {
    // Llama-3-70B full fine-tuning, bf16 weights and gradients, fp32 master and Adam moments:
    // 2 + 2 + 4 + 8 = 16 bytes per parameter; 70,553,706,496 parameters (Meta's count).
    const states = 16 * 70_553_706_496;
    // An H100 SXM shows 81,559 MiB; 1 GiB is kept free: ceil(1.129e12 / 8.445e10) = 14 GPUs.
    const usable = 81_559 * 2 ** 20 - GIB;
    const bound = Math.ceil(states / usable);
    expect(bound).toBe(14);
    const answer = gpusNeeded(
      { model: 'llama-3-70b', cluster: { gpu: 'h100-80gb' }, training: { sequenceLength: 8192 } },
      catalog,
    );
    expect(Math.min(...answer.tried.map((t) => t.gpus))).toBeGreaterThanOrEqual(bound);
    expect(answer.fewest!.gpus).toBeGreaterThanOrEqual(bound);
  });

  it("searches no size when one sequence's activations need more GPUs than maxGpus", () => {
    // The head's output for one sequence of 2^24 tokens, s x 128,256 (Llama 3's vocabulary) in
    // bf16, is 4.3 TB whatever the attention kernel or recomputation; split over 128 GPUs it is
    // 33.6 GB a GPU, past an L4's 23,034 MiB.
    const logits = 2 ** 24 * 128_256 * 2;
    expect(logits / 128).toBeGreaterThan(23_034 * 2 ** 20);
    const answer = gpusNeeded(
      {
        model: 'llama-3-8b',
        cluster: { gpu: 'l4', maxGpus: 128 },
        training: { sequenceLength: 2 ** 24 },
        runtime: { attention: 'eager' },
      },
      catalog,
    );
    expect(answer.tried).toEqual([]);
    expect(answer.fewest).toBeNull();
  });

  it('splits the sequence only under a fused kernel, and bounds below what a search finds', () => {
    // Eager attention at 128k tokens keeps 32 x s^2 scores (1.1 TB) on one GPU, and context
    // parallelism's ring replaces SDPA's fused kernels only (validate.ts): asked for eager, no
    // layout of 16 GPUs splits the sequence, and none fits.
    const job = (attention: 'eager' | 'flash') => ({
      model: 'llama-3-8b',
      training: { sequenceLength: 131_072 },
      runtime: { attention },
    });
    const search = (attention: 'eager' | 'flash') =>
      searchPlans(
        {
          ...job(attention),
          cluster: { gpu: 'h100-80gb', gpus: 16 },
          objective: 'fewestGpus',
          top: 5,
        },
        catalog,
      );
    const eager = search('eager');
    expect(eager.results).toEqual([]);
    expect(
      eager.counts.rejected.invalidSplitByField['parallelism.contextParallel'],
    ).toBeGreaterThan(0);
    const needed = (attention: 'eager' | 'flash') =>
      gpusNeeded({ ...job(attention), cluster: { gpu: 'h100-80gb', maxGpus: 16 } }, catalog);
    expect(needed('eager').fewest).toBeNull();
    // Asked for flash, whatever size a search of 16 GPUs finds a layout that fits on, the lower
    // bound must not have skipped it.
    const fits = search('flash').results.some((c) => c.result.memory.perGpu.verdict === 'fits');
    expect(fits).toBe(true);
    expect(needed('flash').fewest?.gpus).toBeLessThanOrEqual(16);
  });

  it('says no cluster up to maxGpus fits when none does', () => {
    const answer = gpusNeeded(
      { model: 'llama-3.1-405b', cluster: { gpu: 'l4', maxGpus: 8 } },
      catalog,
    );
    expect(answer.fewest).toBeNull();
    expect(answer.cheapest).toBeNull();
  });
});
