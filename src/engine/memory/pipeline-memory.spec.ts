// What pipeline parallelism keeps on a rank, read off its simulated timeline: the buffers
// torch.distributed.pipelining keeps per micro-batch, Megatron's fresh ones, and FSDP2 under
// pipelining (units kept gathered, unsharded gradients accumulated until the step's end).
import { H100_SXM } from '../../../test/support/gpus';
import {
  liveWhen,
  MIB,
  simulateTiny,
  TINY,
  TINY_LAYER,
  tinyArch,
} from '../../../test/support/timeline';
import { normalizeRequest } from '../request/normalize';
import { planFromRequest } from '../plan';
import { RankMemory } from '../vocabulary';

// One micro-batch's hidden state: 1 x 1,024 tokens x h = 1,024 in bf16.
const ACTIVATION = 1024 * TINY.hidden * 2;
// cuBLAS's workspaces, forward and backward threads, on a card without a stated compute
// capability (CublasHandlePool.cpp: 4096 KiB x 2 + 16 x 8 KiB).
const CUBLAS = 2 * 8.125 * MIB;

const pipeline = (microBatches: number, runtime = {}, parallelism = {}, gpus = 2) => ({
  training: { sequenceLength: 1024, gradientAccumulationSteps: microBatches },
  parallelism: { pipelineParallel: 2, ...parallelism },
  runtime,
  gpus,
});
const stepStart = (m: { step: number; what: string }) =>
  m.step === 2 && m.what === 'pipeline buffers';

describe('what stages send each other, per micro-batch', () => {
  it('PyTorch: the last stage keeps a receive buffer per micro-batch and, until the next step, the gradient left on it', () => {
    const live = liveWhen(simulateTiny(pipeline(4), 1).log, stepStart);
    expect(live.activations).toBe(2 * 4 * ACTIVATION); // 4 buffers + 4 input gradients
    expect(live.buffers).toBe(CUBLAS);
  });

  it('PyTorch: the first stage keeps a receive buffer per micro-batch for its output gradient', () => {
    const live = liveWhen(simulateTiny(pipeline(4), 0).log, stepStart);
    expect(live.buffers - CUBLAS).toBe(4 * ACTIVATION);
    expect(live.activations).toBe(0);
  });

  it('the steady state cut out of 16 micro-batches still leaves 16 input gradients', () => {
    const live = liveWhen(simulateTiny(pipeline(16), 1).log, stepStart);
    expect(live.activations).toBe(2 * 16 * ACTIVATION);
  });

  it('sequence parallelism sends each tensor-parallel rank half the sequence (t = 2)', () => {
    const live = liveWhen(
      simulateTiny(pipeline(4, {}, { tensorParallel: 2, sequenceParallel: true }, 4), 0).log,
      stepStart,
    );
    expect(live.buffers - CUBLAS).toBe((4 * ACTIVATION) / 2);
  });

  it('Megatron receives into fresh tensors and keeps nothing between steps', () => {
    const live = liveWhen(simulateTiny(pipeline(4, { preset: 'megatron' }), 1).log, stepStart);
    expect(live.activations).toBe(0);
    expect(live.buffers).toBe(CUBLAS);
  });
});

describe('FSDP2 under pipelining (torchtitan: no reshard after forward, no sync until the end)', () => {
  // The last stage of 2 holds layers 2 and 3, the final norm and the head; 8 GPUs leave 4
  // data-parallel ranks to shard over.
  const params = 2 * TINY_LAYER + TINY.hidden + TINY.vocab * TINY.hidden;
  const layers = 2 * TINY_LAYER;
  const head = TINY.hidden + TINY.vocab * TINY.hidden;
  const fsdp = (runtime = {}) =>
    simulateTiny(pipeline(4, { preset: 'torchtitan', ...runtime }, { zeroStage: 3 }, 8), 1).log;
  const secondBackward = (m: { step: number; phase: string; microBatch: number }) =>
    m.step === 2 && m.phase === 'backward' && m.microBatch === 1;

  it('from the second micro-batch on, the whole stage is gathered in bf16 and its gradients accumulate unsharded in fp32', () => {
    const live = liveWhen(fsdp(), secondBackward);
    expect(live.gradients).toBe(4 * params); // unsharded_accumulated_grad, reduce_dtype fp32
    expect(live.buffers - CUBLAS).toBe(2 * params); // unsharded bf16 parameters
  });

  it('set_reshard_after_backward(True) frees the layers between micro-batches: the next forward finds only the root gathered', () => {
    const nextForward = (m: { step: number; what: string; microBatch: number }) =>
      m.step === 2 && m.what === 'layer' && m.microBatch === 1;
    const kept = liveWhen(fsdp(), nextForward).buffers;
    const resharded = liveWhen(fsdp({ fsdpReshardAfterBackward: true }), nextForward).buffers;
    // kept: every unit gathered; resharded: the root (norm, head) gathered again, with its
    // all-gather output held until the next copy-out (foreach_all_gather_copy_out)
    expect(kept - CUBLAS).toBe(2 * params);
    expect(resharded - CUBLAS).toBe(2 * head + 2 * head);
    expect(kept - resharded).toBe(2 * layers - 2 * head);
  });

  it('the step ends with the reduce-scatter: sharded fp32 gradients over 4 ranks, the units resharded', () => {
    const live = liveWhen(fsdp(), (m) => m.step === 2 && m.phase === 'optimizer');
    expect(live.gradients).toBe((4 * params) / 4);
    expect(live.buffers).toBe(CUBLAS);
  });
});

describe('pipeline ranks alike share one simulation (rank.ts rankShape)', () => {
  // 12 layers over 6 stages with one micro-batch: every rank runs F0 then B0. Stages 2-4 hold
  // two layers each (5-6, 7-8, 9-10) and neither end of the model; 8k tokens of two sequences
  // put each one's peak inside its layers, in backward.
  const arch = tinyArch(12);
  const request = normalizeRequest(
    {
      model: 'tiny-llama',
      cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 6 },
      training: { sequenceLength: 8192, microBatchSize: 2 },
      parallelism: { pipelineParallel: 6 },
    },
    H100_SXM,
  );
  const ranks = planFromRequest(request, arch, H100_SXM).memory.ranks;
  const alike = ranks.slice(2, 5);

  it('gives them the same figures', () => {
    const figures = (r: RankMemory) => [r.allocatedPeakBytes, r.reservedPeakBytes, r.breakdown];
    expect(alike.map((rank) => rank.layers)).toEqual([2, 2, 2]);
    alike.forEach((rank) => expect(figures(rank)).toEqual(figures(alike[0])));
  });

  it("names each one's peak in its own layers: the last one's backward", () => {
    expect(alike.map((rank) => rank.peakMoment)).toEqual(
      [6, 8, 10].map((layer) => ({ phase: 'backward', layer, microBatch: 0, what: 'layer' })),
    );
  });
});
