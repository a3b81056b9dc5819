import { normalizeRequest, PlanRequestInput } from '../request/normalize';
import { InferenceSettings, ModelArchitecture, PlanRequest } from '../vocabulary';
import { H100_SXM, H200 } from '../../../test/support/gpus';
import { deepseekV3, llama2_7b, llama3_8b, whisperLargeV3 } from './architectures.fixture';
import { planInference } from './inference-plan';

const MIB = 1024 ** 2;

const h100 = H100_SXM;
const h200 = H200;

function request(
  inference: Partial<InferenceSettings>,
  extra: Partial<PlanRequestInput> = {},
): PlanRequest {
  return normalizeRequest({
    model: 'test',
    cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 1 },
    workload: 'inference',
    inference,
    ...extra,
  });
}

function plan(
  arch: ModelArchitecture,
  inference: Partial<InferenceSettings>,
  extra = {},
  gpu = h100,
) {
  return planInference(request(inference, extra), arch, gpu);
}

describe('Llama-3-8B in bf16 on one H100, batch 1, 1,024 prompt + 256 output tokens', () => {
  const result = plan(llama3_8b, { batchSize: 1, promptLength: 1024, outputLength: 256 });
  const rank = result.memory.perGpu;
  const weights = 2 * 8030261248;
  const kvCache = 131072 * (1024 + 256);
  const layerTokenBytes = 2 * (2 * 4096 + 3 * 14336); // residual, normed input, gated MLP
  const activations = 1024 * layerTokenBytes;
  const logits = 128256 * 4;

  it('breaks the memory down into weights, KV cache, one layer of activations and logits', () => {
    expect(rank.breakdown).toEqual({
      weights,
      gradients: 0,
      optimizerStates: 0,
      masterWeights: 0,
      kvCache,
      activations,
      logitsAndLoss: logits,
      buffers: 0,
      runtimeOverhead: 512 * MIB, // CUDA context; no NCCL on a single GPU
    });
    const allocated = weights + kvCache + activations + logits;
    expect(rank.allocatedPeakBytes).toBe(allocated);
    expect(rank.reservedPeakBytes).toBe(Math.ceil(allocated * 1.06));
    expect(rank.deviceUsedBytes).toBe(Math.ceil(allocated * 1.06) + 512 * MIB);
    expect(rank.headroomBytes).toBe(81559 * MIB - 1024 * MIB - rank.deviceUsedBytes);
    expect(rank.fits).toBe(true);
    expect(rank.dominantComponent).toBe('weights');
    expect(rank.breakdownGiB.weights).toBe(Math.round((weights / 2 ** 30) * 1000) / 1000);
    expect(result.memory.ranks).toHaveLength(1);
  });
  it('reports 128 KiB of cache per token and no trainable parameters', () => {
    expect(result.inference?.kvCacheBytesPerToken).toBe(131072);
    expect(result.model.parameters).toEqual({
      total: 8030261248,
      trainable: 0,
      active: 8030261248,
    });
  });
  it('decode is memory-bound: weights plus the cache at the mean context (1,152 tokens) over 3.35 TB/s', () => {
    expect(result.performance.timePerOutputTokenSeconds).toBeCloseTo(
      (weights + 131072 * (1024 + 128)) / 3.35e12,
      12,
    );
  });
  it('prefill is compute-bound at 40% of 989 TFLOP/s', () => {
    const layers = 32 * (218103808 + 8192);
    const flops = 2 * layers * 1024 + 2 * 128256 * 4096 + 32 * ((1024 * 1024) / 2) * (2 * 32 * 256);
    expect(result.performance.timeToFirstTokenSeconds).toBeCloseTo(flops / (989e12 * 0.4), 12);
  });
  it("throughput over the batch life and cost per million output tokens at the card's price", () => {
    const ttft = result.performance.timeToFirstTokenSeconds as number;
    const tpot = result.performance.timePerOutputTokenSeconds as number;
    const tokensPerSecond = 256 / (ttft + 255 * tpot);
    expect(result.performance.tokensPerSecond).toBeCloseTo(tokensPerSecond, 9);
    expect(result.inference?.tokensPerSecondPerGpu).toBeCloseTo(tokensPerSecond, 9);
    expect(result.inference?.usdPerMillionOutputTokens).toBeCloseTo(
      (h100.pricePerGpuHour / (tokensPerSecond * 3600)) * 1e6,
      9,
    );
    expect(result.cost.clusterPerHour).toBe(h100.pricePerGpuHour); // one GPU
  });
});

