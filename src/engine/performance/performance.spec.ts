import { llama3_8b } from '../inference/architectures.fixture';
import { architectureFromConfig } from '../model/architecture';
import { estimatePerformance, trainingFlopsPerToken } from './performance';
import { normalizeRequest, PlanRequestInput } from '../request/normalize';
import { PlanLayout, PlanRequest } from '../vocabulary';
import { H100_SXM } from '../../../test/support/gpus';

const h100 = H100_SXM;

// Llama-3-8B: 8,030,261,248 parameters, 32 layers, hidden 4096 (Meta's config.json).
const P = 8_030_261_248;
const L = 32;
const h = 4096;
const s = 4096;
const params = { total: P, active: P, trainable: P };

function requestOf(input: Omit<PlanRequestInput, 'model'>): PlanRequest {
  return normalizeRequest({ model: 'llama-3-8b', ...input });
}

function layoutOf(r: PlanRequest): PlanLayout {
  const gpus = r.cluster.nodes * r.cluster.gpusPerNode;
  const {
    tensorParallel: t,
    pipelineParallel: p,
    contextParallel: c,
    expertParallel: e,
  } = r.parallelism;
  return {
    gpus,
    nodes: r.cluster.nodes,
    gpusPerNode: r.cluster.gpusPerNode,
    dataParallel: gpus / (t * p * c),
    tensorParallel: t,
    pipelineParallel: p,
    contextParallel: c,
    expertParallel: e,
  };
}

function perf(input: Omit<PlanRequestInput, 'model'>, counts = params) {
  const request = requestOf(input);
  return estimatePerformance(request, llama3_8b, h100, layoutOf(request), counts);
}

