import { transientBuffers } from './buffers';
import { modelStates } from './model-states';
import { RankParameters } from '../model/placement';
import { normalizeRequest } from '../request/normalize';
import { PlanRequest } from '../vocabulary';

// One rank of a 3B-class model: 3.2e9 decoder linear elements, one 0.2e9-element layer, and a
// 50,688 x 4096 output head.
const layerLinears = 3.2e9;
const largestLayer = 0.2e9;
const headElements = 50688 * 4096;
const rank: RankParameters = {
  denseLinear: layerLinears,
  expertLinear: 0,
  nonLinear: 2 * headElements,
  adapters: 4e6,
  largestLayer,
  largestLinear: 4096 * 16384,
  largestTensor: headElements,
  paddedVocab: 50688,
  factoredStateElements: 0,
  headLinear: headElements,
  embeddingUnit: 0,
  rootUnit: 0,
  totalOnRank: layerLinears + 2 * headElements,
};

function request(
  method: 'full' | 'lora',
  precision: 'bf16-mixed' | 'bf16-pure',
  checkpointing: 'none' | 'full',
): PlanRequest {
  return normalizeRequest({
    model: 'x',
    cluster: { gpu: 'a100-40gb' },
    training: {
      method,
      precision,
      activationCheckpointing: checkpointing,
      ...(method === 'lora'
        ? { lora: { rank: 8, alpha: 16, dropout: 0, targetModules: ['q_proj', 'v_proj'] } }
        : {}),
    },
    runtime: { mixedPrecisionStyle: 'amp', foreachOptimizer: false },
  });
}

function forwardBuffers(req: PlanRequest): number {
  const states = modelStates(req, rank, 1, 1);
  return transientBuffers(req, rank, states, 1, headElements).forward;
}

describe('autocast over fp32 weights holds 16-bit casts for backward', () => {
  it('full fine-tuning: the cache keeps one 2-byte copy of every linear weight and the head', () => {
    expect(forwardBuffers(request('full', 'bf16-mixed', 'none'))).toBe(
      2 * (layerLinears + headElements),
    );
  });
  it('LoRA: each frozen linear’s matmul saves its cast, the same 2 bytes per weight', () => {
    expect(forwardBuffers(request('lora', 'bf16-mixed', 'none'))).toBe(
      2 * (layerLinears + headElements),
    );
  });
  it('LoRA with full checkpointing: only the head, outside the checkpointed layers, keeps one', () => {
    const req = request('lora', 'bf16-mixed', 'full');
    const states = modelStates(req, rank, 1, 1);
    const buffers = transientBuffers(req, rank, states, 1, headElements);
    expect(buffers.forward).toBe(2 * headElements);
    // Backward rebuilds one layer at a time, casts included.
    expect(buffers.backward).toBe(2 * headElements + 2 * largestLayer);
  });
  it('QLoRA: the 4-bit layers dequantise per op, so only the head keeps a cast', () => {
    const req = normalizeRequest({
      model: 'x',
      cluster: { gpu: 'a100-40gb' },
      training: { method: 'qlora', precision: 'bf16-mixed', activationCheckpointing: 'none' },
      runtime: { mixedPrecisionStyle: 'amp', foreachOptimizer: false },
    });
    const dequantised = 2 * rank.largestLinear; // one 16-bit linear at a time
    expect(forwardBuffers(req)).toBe(2 * headElements + dequantised);
  });
  const qloraOn = (quantizationKernel: 'bitsandbytes' | 'bitsandbytes-lightning') =>
    normalizeRequest({
      model: 'x',
      cluster: { gpu: 'a10g' },
      training: { method: 'qlora', precision: 'bf16-pure', activationCheckpointing: 'none' },
      runtime: { quantizationKernel, foreachOptimizer: false },
    });
  it('QLoRA under bitsandbytes in bf16: the largest block linear as one bf16 copy', () => {
    expect(forwardBuffers(qloraOn('bitsandbytes'))).toBe(2 * 4096 * 16384);
  });
  it('QLoRA under Lightning’s plugin: the 4-bit head dequantised to fp16 and cast to bf16', () => {
    // 50,688 x 4096 head > the 16384 x 4096 MLP linear; fp16 (2 B) + bf16 (2 B) per element.
    expect(forwardBuffers(qloraOn('bitsandbytes-lightning'))).toBe(4 * 50688 * 4096);
  });
  it('pure bf16 weights need no cast', () => {
    expect(forwardBuffers(request('lora', 'bf16-pure', 'none'))).toBe(0);
  });
});

