import { logitsAndLoss } from './logits';
import { rankPeak, RankComponents } from './peak';
import { normalizeRequest } from '../request/normalize';
import { loadCatalog } from '../../catalog/catalog';
import { ModelStates } from './model-states';
import { estimatePlan } from '../../application/estimate';

const GIB = 1024 ** 3;

describe('logits of a compiled chunked loss (torchtune CEWithChunkedOutputLoss + compile)', () => {
  const arch = loadCatalog().findModel('llama-3.2-3b')!;
  const request = normalizeRequest({
    model: 'llama-3.2-3b',
    cluster: { gpu: 'a100-80gb' },
    training: { method: 'lora', precision: 'bf16-pure', microBatchSize: 2, sequenceLength: 4096 },
    runtime: { preset: 'torchtune', crossEntropy: 'chunked', fusedKernels: true },
  });
  const tokens = 2 * 4096;
  const vocab = 128256;
  const h = 3072;
  const memory = logitsAndLoss(arch, request, vocab);
  it('saves the 16-bit chunks (2 V T) beside the final norm (4 h T), with no fp32 upcast in forward', () => {
    expect(memory.saved).toBe(2 * vocab * tokens + 4 * h * tokens);
    expect(memory.forwardTransient).toBe(0);
  });
  it('backward writes one chunk’s 16-bit gradient at a time: 2 V T / 8', () => {
    expect(memory.backwardTransient).toBe((2 * vocab * tokens) / 8);
    expect(memory.retained).toBe(0);
  });
});

describe('backward: the head and the recomputed last layer come one after the other', () => {
  const states: ModelStates = {
    weights: 10 * GIB,
    gradients: 0,
    masterWeights: 0,
    optimizerStates: 1 * GIB,
    pagedOptimizerStates: 0,
    hostBytes: 0,
    shardDegree: 1,
    trainableElements: 0,
    gatheredWeightBytes: 2,
    gradientElementBytes: 2,
    stateBytes: { weight: 2, gradient: 2, master: 0, optimizerElement: 2 },
  };
  const components = (
    retained: number,
    headGradient: number,
    previousStep = { activations: 0, logits: 0 },
  ): RankComponents => ({
    label: 'rank',
    stage: 0,
    layers: 1,
    states,
    activations: {
      saved: 2 * GIB,
      layerWorkingSet: 1.5 * GIB,
      perMicroBatch: 2 * GIB,
      lastLayerSaved: 2 * GIB,
      contextParallelBuffers: 0,
      expertParallelBuffers: 0,
    },
    logits: {
      saved: 3 * GIB,
      forwardTransient: 0.5 * GIB,
      backwardTransient: 1 * GIB,
      retained,
      headBackward: retained + 1 * GIB, // the logits' gradient once the loss's buffers are freed
    },
    buffers: {
      forward: 0,
      backward: 0,
      optimizer: 0,
      savedForBackward: 0,
      lossBackward: 0,
      headReduce: 0,
      layerBackward: 0,
      laterLayerBackward: 0,
      backwardEnd: 0,
      notes: [],
    },
    persistentGradients: 0,
    backwardWorkspace: 0.5 * GIB,
    recomputedLayer: 1.5 * GIB,
    headGradient,
    headGradientStays: true,
    tiedGradientSum: 0,
    previousStep,
    runtimeOverhead: 0,
    fragmentation: 0.1,
    capacityBytes: 80 * GIB,
    safetyMarginBytes: 0,
  });
  it('allocated peaks in the head’s backward (11 + 2 + 3 + 1 GiB), not head plus layer', () => {
    const rank = rankPeak(components(0, 0), false);
    expect(rank.allocatedPeakBytes).toBe(17 * GIB);
  });
  it('reserved keeps the layer’s cached working set (1.5 + 0.5 GiB) under the logits: 19 GiB x 1.1', () => {
    const rank = rankPeak(components(0, 0), false);
    expect(rank.reservedPeakBytes).toBe(Math.ceil(19 * GIB * 1.1));
  });
  it('logits the loop keeps referenced stay into the layer’s backward: 11 + 2 + 2 + 3 GiB', () => {
    const rank = rankPeak(components(3 * GIB, 0), false);
    expect(rank.allocatedPeakBytes).toBe(18 * GIB);
  });
  it('a head’s weight gradient comes after the loss’s buffers are freed: 11 + 2 + 1 + 0.75 < 17 GiB', () => {
    const rank = rankPeak(components(0, 0.75 * GIB), false);
    expect(rank.allocatedPeakBytes).toBe(17 * GIB);
  });
  it('what the loop holds of the previous micro-batch adds to the forward’s end: 11 + 2 + 3.5 + 1.75', () => {
    const rank = rankPeak(components(0, 0, { activations: 1.5 * GIB, logits: 0.25 * GIB }), false);
    expect(rank.peakPhase).toBe('forward');
    expect(rank.allocatedPeakBytes).toBe(18.25 * GIB);
  });
});