describe('FLOPs per token (PaLM appendix B: 6N + 12 L h s)', () => {
  const model = 6 * P + 12 * L * h * s; // 48,181,567,488 + 6,442,450,944

  it('Llama-3-8B at s = 4096: 54,624,018,432 model FLOPs per token', () => {
    const flops = trainingFlopsPerToken(
      requestOf({ cluster: { gpu: 'h100-80gb' } }),
      llama3_8b,
      params,
    );
    expect(model).toBe(54_624_018_432);
    expect(flops.model).toBe(model);
    expect(flops.hardware).toBe(model);
    // Backward is two thirds of it: 4P for the matmuls and 8 L h s for the attention core.
    expect(flops.backward).toBe(4 * P + 8 * L * h * s);
  });

  it('full recomputation adds one forward pass (2P + 4 L h s) of hardware FLOPs only', () => {
    const req = requestOf({
      cluster: { gpu: 'h100-80gb' },
      training: { activationCheckpointing: 'full' },
    });
    const flops = trainingFlopsPerToken(req, llama3_8b, params);
    expect(flops.model).toBe(model);
    expect(flops.hardware).toBe(model + 2 * P + 4 * L * h * s);
  });

  it("selective recomputation reruns every other matmul (P), not the attention core (torchtitan's op-level policy)", () => {
    const req = requestOf({
      cluster: { gpu: 'h100-80gb' },
      training: { activationCheckpointing: 'selective' },
    });
    expect(trainingFlopsPerToken(req, llama3_8b, params).hardware).toBe(model + P);
  });

  it('LoRA skips the frozen weight gradients: 4P + 6 P_lora + 12 L h s', () => {
    // q_proj r (4096 + 4096) + v_proj r (4096 + 1024) at r = 16, 32 layers = 6,815,744 adapters.
    const lora = 32 * 16 * (4096 + 4096 + 4096 + 1024);
    const req = requestOf({ cluster: { gpu: 'h100-80gb' }, training: { method: 'lora' } });
    const flops = trainingFlopsPerToken(req, llama3_8b, { active: P, trainable: lora });
    expect(lora).toBe(6_815_744);
    expect(flops.model).toBe(4 * P + 6 * lora + 12 * L * h * s);
  });

  it('counts the attention core only on layers that attend: a hybrid stack of LFM2 convolutions and attention', () => {
    // LFM2-1.2B's stack: 16 layers, six of them attention (32 heads of 64); the ten short
    // convolutions have no QK^T or AV.
    const lfm2 = architectureFromConfig('lfm2-1.2b', {
      model_type: 'lfm2',
      hidden_size: 2048,
      num_hidden_layers: 16,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      layer_types: [
        ...['conv', 'conv', 'full_attention', 'conv', 'conv', 'full_attention', 'conv', 'conv'],
        ...['full_attention', 'conv', 'full_attention', 'conv', 'full_attention', 'conv'],
        ...['full_attention', 'conv'],
      ],
    });
    const N = 1_170_340_608;
    const flops = trainingFlopsPerToken(requestOf({ cluster: { gpu: 'h100-80gb' } }), lfm2, {
      active: N,
      trainable: N,
    });
    // 6N, and 12 s a d_qk... per attending layer: 3 x 2 x 6 layers x s x 32 x (64 + 64)
    expect(flops.model).toBe(6 * N + 3 * 2 * 6 * s * 32 * (64 + 64));
  });

  it("DeBERTa-v3-base's relative position scores: c2p and p2c against 2 x 256 positions a token, the table through query_proj and key_proj once a sequence", () => {
    // microsoft/deberta-v3-base's config.json: 12 layers, hidden 768, 12 heads of 64,
    // position_buckets 256, share_att_key, pos_att_type p2c|c2p.
    const deberta = architectureFromConfig('deberta-v3-base', {
      model_type: 'deberta-v2',
      hidden_size: 768,
      num_hidden_layers: 12,
      num_attention_heads: 12,
      intermediate_size: 3072,
      vocab_size: 128100,
      relative_attention: true,
      position_buckets: 256,
      share_att_key: true,
      pos_att_type: 'p2c|c2p',
      norm_rel_ebd: 'layer_norm',
      position_biased_input: false,
    });
    const N = 183_831_552; // DebertaV2Model, counted in architecture.spec
    const seq = 512;
    const request = requestOf({
      cluster: { gpu: 'h100-80gb' },
      training: { sequenceLength: seq },
    });
    const flops = trainingFlopsPerToken(request, deberta, { active: N, trainable: N });
    const core = 2 * seq * 12 * (64 + 64); // QK^T and AV a layer
    const scores = 2 * 2 * 512 * 768; // q against 512 positions' keys, k against their queries
    const table = (2 * 2 * 512 * 768 * 768) / seq; // two projections of 512 rows, per token
    expect(flops.model).toBe(6 * N + 3 * 12 * (core + scores + table));
  });

  it("DeBERTa-v1's (microsoft/deberta-base): only the 2 x min(s, 512) rows of its 1,024-row table the sequence reaches (att_span), through pos_proj and pos_q_proj", () => {
    const deberta = architectureFromConfig('deberta-base', {
      model_type: 'deberta',
      relative_attention: true,
      pos_att_type: 'c2p|p2c',
      position_biased_input: false,
    });
    const N = 138_601_728; // DebertaModel, counted in architecture.spec
    const flopsAt = (seq: number) =>
      trainingFlopsPerToken(
        requestOf({ cluster: { gpu: 'h100-80gb' }, training: { sequenceLength: seq } }),
        deberta,
        { active: N, trainable: N },
      ).model;
    const perToken = (seq: number, rows: number) => {
      const core = 2 * seq * 12 * (64 + 64); // QK^T and AV a layer
      const scores = 2 * 2 * rows * 768; // q against the rows' keys, k against their queries
      const table = (2 * 2 * rows * 768 * 768) / seq; // pos_proj and pos_q_proj over the rows
      return 6 * N + 3 * 12 * (core + scores + table);
    };
    expect(flopsAt(256)).toBe(perToken(256, 512)); // att_span 256: rows 256 - 256 to 256 + 256
    expect(flopsAt(512)).toBe(perToken(512, 1024)); // the whole table
  });

  it("Whisper's (whisper-tiny, WhisperConfig's defaults): the encoder's 1,500 frames a sample whatever the text, so per text token its weights work 1,500 / s times and its attention spans the frames", () => {
    const whisper = architectureFromConfig('whisper-tiny', { model_type: 'whisper' });
    const N = 37_760_640; // counted term by term in families.spec
    const hd = 384;
    const frames = 1500;
    const encoderLayer = 4 * hd * hd + 3 * hd + (hd * 1536 + 1536 + 1536 * hd + hd) + 4 * hd;
    const conv1 = 80 * hd * 3; // over 2 x 1,500 frames
    const conv2 = hd * hd * 3; // over 1,500 (stride 2)
    const flopsAt = (seq: number) =>
      trainingFlopsPerToken(
        requestOf({ cluster: { gpu: 'h100-80gb' }, training: { sequenceLength: seq } }),
        whisper,
        { active: N, trainable: N - frames * hd },
      ).model;
    const perToken = (seq: number) => {
      const r = frames / seq;
      // the encoder's layers and its closing layer_norm work on every frame
      const encoder = 4 * encoderLayer + 2 * hd;
      const active = N + (encoder + conv2) * (r - 1) + conv1 * (2 * r - 1);
      // QK^T and AV: 2 x heads x (d_qk + d_v) a key; the decoder's 4 layers over s and over the
      // frames (cross-attention), the encoder's 4 over the frames for frames / s queries a token
      const perKey = 2 * 6 * (64 + 64);
      const core = perKey * (4 * (seq + frames) + 4 * frames * r);
      return 6 * active + 3 * core; // full fine-tuning: 6 FLOPs a weight, 3 x the core's forward
    };
    expect(flopsAt(448)).toBe(perToken(448));
    expect(flopsAt(64)).toBe(perToken(64));
    // the encoder's work does not shrink with the text: per step, a shorter text costs more
    // than its share of tokens
    expect(64 * flopsAt(64)).toBeGreaterThan((64 / 448) * 448 * flopsAt(448));
  });
});

