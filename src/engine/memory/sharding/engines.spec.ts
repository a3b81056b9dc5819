// What each data-parallel engine keeps on a rank, read off the timeline of the tiny Llama
// (P parameters) over 8 data-parallel ranks, in bf16 with an fp32 master copy and AdamW.
import { liveWhen, MIB, simulateTiny, TINY, TINY_LAYER } from '../../../../test/support/timeline';
import { ALLOCATED_COMPONENTS } from '../autograd/events';

// 4 layers, the embedding and the untied head, the final norm.
const P = 4 * TINY_LAYER + 2 * TINY.vocab * TINY.hidden + TINY.hidden;
const CUBLAS = 2 * 8.125 * MIB;
// Each tensor is rounded up to 512 bytes (the caching allocator's block) and the fused AdamW
// keeps a 4-byte step count: a few KiB beyond the arithmetic.
const near = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected)).toBeLessThan(8 * 1024);
const base = { training: { sequenceLength: 1024 }, gpus: 8 };
const atStep = (m: { step: number; phase: string }) => m.step === 2 && m.phase === 'optimizer';
const inBackward = (m: { step: number; phase: string; layer: number }) =>
  m.step === 2 && m.phase === 'backward' && m.layer === 2;

const deepspeed = (zeroStage: 0 | 1 | 2 | 3, runtime = {}) =>
  simulateTiny({
    ...base,
    parallelism: { zeroStage },
    runtime: { preset: 'deepspeed', bucketElements: 1e6, zero3LiveParameters: 0, ...runtime },
  }).log;

describe('DeepSpeed ZeRO', () => {
  it('ZeRO-1: flat bf16 parameters, an fp32 partition with its states, full bf16 gradients until the step', () => {
    const live = liveWhen(deepspeed(1), atStep);
    near(live.weights, 2 * P);
    near(live.masterWeights, (4 * P) / 8);
    near(live.optimizerStates, (8 * P) / 8);
    near(live.gradients, 2 * P);
  });

  it("ZeRO-1 under torchtune's pure-bf16 preset: DeepSpeed's optimizer steps the fp32 partition, so its states are fp32 too", () => {
    const log = simulateTiny({
      ...base,
      parallelism: { zeroStage: 1 },
      runtime: { preset: 'torchtune', bucketElements: 1e6 },
    }).log;
    const live = liveWhen(log, atStep);
    near(live.masterWeights, (4 * P) / 8);
    near(live.optimizerStates, (8 * P) / 8);
  });

  it("ZeRO-2: only this rank's bf16 gradient partition reaches the step; backward holds the reduce bucket", () => {
    near(liveWhen(deepspeed(2), atStep).gradients, (2 * P) / 8);
    // reduce_bucket_size elements of bf16 (1e6 here)
    near(liveWhen(deepspeed(2), inBackward).buffers, CUBLAS + 1e6 * 2);
  });

  it('ZeRO-2 with the optimizer offloaded keeps neither the fp32 partition nor states on the card', () => {
    const log = simulateTiny({
      ...base,
      parallelism: { zeroStage: 2, offload: { optimizer: 'cpu' } },
      runtime: { preset: 'deepspeed', bucketElements: 1e6 },
    }).log;
    const live = liveWhen(log, atStep);
    expect(live.masterWeights + live.optimizerStates + live.gradients).toBe(0);
  });

  it('ZeRO-3: partitioned bf16 parameters (norms under 1e5 elements whole), a flat gradient partition and the bucket kept', () => {
    const live = liveWhen(deepspeed(3), atStep);
    const norms = 9 * TINY.hidden; // 2 per layer and the final norm
    const partitioned = P - norms;
    near(live.weights, (2 * partitioned) / 8 + 2 * norms);
    near(live.gradients, (2 * P) / 8);
    near(live.buffers, CUBLAS + 1e6 * 2);
  });

  it("ZeRO-3 partitions a sequence classifier's score as it does a vocabulary head", () => {
    // LlamaForSequenceClassification with as many labels as the vocabulary: its bias-free score
    // (h x 8192) has the head's shape, so P is unchanged.
    const config = { architectures: ['LlamaForSequenceClassification'], num_labels: TINY.vocab };
    const live = liveWhen(
      simulateTiny({
        ...base,
        config,
        parallelism: { zeroStage: 3 },
        runtime: { preset: 'deepspeed', bucketElements: 1e6, zero3LiveParameters: 0 },
      }).log,
      atStep,
    );
    const norms = 9 * TINY.hidden;
    near(live.weights, (2 * (P - norms)) / 8 + 2 * norms);
    near(live.gradients, (2 * P) / 8);
    near(live.masterWeights, (4 * P) / 8);
  });

  it('ZeRO-3 keeps a module gathered while its next use lies within the reuse distance', () => {
    // 1e9 parameters reach past the whole tiny model: every module stays gathered in bf16
    const live = liveWhen(deepspeed(3, { zero3LiveParameters: 1e9 }), atStep);
    near(live.buffers, CUBLAS + 1e6 * 2 + 2 * P);
  });
});