describe('largest batch and longest context that fit', () => {
  const lengths = { promptLength: 1024, outputLength: 256 };

  it('the largest batch solves weights + B x (cache + activations + logits) within the usable memory', () => {
    const result = plan(llama3_8b, { batchSize: 1, ...lengths });
    const perSequence = 131072 * 1280 + 1024 * 2 * (2 * 4096 + 3 * 14336) + 128256 * 4;
    const allocatable = (81559 * MIB - 1024 * MIB - 512 * MIB) / 1.06;
    const expected = Math.floor((allocatable - 2 * 8030261248) / perSequence);
    expect(result.inference?.maxBatchSize).toBe(expected);
    expect(plan(llama3_8b, { batchSize: expected, ...lengths }).memory.perGpu.fits).toBe(true);
    expect(plan(llama3_8b, { batchSize: expected + 1, ...lengths }).memory.perGpu.fits).toBe(false);
  });
  it('an fp8 KV cache raises the largest batch', () => {
    const bf16 = plan(llama3_8b, { ...lengths, kvCacheDtype: 'bf16' }).inference!.maxBatchSize;
    const fp8 = plan(llama3_8b, { ...lengths, kvCacheDtype: 'fp8' }).inference!.maxBatchSize;
    expect(fp8).toBeGreaterThan(bf16);
  });
  it('the longest context at batch 64 fits and one more token does not', () => {
    const result = plan(llama3_8b, { batchSize: 64, ...lengths });
    const context = result.inference!.maxContextLength;
    expect(context).toBeGreaterThan(256);
    expect(context).toBeLessThan(8192);
    const at = (prompt: number) =>
      plan(llama3_8b, { batchSize: 64, promptLength: prompt, outputLength: 256 }).memory.perGpu
        .fits;
    expect(at(context - 256)).toBe(true);
    expect(at(context - 256 + 1)).toBe(false);
  });
  it('stops at max_position_embeddings when memory is not the limit', () => {
    expect(plan(llama3_8b, { batchSize: 1, ...lengths }).inference?.maxContextLength).toBe(8192);
  });
  it('a model that cannot fit reports zero and says so', () => {
    const result = plan(
      llama2_7b,
      { weightPrecision: 'fp32', ...lengths },
      {},
      {
        ...h100,
        memoryBytes: 24 * 1024 * MIB,
      },
    );
    expect(result.memory.perGpu.fits).toBe(false);
    expect(result.inference?.maxBatchSize).toBe(0);
    expect(result.inference?.maxContextLength).toBe(0);
    expect(result.warnings.join(' ')).toContain('does not fit');
  });
});

describe('parallel serving layouts', () => {
  const extra = {
    cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 },
    parallelism: { tensorParallel: 2, pipelineParallel: 2 },
  };
  const result = plan(llama3_8b, { batchSize: 4, promptLength: 1024, outputLength: 1024 }, extra);

  it('two replicas of 2 x 2 GPUs, one rank per pipeline stage', () => {
    expect(result.layout.dataParallel).toBe(2);
    expect(result.memory.ranks.map((r) => r.layers)).toEqual([16, 16]);
  });
  it('each rank caches its 16 layers and 4 of 8 KV heads; the head and logits sit on the last stage', () => {
    const [first, last] = result.memory.ranks;
    expect(first.breakdown.kvCache).toBe(16 * 2048 * 4 * (2 * 4 * 128 * 2));
    expect(first.breakdown.logitsAndLoss).toBe(0);
    expect(last.breakdown.logitsAndLoss).toBe(4 * 128256 * 4);
    // CUDA context plus NCCL buffers for the tensor and the pipeline group
    expect(first.breakdown.runtimeOverhead).toBe(512 * MIB + 2 * 256 * MIB);
  });
  it('stages hold half the layers each at half width, plus the embedding or the head', () => {
    const [first, last] = result.memory.ranks;
    const halfLayers = 16 * ((218103808 / 2 + 8192) * 2);
    expect(first.breakdown.weights).toBe(halfLayers + (128256 / 2) * 4096 * 2);
    expect(last.breakdown.weights).toBe(halfLayers + (128256 / 2) * 4096 * 2 + 4096 * 2);
  });
  it('decode reads both stages in turn and all-reduces 4 x 4,096 bf16 values twice per layer', () => {
    const [first, last] = result.memory.ranks;
    const cacheAtMeanContext = 32 * (1024 + 512) * 4 * (2 * 4 * 128 * 2);
    const allReduce = (4 * 4096 * 2 * 2 * (2 - 1)) / 2 / 450e9; // ring over 2 GPUs
    expect(result.performance.timePerOutputTokenSeconds).toBeCloseTo(
      (first.breakdown.weights + last.breakdown.weights + cacheAtMeanContext) / 3.35e12 +
        64 * allReduce,
      12,
    );
    expect(result.performance.exposedCommunicationSeconds).toBeCloseTo(64 * allReduce, 15);
  });
  it('int4 weights keep the embedding and head in 16 bits', () => {
    const int4 = plan(llama3_8b, { weightPrecision: 'int4' }, extra);
    const linear = 16 * (218103808 / 2) * 0.515625;
    expect(int4.memory.ranks[0].breakdown.weights).toBe(
      linear + (16 * 8192 + (128256 / 2) * 4096) * 2,
    );
    expect(int4.assumptions.join(' ')).toContain('stay in 16 bits');
  });
});