describe('step time', () => {
  const model = 6 * P + 12 * L * h * s;

  it('one GPU: tokens x FLOPs / (peak x MFU), nothing exposed, achieved MFU = the input MFU', () => {
    const result = perf({ cluster: { gpu: 'h100-80gb' }, runtime: { mfu: 0.4 } });
    const seconds = (4096 * model) / (989e12 * 0.4); // 0.5656 s
    expect(result.tokensPerStep).toBe(4096);
    expect(result.flopsPerToken).toBe(model);
    expect(result.stepTimeSeconds).toBeCloseTo(seconds, 12);
    expect(result.tokensPerSecond).toBeCloseTo(4096 / seconds, 6);
    expect(result.exposedCommunicationSeconds).toBe(0);
    expect(result.mfu).toBeCloseTo(0.4, 12);
  });

  it('full recomputation lowers achieved MFU by model / hardware FLOPs', () => {
    const result = perf({
      cluster: { gpu: 'h100-80gb' },
      training: { activationCheckpointing: 'full' },
      runtime: { mfu: 0.5 },
    });
    const hardware = model + 2 * P + 4 * L * h * s;
    expect(result.stepTimeSeconds).toBeCloseTo((4096 * hardware) / (989e12 * 0.5), 12);
    expect(result.mfu).toBeCloseTo((0.5 * model) / hardware, 12); // 0.5 x 3/4 = 0.375
  });

  it('tokens per step = micro-batch x sequence x accumulation x data parallel', () => {
    const result = perf({
      cluster: { gpu: 'h100-80gb', nodes: 2, gpusPerNode: 8 },
      training: { microBatchSize: 2, gradientAccumulationSteps: 4, sequenceLength: 4096 },
      parallelism: { tensorParallel: 2 },
    });
    expect(result.tokensPerStep).toBe(2 * 4096 * 4 * 8);
    expect(result.tokensPerSecondPerGpu).toBeCloseTo(result.tokensPerSecond / 16, 9);
  });

  it('DDP inside one node: the gradient all-reduce (2 x 2P x 7/8 / 450 GB/s) hides behind backward', () => {
    const result = perf({
      cluster: { gpu: 'h100-80gb', gpusPerNode: 8 },
      parallelism: { zeroStage: 0 },
    });
    const allReduce = (2 * 2 * P * (7 / 8)) / 450e9; // 0.0625 s
    const backward = ((4096 * model) / (989e12 * 0.4)) * (2 / 3); // 0.377 s
    expect(allReduce).toBeLessThan(backward);
    expect(result.exposedCommunicationSeconds).toBe(0);
    expect(result.stepTimeSeconds).toBeCloseTo((4096 * model) / (989e12 * 0.4), 12);
  });

  it('DeepSpeed optimizer offload: gradient shard down and weights up over PCIe, then the node streams 28 bytes a parameter through host memory', () => {
    const input = (optimizer: 'cpu' | 'none') => ({
      cluster: { gpu: 'h100-80gb', gpusPerNode: 8 },
      parallelism: { zeroStage: 2 as const, offload: { optimizer } },
      runtime: { preset: 'deepspeed' as const },
    });
    const offloaded = perf(input('cpu'));
    const pcie = ((P / 8) * (2 + 2)) / 25e9; // 0.161 s
    // fp32 master and two fp32 moments in and out, the bf16 gradient in, the bf16 copy out.
    const hostAdam = ((P / 8) * 8 * (2 * 4 + 2 * 8 + 2 + 2)) / 200e9; // 1.124 s for the node
    expect(offloaded.hostOptimizerSeconds).toBeCloseTo(hostAdam, 12);
    expect(offloaded.stepTimeSeconds - perf(input('none')).stepTimeSeconds).toBeCloseTo(
      pcie + hostAdam,
      12,
    );
  });

  it('a pure-bf16 offloaded AdamW streams 14 bytes a parameter: bf16 weight and moments in and out, gradient in', () => {
    const result = perf({
      cluster: { gpu: 'h100-80gb', gpusPerNode: 4 },
      training: { precision: 'bf16-pure' },
      parallelism: { zeroStage: 3, offload: { optimizer: 'cpu', parameters: 'cpu' } },
      runtime: { dataParallelEngine: 'pytorch' },
    });
    expect(result.hostOptimizerSeconds).toBeCloseTo(
      ((P / 4) * 4 * (2 * 2 + 2 * 4 + 2)) / 200e9,
      12,
    );
  });

  it('no offload, no host step', () => {
    expect(perf({ cluster: { gpu: 'h100-80gb', gpusPerNode: 8 } }).hostOptimizerSeconds).toBe(0);
  });

  it('ZeRO-3 across two nodes is bound by 3 x 2P x 15/16 over 50 GB/s InfiniBand', () => {
    const result = perf({
      cluster: { gpu: 'h100-80gb', nodes: 2, gpusPerNode: 8 },
      parallelism: { zeroStage: 3 },
      runtime: { interNodeBandwidthBytesPerSecond: 50e9 },
    });
    const traffic = (3 * 2 * P * (15 / 16)) / 50e9; // two all-gathers and a reduce-scatter: 0.903 s
    const compute = (16 * 4096 * model) / (16 * 989e12 * 0.4); // 0.566 s
    expect(result.exposedCommunicationSeconds).toBeCloseTo(traffic - compute, 9);
    expect(result.stepTimeSeconds).toBeCloseTo(traffic, 9);
  });

  it('ZeRO-3 gathers for forward hide only behind forward, even where backward has room', () => {
    // Full recompute: forward 2P + 4Lhs, backward 4P + 8Lhs plus the recomputed 2P + 4Lhs.
    const result = perf({
      cluster: { gpu: 'h100-80gb', nodes: 2, gpusPerNode: 8 },
      training: { activationCheckpointing: 'full' },
      parallelism: { zeroStage: 3 },
      runtime: { interNodeBandwidthBytesPerSecond: 70e9 },
    });
    const perGpuRate = 989e12 * 0.4;
    const forward = (4096 * (2 * P + 4 * L * h * s)) / perGpuRate; // 0.1885 s
    const backward = (4096 * (6 * P + 12 * L * h * s)) / perGpuRate; // 0.5656 s
    const gather = (2 * P * (15 / 16)) / 70e9; // 0.2151 s before forward, again before backward
    expect(2 * gather).toBeLessThan(backward);
    expect(result.exposedCommunicationSeconds).toBeCloseTo(gather - forward, 12);
    expect(result.stepTimeSeconds).toBeCloseTo(forward + backward + gather - forward, 12);
  });

  it('ZeRO-1 all-gathers the updated weights after the step, where nothing hides it', () => {
    const result = perf({
      cluster: { gpu: 'h100-80gb', gpusPerNode: 8 },
      parallelism: { zeroStage: 1 },
    });
    expect(result.exposedCommunicationSeconds).toBeCloseTo((2 * P * (7 / 8)) / 450e9, 12);
  });

  it("ZeRO-1 gathers only what the optimizer updated: a frozen table (Marian's positions) or a buffer is never sent", () => {
    const frozen = 100_000_000;
    const result = perf(
      { cluster: { gpu: 'h100-80gb', gpusPerNode: 8 }, parallelism: { zeroStage: 1 } },
      { total: P, active: P, trainable: P - frozen },
    );
    expect(result.exposedCommunicationSeconds).toBeCloseTo(
      (2 * (P - frozen) * (7 / 8)) / 450e9,
      12,
    );
  });

  it('the pipeline bubble (p - 1) / (m + p - 1) stretches the compute', () => {
    const result = perf({
      cluster: { gpu: 'h100-80gb', gpusPerNode: 4 },
      training: { gradientAccumulationSteps: 8 },
      parallelism: { pipelineParallel: 4 },
    });
    expect(result.pipelineBubbleFraction).toBeCloseTo(3 / 11, 12);
    const compute = (8 * 4096 * model) / (4 * 989e12 * 0.4);
    expect(result.stepTimeSeconds).toBeCloseTo(compute / (1 - 3 / 11), 12);
  });

  it('tensor parallel: 4 all-reduces of b s h x 2 bytes per layer, ring factor 2 (t - 1) / t', () => {
    const result = perf({
      cluster: { gpu: 'h100-80gb', gpusPerNode: 8 },
      parallelism: { tensorParallel: 8 },
    });
    const tp = (32 * 4 * 4096 * 4096 * 2 * ((2 * 7) / 8)) / 450e9; // 0.0336 s, never hidden
    const compute = (4096 * model) / (8 * 989e12 * 0.4);
    expect(result.exposedCommunicationSeconds).toBeCloseTo(tp, 12);
    expect(result.stepTimeSeconds).toBeCloseTo(compute + tp, 12);
  });
  it('context parallel: ring attention K/V traffic shows only where the attention core cannot hide it', () => {
    // Each layer passes a 2,048-token K/V chunk (8 KV heads x 128 x 2 bytes x 2) once forward and
    // 2x backward: 3 x 2048 x 2048 x 2 = 25,165,824 bytes; the attention core takes
    // 3 x 2048 tokens x 4 x 4096 x 4096 FLOPs (4 L h s per layer) at 989 TFLOP/s x 0.4.
    const ring = 3 * 2048 * 2 * 8 * 128 * 2;
    const attention = (3 * 2048 * 4 * 4096 * 4096) / (989e12 * 0.4);
    const inNode = perf({
      cluster: { gpu: 'h100-80gb', gpusPerNode: 2 },
      parallelism: { contextParallel: 2 },
    });
    expect(ring / 450e9).toBeLessThan(attention);
    expect(inNode.exposedCommunicationSeconds).toBe(0);
    const slowLink = perf({
      cluster: { gpu: 'h100-80gb', nodes: 2, gpusPerNode: 1 },
      parallelism: { contextParallel: 2 },
      runtime: { interNodeBandwidthBytesPerSecond: 1e9 },
    });
    // The two context ranks also all-reduce gradients (2 x 2P x 1/2) behind backward (2/3 of compute).
    const model = 6 * P + 12 * L * h * s;
    const backward = ((4096 * model) / (2 * 989e12 * 0.4)) * (2 / 3);
    const gradients = (2 * 2 * P * (1 / 2)) / 1e9 - backward;
    expect(slowLink.exposedCommunicationSeconds).toBeCloseTo(
      32 * (ring / 1e9 - attention) + gradients,
      9,
    );
  });
});