describe("Megatron's DDP and optimizer", () => {
  const megatron = (zeroStage: 0 | 1) =>
    liveWhen(
      simulateTiny({ ...base, parallelism: { zeroStage }, runtime: { preset: 'megatron' } }).log,
      atStep,
    );

  it('keeps one fp32 gradient buffer for every parameter, all run long', () => {
    expect(megatron(1).gradients).toBe(4 * P);
  });

  it('the distributed optimizer shards the fp32 master and the states over 8 ranks', () => {
    expect(megatron(1).masterWeights).toBe((4 * P) / 8);
    near(megatron(1).optimizerStates, (8 * P) / 8);
    expect(megatron(0).masterWeights).toBe(4 * P);
  });
});

describe('a PyTorch loop with an fp32 master copy (the default regime)', () => {
  it('DDP keeps bf16 parameters and gradients, their bucket copy, the fp32 copy and fp32 states', () => {
    const live = liveWhen(simulateTiny({ ...base, parallelism: { zeroStage: 0 } }).log, atStep);
    near(live.masterWeights, 4 * P);
    near(live.buffers - CUBLAS, 2 * P); // DDP's buckets
    near(live.gradients, 2 * P);
  });

  it('FSDP2 with its optimizer offloaded steps the fp32 copy on the host: none on the card', () => {
    const offload = { optimizer: 'cpu' as const, parameters: 'cpu' as const };
    const log = simulateTiny({ ...base, parallelism: { zeroStage: 3, offload } }).log;
    const live = liveWhen(log, atStep);
    expect(live.masterWeights + live.optimizerStates).toBe(0);
  });
});

describe('FSDP2 and HSDP (torchtitan: fp32 shards, bf16 gathers, fp32 reduce)', () => {
  const fsdp = (replicateDegree: number) =>
    liveWhen(
      simulateTiny({
        ...base,
        parallelism: { zeroStage: 3, replicateDegree },
        runtime: { preset: 'torchtitan' },
      }).log,
      atStep,
    );

  it('shards over all 8 data-parallel ranks, or over 4 when each shard has 2 replicas', () => {
    near(fsdp(1).weights, (4 * P) / 8);
    near(fsdp(2).weights, (4 * P) / 4);
    // the sharded fp32 gradients follow the shards; HSDP all-reduces them in place
    near(fsdp(2).gradients, (4 * P) / 4);
  });
});

describe("FSDP2's gathers belong to the pass that needs them", () => {
  it("the root's gather at a forward's start is that forward's, not the optimizer step's", () => {
    const log = simulateTiny({
      ...base,
      parallelism: { zeroStage: 3 },
      runtime: { preset: 'torchtitan' },
    }).log;
    // torch.optim's step allocates on the compute stream; FSDP2 allocates its all-gather and
    // reduce-scatter outputs on side streams, only ever inside a forward or a backward (the
    // last reduce-scatter buffers may be freed as late as the step).
    const phases = new Set<string>();
    for (let i = 0; i < log.length; i++) {
      const moment = log.moments[log.moment[i]];
      const sideAllocation = log.kind[i] === 1 && log.stream[i] !== 0;
      if (sideAllocation && moment.phase !== 'build') phases.add(moment.phase);
    }
    expect([...phases].sort()).toEqual(['backward', 'forward']);
  });
});

describe('gathering a QLoRA base: its NF4 weights go as stored, not in bf16', () => {
  // torchao's NF4Tensor.fsdp_pre_all_gather hands FSDP2 its quantized_data (4 bits a weight),
  // quantized_scalers (an int8 per 64 weights) and quantization_factor (one scale per 256 of
  // those blocks, 4 bytes at most); a layer's norms and its LoRA adapters (q and v: A of 8 x h, B of h x 8) are
  // bf16. ZeRO-3 gathers bitsandbytes' packed storage alike.
  const NF4_DQ = 0.5 + 1 / 64 + 4 / (64 * 256);
  const LINEARS = 4 * TINY.hidden * TINY.hidden + 3 * TINY.hidden * TINY.ffn;
  const BF16_PARAMS = 2 * TINY.hidden + 2 * (8 * TINY.hidden + TINY.hidden * 8);
  const qlora = {
    method: 'qlora' as const,
    lora: { rank: 8, alpha: 16, dropout: 0, targetModules: ['q_proj', 'v_proj'] },
    qlora: { doubleQuant: true },
  };
  /** The largest single allocation of a layer's forward: its gathered parameters. */
  const largestInLayer = (runtime: Record<string, unknown>) => {
    const { log } = simulateTiny({
      training: { sequenceLength: 16, ...qlora },
      gpus: 8,
      parallelism: { zeroStage: 3 },
      runtime,
    });
    let largest = 0;
    for (let i = 0; i < log.length; i++) {
      const m = log.moments[log.moment[i]];
      if (m.step === 2 && m.phase === 'forward' && m.layer === 2 && log.kind[i] === 1)
        largest = Math.max(largest, log.bytes[i]);
    }
    return largest;
  };

  it("FSDP2 (torchtune's QLoRA on torchao NF4) gathers a layer at 0.516 bytes a linear weight", () => {
    near(largestInLayer({ preset: 'torchtune' }), LINEARS * NF4_DQ + BF16_PARAMS * 2);
  });

  it('DeepSpeed ZeRO-3 gathers it the same way', () => {
    const runtime = { preset: 'deepspeed', bucketElements: 1e6, zero3LiveParameters: 0 };
    near(largestInLayer(runtime), LINEARS * NF4_DQ + BF16_PARAMS * 2);
  });
});