describe('what backward frees and what the step allocates (H100 runs)', () => {
  it('autocast’s weight casts are freed layer by layer: none is left at the end of backward', () => {
    const req = request('full', 'bf16-mixed', 'none');
    const buffers = transientBuffers(req, rank, modelStates(req, rank, 1, 1), 1, headElements);
    expect(buffers.savedForBackward).toBe(2 * (layerLinears + headElements));
    expect(buffers.backward - buffers.savedForBackward).toBe(0);
  });
  it('full checkpointing: the cache holds every cast through the loss, backward recasts one layer', () => {
    const req = request('full', 'bf16-mixed', 'full');
    const buffers = transientBuffers(req, rank, modelStates(req, rank, 1, 1), 1, headElements);
    expect(buffers.forward).toBe(2 * (layerLinears + headElements));
    expect(buffers.backward).toBe(2 * headElements + 2 * largestLayer);
  });
  it('a LoRA head applied in 9 chunks (litgpt, 1034 tokens / 128) is cast 9 times', () => {
    const req = request('lora', 'bf16-mixed', 'full');
    const states = modelStates(req, rank, 1, 1);
    expect(transientBuffers(req, rank, states, 1, headElements, 9).forward).toBe(
      9 * 2 * headElements,
    );
  });
  const adafactor = (foreachOptimizer: boolean) =>
    normalizeRequest({
      model: 'x',
      cluster: { gpu: 'a100-40gb' },
      training: { method: 'full', precision: 'fp32', optimizer: 'adafactor' },
      runtime: { foreachOptimizer },
    });
  it('foreach Adafactor builds every full-size variance estimate at once: 4 bytes per element', () => {
    const req = adafactor(true);
    const states = modelStates(req, rank, 1, 1);
    expect(transientBuffers(req, rank, states, 1).optimizer).toBe(4 * rank.totalOnRank);
  });
  it('per-parameter Adafactor builds one at a time: the largest tensor’s', () => {
    const req = adafactor(false);
    const states = modelStates(req, rank, 1, 1);
    expect(transientBuffers(req, rank, states, 1).optimizer).toBe(4 * rank.largestTensor);
  });
});

describe('gradient sync buffers follow the dataParallelEngine knob', () => {
  const sync = (zeroStage: 0 | 2, dataParallelEngine: 'pytorch' | 'deepspeed' | 'megatron') => {
    const req = normalizeRequest({
      model: 'x',
      cluster: { gpu: 'a100-80gb', gpusPerNode: 8 },
      training: { method: 'full', precision: 'bf16-mixed' },
      parallelism: { zeroStage },
      runtime: { dataParallelEngine, foreachOptimizer: false },
    });
    const states = modelStates(req, rank, 8, 1);
    return transientBuffers(req, rank, states, 8).backward;
  };
  const trainable = rank.totalOnRank;
  it('DDP (gradient_as_bucket_view=False) keeps a bucket copy of every 16-bit gradient', () => {
    expect(sync(0, 'pytorch') - sync(0, 'megatron')).toBe(2 * trainable);
    expect(sync(0, 'deepspeed')).toBe(sync(0, 'megatron'));
  });
  it('ZeRO-2 on DeepSpeed holds a 5e8-element 16-bit reduce bucket; Megatron reduces in place', () => {
    expect(sync(2, 'deepspeed') - sync(2, 'megatron')).toBe(2 * 5e8);
  });
});

describe('FSDP: what is gathered and reduced (H100 anatomy, tools/measure/sharded.py)', () => {
  // One rank of eight: the 3B-class rank above with a 0.4e9-element root (embedding + head).
  const root = 0.4e9;
  const fsdpRank: RankParameters = { ...rank, rootUnit: root };
  const fsdp = (fsdpEmbeddingUnits: boolean) =>
    normalizeRequest({
      model: 'x',
      cluster: { gpu: 'h100-80gb', gpusPerNode: 8 },
      training: { method: 'full', precision: 'bf16-mixed', activationCheckpointing: 'none' },
      parallelism: { zeroStage: 3 },
      runtime: { mixedPrecisionStyle: 'fsdp2', foreachOptimizer: false, fsdpEmbeddingUnits },
    });
  const buffersOf = (fsdpEmbeddingUnits: boolean) => {
    const req = fsdp(fsdpEmbeddingUnits);
    const states = modelStates(req, fsdpRank, 8, 1);
    return transientBuffers(req, fsdpRank, states, 8, headElements);
  };
  it('the root stays gathered in bf16 beside the last layer and one held all-gather buffer', () => {
    const b = buffersOf(false);
    expect(b.forward).toBe(2 * (root + 2 * largestLayer));
    expect(b.backward).toBe(2 * (root + largestLayer));
    expect(b.lossBackward).toBe(0);
  });
  it('a layer’s backward adds a prefetched layer, its bf16 gradients and their fp32 reduce input', () => {
    const b = buffersOf(false);
    expect(b.layerBackward).toBe(2 * largestLayer + 2 * largestLayer);
    expect(b.laterLayerBackward).toBe(2 * largestLayer + 2 * largestLayer + 4 * largestLayer);
    // The root's gradients go through a 4-byte reduce-scatter input at backward's end.
    expect(b.backwardEnd).toBe(4 * root);
  });
  it('with the embedding and head as units of their own only the head is gathered at the loss', () => {
    const b = buffersOf(true);
    expect(b.forward).toBe(2 * (headElements + largestLayer));
    expect(b.backward).toBe(2 * largestLayer);
    expect(b.lossBackward).toBe(2 * headElements);
    // The head's gradient is reduce-scattered (fp32 input) as soon as its backward is done.
    expect(b.headReduce).toBe(4 * headElements);
    expect(b.backwardEnd).toBe(4 * (root - headElements));
  });
});