describe('DeepSeek-V3 in fp8 with tensor parallel 8', () => {
  const extra = {
    cluster: { gpu: 'h200', nodes: 1, gpusPerNode: 8 },
    parallelism: { tensorParallel: 8 },
  };
  const inference = { weightPrecision: 'fp8' as const, batchSize: 1 };

  it('caches 70,272 bytes per token of MLA latent on every rank', () => {
    const result = plan(deepseekV3, inference, extra, h200);
    expect(result.inference?.kvCacheBytesPerToken).toBe(61 * (512 + 64) * 2);
    expect(result.memory.perGpu.breakdown.kvCache).toBe(61 * (512 + 64) * 2 * (1024 + 256));
  });
  it('fits on eight H200s, not on eight H100s (671B fp8 weights are about 84 GB per GPU)', () => {
    expect(plan(deepseekV3, inference, extra, h200).memory.perGpu.fits).toBe(true);
    expect(plan(deepseekV3, inference, extra, h100).memory.perGpu.fits).toBe(false);
  });
});

describe('chunked prefill bounds the working set, not the cache', () => {
  // Llama-3-8B layer working set per token: residual and normed input 2h, gated MLP 3f.
  const perTokenBytes = (2 * 4096 + 3 * 14336) * 2;
  const shape = { batchSize: 16, promptLength: 4096, outputLength: 256 };
  const whole = plan(llama3_8b, shape);
  const chunked = plan(llama3_8b, { ...shape, prefillChunkTokens: 8192 });
  it('16 prompts of 4,096 prefill 65,536 tokens at once, or 8,192 a forward', () => {
    expect(whole.memory.perGpu.breakdown.activations).toBe(16 * 4096 * perTokenBytes);
    expect(chunked.memory.perGpu.breakdown.activations).toBe(8192 * perTokenBytes);
  });
  it('every sequence still holds its full-context KV cache', () => {
    expect(chunked.memory.perGpu.breakdown.kvCache).toBe(whole.memory.perGpu.breakdown.kvCache);
  });
  it('says which it assumed', () => {
    expect(chunked.assumptions.join(' ')).toContain('at most 8192 prompt tokens per forward');
  });
});

describe('a vision-language model served', () => {
  it('says the image encoder is counted in the weights but its activations are not planned', () => {
    const tower = {
      kind: 'pixtral',
      layers: 24,
      hiddenSize: 1024,
      intermediateSize: 4096,
      heads: 16,
      patchSize: 14,
      imageSize: 1540,
      patchesPerImage: 12100,
      tokensPerImage: 3025,
      norm: 'rmsnorm' as const,
      mlp: 'gated' as const,
      attentionBias: false,
      mlpBias: false,
      embeddingParameters: 0,
      projector: [],
      projectorNormParameters: 0,
    };
    const served = plan({ ...llama3_8b, vision: tower }, { batchSize: 1, promptLength: 1024 });
    expect(served.assumptions.join('\n')).toContain(
      'pixtral image encoder (24 layers) counted in the weights; its activations are not planned for serving',
    );
    expect(plan(llama3_8b, { batchSize: 1 }).assumptions.join('\n')).not.toContain('image encoder');
  });
});

describe('Whisper large-v3 served: its encoder over 1,500 frames, its decoder over the text', () => {
  // d_model 1,280, 32 encoder and 32 decoder layers of 20 heads of 64, FFN 5,120, 128 mel bins
  const whisper = whisperLargeV3;
  const served = { batchSize: 16, promptLength: 4, outputLength: 200 };
  const rank = plan(whisper, served).memory.perGpu;

  it("caches the text's tokens and the 1,500 frames' cross-attention keys and values in every decoder layer", () => {
    // K and V of 20 heads x 64 (2 x 1,280) in bf16, 32 decoder layers, (4 + 200) + 1,500 tokens
    expect(rank.breakdown.kvCache).toBe(16 * 32 * 2 * 1280 * 2 * (4 + 200 + 1500));
  });

  it("prefills the encoder over every request's frames: residual, normed input and the MLP's 2 x 5,120", () => {
    const perFrame = 2 * 1280 + 2 * 5120; // elements, in 16 bits
    expect(rank.breakdown.activations).toBe(16 * 1500 * perFrame * 2);
  });

  it('decodes through the decoder alone, against the text and the frames', () => {
    // A decoder layer: self- and cross-attention (q, k, v, o of 1,280^2; q, v and o biased),
    // fc1 and fc2 with biases, three LayerNorms: 26,236,160 parameters, 32 of them.
    const attention = 4 * 1280 * 1280 + 3 * 1280;
    const decoderLayer = 2 * attention + (2 * 1280 * 5120 + 5120 + 1280) + 3 * 2 * 1280;
    expect(decoderLayer).toBe(26_236_160);
    const head = 2 * 51866 * 1280; // the tied projection on the last position
    // one query against the mean context's 4 + 100 tokens and the 1,500 frames in each layer,
    // 2 x 20 heads x (64 + 64) FLOPs a pair
    const pairs = 32 * (4 + 100 + 1500) * 2 * 20 * (64 + 64);
    expect(plan(whisper, served).performance.flopsPerToken).toBe(
      2 * 32 * decoderLayer + head + pairs,
    );
  });
});