describe('accumulating without gradient sync (FSDP no_sync, litgpt) keeps unsharded gradients', () => {
  const catalog = loadCatalog();
  // Llama-3-8B's published parameter count; bf16 gradients, FSDP over 4 GPUs.
  const parameters = 8_030_261_248;
  const plan = (unshardedGradientAccumulation: boolean) =>
    estimatePlan(
      {
        model: 'llama-3-8b',
        cluster: { gpu: 'a100-80gb', gpusPerNode: 4 },
        training: {
          method: 'full',
          precision: 'bf16-pure',
          microBatchSize: 1,
          sequenceLength: 512,
          gradientAccumulationSteps: 4,
        },
        parallelism: { zeroStage: 3 },
        runtime: { preset: 'litgpt', unshardedGradientAccumulation },
      },
      catalog,
    ).memory.perGpu;
  it('backward holds 2P bytes of gradients on every rank with no_sync', () => {
    const rank = plan(true);
    expect(rank.peakPhase).toBe('backward');
    expect(rank.breakdown.gradients).toBe(2 * parameters);
  });
  it('and 2P / 4 when every micro-batch reduce-scatters', () => {
    expect(plan(false).breakdown.gradients).toBe((2 * parameters) / 4);
  });
});

describe('a tied embedding’s gradient is summed with the head’s at the end of backward', () => {
  // Llama-3.2-1B ties its 128,256 x 2,048 embedding to the head; P is its published count.
  const P = 1_235_814_400;
  const tied = 128_256 * 2_048;
  const peakGradients = (precision: 'fp32' | 'bf16-mixed') => {
    const result = estimatePlan(
      {
        model: 'llama-3.2-1b',
        cluster: { gpu: 'h100-80gb' },
        training: { method: 'full', precision, sequenceLength: 16 },
        runtime: { preset: 'hf-transformers', foreachOptimizer: false },
      },
      loadCatalog(),
    );
    expect(result.memory.perGpu.peakPhase).toBe('backward');
    return result.memory.perGpu.breakdown.gradients;
  };
  it('in the parameter dtype: the head’s, the embedding’s and their sum, 2 extra V x h (H100 run 2)', () => {
    expect(peakGradients('fp32')).toBe(4 * P + 2 * 4 * tied);
  });
  it('under autocast the head’s arrives as a fresh fp32 cast and is summed in place: 1 extra (run 6)', () => {
    expect(peakGradients('bf16-mixed')).toBe(4 * P + 4 * tied);
  });
});

describe('ZeRO-3 over one data-parallel rank shards nothing', () => {
  const catalog = loadCatalog();
  const plan = (
    zeroStage: 2 | 3,
    preset: 'torchtune' | 'hf-transformers',
    method: 'full' | 'lora',
  ) =>
    estimatePlan(
      {
        model: 'llama-3-8b',
        cluster: { gpu: 'h100-80gb', gpusPerNode: 1 },
        training: {
          method,
          precision: preset === 'torchtune' ? 'bf16-pure' : 'bf16-mixed',
          microBatchSize: 1,
          sequenceLength: 2048,
          ...(method === 'lora'
            ? { lora: { rank: 8, alpha: 16, targetModules: 'all-linear' } }
            : {}),
        },
        parallelism: { zeroStage },
        runtime: { preset },
      },
      catalog,
    );
  it('keeps the head’s weight gradient: V x h in bf16 = 128256 x 4096 x 2 bytes', () => {
    const rank = plan(3, 'torchtune', 'full').memory.perGpu;
    expect(rank.peakPhase).toBe('backward');
    expect(rank.breakdown.gradients).toBe(128256 * 4096 * 2);
  });
  it.each([
    ['torchtune', 'full'],
    ['hf-transformers', 'lora'],
  ] as const)(
    '%s %s: the same bytes as ZeRO-2, as (2 + 2 + K) Psi / N_d is at N_d = 1',
    (preset, method) => {
      const stage3 = plan(3, preset, method);
      expect(stage3.memory.perGpu).toEqual(plan(2, preset, method).memory.perGpu);
      expect(stage3.assumptions).toContain(
        'ZeRO-3 over one data-parallel rank gathers nothing: planned as ZeRO-2',
      );
    },
  );
});

describe('a plan over the card only through the caching allocator’s cache', () => {
  const catalog = loadCatalog();
  // H100 SXM 80GB: nvidia-smi's 81,559 MiB less the default 1 GiB safety margin.
  const limit = 81559 * 2 ** 20 - GIB;
  const plan = (microBatchSize: number, allocatorFragmentation: number) =>
    estimatePlan(
      {
        model: 'llama-3-8b',
        cluster: { gpu: 'h100-80gb', gpusPerNode: 1 },
        training: { method: 'full', precision: 'bf16-pure', microBatchSize, sequenceLength: 2048 },
        runtime: { preset: 'torchtune', allocatorFragmentation },
      },
      catalog,
    );
  const cacheWarning = (warnings: string[]) =>
    warnings.some((w) => w.startsWith("only the allocator's cache overflows"));
  it('says the run may go when the allocated peak and the context fit', () => {
    const result = plan(1, 0.7);
    const rank = result.memory.perGpu;
    expect(rank.fits).toBe(false);
    expect(rank.allocatedPeakBytes + rank.breakdown.runtimeOverhead).toBeLessThanOrEqual(limit);
    expect(cacheWarning(result.warnings)).toBe(true);
  });
  it('says nothing of the kind when the allocated peak alone is over the card', () => {
    const result = plan(64, 0.06);
    const rank = result.memory.perGpu;
    expect(rank.allocatedPeakBytes + rank.breakdown.runtimeOverhead).toBeGreaterThan(limit);
    expect(cacheWarning(result.warnings)).toBe(false);
  });
});