describe("a vision-language model's image tower under ZeRO-3", () => {
  // Qwen2.5-VL's tower at a small shape (2 blocks of width 128, a gated MLP of 256, the merger
  // 4w -> 4w -> h): zero.Init partitions it with the rest and gathers it as one unit while it
  // runs; under QLoRA its linears load 4-bit (bitsandbytes skips only the output embedding) and
  // go as stored: the linears' weights in NF4 (bf16 under LoRA), their biases, the norms and
  // the patch embedding in bf16 either way.
  const w = 128;
  const config = {
    model_type: 'qwen2_5_vl',
    vision_config: {
      depth: 2,
      hidden_size: w,
      intermediate_size: 256,
      out_hidden_size: TINY.hidden,
    },
  };
  const linears = 2 * (w * 3 * w + w * w + 3 * w * 256) + (4 * w * 4 * w + 4 * w * TINY.hidden);
  /** The first buffer the tower's forward allocates in the last step: the gathered tower
   * (QLoRA's dequantised copies of each linear follow it). */
  const towerGather = (method: 'lora' | 'qlora') => {
    const buffers = ALLOCATED_COMPONENTS.indexOf('buffers');
    const { log } = simulateTiny({
      training: { sequenceLength: 64, method, imagesPerSample: 1 },
      gpus: 8,
      parallelism: { zeroStage: 3 },
      runtime: { preset: 'deepspeed', zero3LiveParameters: 0 },
      config,
    });
    for (let i = 0; i < log.length; i++) {
      const m = log.moments[log.moment[i]];
      const made = log.kind[i] === 1 && log.component[i] === buffers;
      if (m.step === 2 && m.phase === 'forward' && m.what === 'vision' && made) return log.bytes[i];
    }
    return 0;
  };

  it("gathers the tower's 4-bit linears as stored under QLoRA: the gather shrinks by their bf16 less NF4 bytes", () => {
    const NF4_DQ = 0.5 + 1 / 64 + 4 / (64 * 256);
    expect(towerGather('lora')).toBeGreaterThan(linears * 2);
    near(towerGather('lora') - towerGather('qlora'), linears * (2 - NF4_DQ));
  });
});

describe('DeepSpeed ZeRO-3 with its parameters offloaded', () => {
  it('keeps only the whole small parameters (norms) on the card', () => {
    const log = simulateTiny({
      ...base,
      parallelism: { zeroStage: 3, offload: { optimizer: 'cpu', parameters: 'cpu' } },
      runtime: { preset: 'deepspeed', bucketElements: 1e6, zero3LiveParameters: 0 },
    }).log;
    const live = liveWhen(log, atStep);
    // 9 norms of h stay whole in bf16; each offloaded partition leaves a 512-byte block
    const offloaded = 4 * 7 + 2; // the layers' linears, the embedding and the head
    near(live.weights, 9 * TINY.hidden * 2 + offloaded * 512);
    expect(live.masterWeights + live.optimizerStates).toBe(0);
  });
});

describe('buffers under ZeRO-3 and FSDP2', () => {
  // GPT-BigCode's one (n, n) bool causal mask: its rows grow with max_position_embeddings, and
  // so do wpe's (n x h), which both engines shard over the 8 ranks.
  const bigcode = (positions: number) => ({
    model_type: 'gpt_bigcode',
    architectures: ['GPTBigCodeForCausalLM'],
    max_position_embeddings: positions,
  });
  const weightsAtStep = (preset: 'torchtitan' | 'deepspeed', positions: number) =>
    liveWhen(
      simulateTiny({
        ...base,
        parallelism: { zeroStage: 3 },
        runtime: { preset },
        config: bigcode(positions),
      }).log,
      atStep,
    ).weights;
  const mask = 4096 * 4096 - 2048 * 2048; // one byte an element
  const wpeRows = (4096 - 2048) * TINY.hidden;

  it.each([
    ['torchtitan (FSDP2: fp32 shards)', 'torchtitan' as const, 4],
    ["deepspeed (ZeRO-3's bf16 partition)", 'deepspeed' as const, 2],
  ])('%s: the mask stays whole on every rank, wpe is sharded', (_, preset, bytes) => {
    expect(weightsAtStep(preset, 4096) - weightsAtStep(preset, 2048)).toBe(
      mask + (wpeRows * bytes) / 8,
    );
  });
});