describe("experts a token was not routed to (Llama-4's every-expert bmm)", () => {
  const E = 16;
  const k = 1;
  const hidden = 512;
  const f = 1024;
  const layers = 2;
  const llama4 = architectureFromConfig('llama4-spec', {
    model_type: 'llama4_text',
    hidden_size: hidden,
    intermediate_size: f,
    intermediate_size_mlp: 2 * f,
    num_local_experts: E,
    num_experts_per_tok: k,
    num_hidden_layers: layers,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    head_dim: 64,
    vocab_size: 1024,
    interleave_moe_layer_step: 1,
  });
  const routedOnly = { ...llama4, moe: { ...llama4.moe!, denseExperts: false } };
  // Each idle expert's gate, up and down projections (h x f each), E - k of them a layer.
  const unrouted = layers * (E - k) * 3 * hidden * f;
  const counts = { active: 1e9, trainable: 1e9 };
  const flopsOf = (input: Omit<PlanRequestInput, 'model'>) => {
    const request = requestOf(input);
    return [llama4, routedOnly].map((arch) => trainingFlopsPerToken(request, arch, counts));
  };

  it('adds their forward (2) and backward (4) per weight to the executed FLOPs, not the model FLOPs', () => {
    const [every, routed] = flopsOf({ cluster: { gpu: 'h100-80gb' } });
    expect(every.model).toBe(routed.model);
    expect(every.hardware - routed.hardware).toBe(6 * unrouted);
    expect(every.backward - routed.backward).toBe(4 * unrouted);
  });

  it('full recomputation runs their forward again; frozen under LoRA they skip the weight gradient', () => {
    const [every, routed] = flopsOf({
      cluster: { gpu: 'h100-80gb' },
      training: { activationCheckpointing: 'full' },
    });
    expect(every.hardware - routed.hardware).toBe(8 * unrouted);
    const [lora, loraRouted] = flopsOf({
      cluster: { gpu: 'h100-80gb' },
      training: { method: 'lora' },
    });
    expect(lora.hardware - loraRouted.hardware).toBe(4 * unrouted);
  });
});
