// Inference plans: per-stage serving memory, the largest batch and context that fit, and roofline
// latency, throughput and cost (docs/memory-model.md §0, §2 and §7).
import { countParameters } from '../model/parameters';
import { hasCrossAttention } from '../model/layers';
import { estimateCost } from '../performance/cost';
import { splitLayers, StageSpan, stageLabel } from '../model/placement';
import { sequenceLimit } from '../model/positions';
import { DEFAULT_INFERENCE } from '../request/normalize';
import { layoutOf } from '../request/layout';
import { allocatedTotal, summariseRank } from './rank-summary';
import { reservedBytes, runtimeOverheadBytes } from '../memory/runtime';
import {
  ENGINE_VERSION,
  GpuSpec,
  InferenceSettings,
  MemoryBreakdown,
  ModelArchitecture,
  PlanCost,
  PlanLayout,
  PlanPerformance,
  PlanRequest,
  PlanResult,
  RankMemory,
} from '../vocabulary';
import { kvCacheBytesPerToken, stageKvCacheBytes } from './kv-cache';
import {
  decodeFlopsPerToken,
  prefillFlops,
  ringAllReduceSeconds,
  rooflineSeconds,
  routedExpertReadFraction,
} from './roofline';
import { StageWeights, stageWeightBytes } from './weights';
import { lastPositionLogitsBytes, prefillWorkspaceBytes } from './workspace';

const GIB = 1024 ** 3;
/** Upper end of the batch search: far beyond any card's memory for a real model. */
const MAX_BATCH_SEARCHED = 1 << 24;

/** The lengths a memory figure is computed at. */
interface ServingShape {
  batch: number;
  promptLength: number;
  outputLength: number;
}

/** What a stage holds whatever the batch: its layers and its weights. */
interface StageStatic {
  span: StageSpan;
  weights: StageWeights;
}

/** A stage's components at its peak: every sequence's cache at full context (prompt + output) while
 * a batch of prompts prefills, as under continuous batching. */
function stageBreakdown(
  arch: ModelArchitecture,
  request: PlanRequest,
  inference: InferenceSettings,
  stage: StageStatic,
  shape: ServingShape,
  overhead: number,
): MemoryBreakdown {
  const t = request.parallelism.tensorParallel;
  const { span } = stage;
  return {
    weights: stage.weights.bytes,
    gradients: 0,
    optimizerStates: 0,
    masterWeights: 0,
    kvCache: stageKvCacheBytes(
      arch,
      span.firstLayer,
      span.layers,
      t,
      inference.kvCacheDtype,
      shape.batch,
      shape.promptLength + shape.outputLength,
    ),
    activations: prefillWorkspaceBytes(
      arch,
      span.firstLayer,
      span.layers,
      t,
      shape.batch,
      shape.promptLength,
      request.runtime.attention,
      inference.prefillChunkTokens,
    ),
    logitsAndLoss: span.hasHead ? lastPositionLogitsBytes(arch, shape.batch) : 0,
    buffers: 0,
    runtimeOverhead: overhead,
  };
}

function deviceUsedBytes(b: MemoryBreakdown, fragmentation: number): number {
  return reservedBytes(allocatedTotal(b), fragmentation) + b.runtimeOverhead;
}

/** One rank's figures; serving has no backward or optimizer phase, so every phase shows the
 * prefill-time peak and 'forward' is named the peak phase. */
function summariseStage(
  span: StageSpan,
  stages: number,
  breakdown: MemoryBreakdown,
  request: PlanRequest,
  gpu: GpuSpec,
): RankMemory {
  // Serving has one phase: the prefill peak with every sequence's cache allocated.
  const phases = { forward: breakdown, backward: { ...breakdown }, optimizer: { ...breakdown } };
  return summariseRank(
    stageLabel(span, stages),
    span.stage,
    span.layers,
    phases,
    request.runtime.allocatorFragmentation,
    gpu.memoryBytes,
    request.runtime.safetyMarginBytes,
    breakdown.weights,
  );
}

/** Largest n in [low, high] with `fits(n)`, given fits(low) and a monotone predicate. */
function largestFitting(low: number, high: number, fits: (n: number) => boolean): number {
  let good = low;
  let bad = high + 1;
  while (bad - good > 1) {
    const mid = Math.floor((good + bad) / 2);
    if (fits(mid)) good = mid;
    else bad = mid;
  }
  return good;
}

interface InferencePerformance {
  performance: PlanPerformance;
  cost: PlanCost;
  tokensPerSecondPerGpu: number;
  usdPerMillionOutputTokens: number;
}

/** Bytes one tensor-parallel group reads per forward: weights at a token count (prefill's, or a
 * decode step's, which leaves an encoder-decoder's encoder out), cache at a context. */
interface ServingReads {
  weightsRead: (tokens: number, step: 'prefill' | 'decode') => number;
  kvBytes: (context: number) => number;
}

/** What a forward over every pipeline stage reads from HBM per GPU. */
function servingReads(
  arch: ModelArchitecture,
  inference: InferenceSettings,
  layout: PlanLayout,
  stages: StageStatic[],
): ServingReads {
  const t = layout.tensorParallel;
  const moe = arch.moe;
  const expertShare = (tokens: number) =>
    moe ? routedExpertReadFraction(moe.numExperts, moe.expertsPerToken, tokens) : 1;
  // Pipeline stages run one after another for a batch: their bytes add up, only t GPUs compute.
  const weightsRead = (tokens: number, step: 'prefill' | 'decode') =>
    stages.reduce(
      (sum, s) =>
        sum +
        s.weights.bytes -
        s.weights.routedExpertBytes * (1 - expertShare(tokens)) -
        (step === 'decode' ? s.weights.encoderBytes : 0),
      0,
    );
  const kvBytes = (context: number) =>
    stages.reduce(
      (sum, s) =>
        sum +
        stageKvCacheBytes(
          arch,
          s.span.firstLayer,
          s.span.layers,
          t,
          inference.kvCacheDtype,
          inference.batchSize,
          context,
        ),
      0,
    );
  return { weightsRead, kvBytes };
}

/** Roofline time to first token and per output token, with what decode computes and communicates. */
interface ServingLatency {
  timeToFirstToken: number;
  timePerOutputToken: number;
  flopsPerToken: number;
  decodeCommunication: number;
}

/** What the serving figures are computed from: the model, the request and its inference
 * settings, the card, the layout and each pipeline stage's layers and weights. */
interface ServingCase {
  arch: ModelArchitecture;
  request: PlanRequest;
  inference: InferenceSettings;
  gpu: GpuSpec;
  layout: PlanLayout;
  stages: StageStatic[];
}

/** Roofline prefill and decode times of one batch. */
function servingLatency({
  arch,
  request,
  inference,
  gpu,
  layout,
  stages,
}: ServingCase): ServingLatency {
  const { batchSize: batch, promptLength, outputLength } = inference;
  const t = layout.tensorParallel;
  const { weightsRead, kvBytes } = servingReads(arch, inference, layout, stages);
  const bandwidth = gpu.intraNodeBandwidthBytesPerSecond;
  // Megatron tensor parallelism all-reduces the 16-bit hidden states twice per layer.
  const allReduces = 2 * arch.numLayers;
  const device = {
    parallelGpus: t,
    peakFlopsPerSecond: gpu.bf16FlopsPerSecond,
    efficiency: request.runtime.mfu,
    memoryBandwidthBytesPerSecond: gpu.memoryBandwidthBytesPerSecond,
  };

  const prefillCommunication =
    allReduces * ringAllReduceSeconds(batch * promptLength * arch.hiddenSize * 2, t, bandwidth);
  const timeToFirstToken = rooflineSeconds({
    ...device,
    flops: prefillFlops(arch, batch, promptLength),
    bytesReadPerGpu: weightsRead(batch * promptLength, 'prefill') + kvBytes(promptLength),
    communicationSeconds: prefillCommunication,
  });

  // Decode reads every weight (or the experts its tokens picked) and the cache at the mean context.
  const averageContext = promptLength + outputLength / 2;
  const flopsPerToken = decodeFlopsPerToken(arch, averageContext);
  const decodeCommunication =
    allReduces * ringAllReduceSeconds(batch * arch.hiddenSize * 2, t, bandwidth);
  const timePerOutputToken = rooflineSeconds({
    ...device,
    flops: batch * flopsPerToken,
    bytesReadPerGpu: weightsRead(batch, 'decode') + kvBytes(averageContext),
    communicationSeconds: decodeCommunication,
  });
  return { timeToFirstToken, timePerOutputToken, flopsPerToken, decodeCommunication };
}

/** Roofline prefill and decode times, throughput over a request's life, and cost. */
function servingPerformance(served: ServingCase): InferencePerformance {
  const { request, inference, gpu, layout } = served;
  const { batchSize: batch, outputLength } = inference;
  const latency = servingLatency(served);
  const { timeToFirstToken, timePerOutputToken } = latency;

  // A static batch's life: prefill yields the first token, each decode step one more per sequence.
  const requestSeconds = timeToFirstToken + (outputLength - 1) * timePerOutputToken;
  const tokensPerSecond = (layout.dataParallel * batch * outputLength) / requestSeconds;
  const tokensPerSecondPerGpu = tokensPerSecond / layout.gpus;
  // The training plan's prices at the output rate; serving has no run to budget.
  const noBudget = { ...request, training: { ...request.training, tokensToTrain: undefined } };
  const cost = estimateCost(noBudget, gpu, layout, { tokensPerSecond });
  const usdPerMillionOutputTokens = cost.usdPerMillionTokens;
  const p = layout.pipelineParallel;
  return {
    performance: {
      tokensPerStep: layout.dataParallel * batch,
      flopsPerToken: latency.flopsPerToken,
      stepTimeSeconds: timePerOutputToken,
      tokensPerSecond,
      tokensPerSecondPerGpu,
      mfu: request.runtime.mfu,
      exposedCommunicationSeconds: latency.decodeCommunication,
      hostOptimizerSeconds: 0,
      // Each stage works 1/p of a decode step and waits the rest (one batch in flight).
      pipelineBubbleFraction: (p - 1) / p,
      timeToFirstTokenSeconds: timeToFirstToken,
      timePerOutputTokenSeconds: timePerOutputToken,
    },
    cost,
    tokensPerSecondPerGpu,
    usdPerMillionOutputTokens,
  };
}

function servingAssumptions(
  request: PlanRequest,
  inference: InferenceSettings,
  arch: ModelArchitecture,
): string[] {
  const r = request.runtime;
  const group = inference.quantGroupSize;
  const precisions: Record<InferenceSettings['weightPrecision'], string> = {
    fp32: '4 bytes per weight',
    bf16: '2 bytes per weight',
    fp16: '2 bytes per weight',
    fp8: '1 byte per linear weight (block scales neglected)',
    int8: `1 + 2/${group} bytes per linear weight (one fp16 scale per group of ${group})`,
    int4: `0.5 + 2/${group} bytes per linear weight (one fp16 scale per group of ${group})`,
  };
  const quantised = ['fp8', 'int8', 'int4'].includes(inference.weightPrecision);
  return [
    `weights in ${inference.weightPrecision}: ${precisions[inference.weightPrecision]}` +
      (quantised ? '; embeddings, output head and norms stay in 16 bits' : ''),
    arch.mla
      ? 'KV cache: MLA latent (kv_lora_rank + qk_rope_head_dim) per token per layer, no K/V pair (DeepSeek-V2 paper); every tensor-parallel rank keeps the whole latent'
      : 'KV cache: 2 x layers x kv heads x head dim x tokens x bytes; kv heads split across tensor parallel (one replicated per rank when kv heads < tp)',
    `KV cache in ${inference.kvCacheDtype} for every sequence at its full context (prompt + output), as a serving engine reserves it`,
    ...(arch.slidingWindow
      ? [`sliding-window layers keep at most ${arch.slidingWindow} tokens (rolling buffer)`]
      : []),
    'activations: one layer working set (residual, normed input, larger of attention q/k/v/out and MLP intermediates) in 16 bits for ' +
      (inference.prefillChunkTokens
        ? `at most ${inference.prefillChunkTokens} prompt tokens per forward (chunked prefill)`
        : 'the whole prompt batch at once (no chunked prefill; inference.prefillChunkTokens sets a chunk)') +
      (r.attention === 'flash'
        ? ', flash attention (no score matrices)'
        : ', eager attention keeps scores and probabilities'),
    'logits: fp32 over the whole vocabulary for the last position of each sequence (sampling)',
    ...encoderDecoderServing(arch),
    ...servingGaps(arch),
    `allocator fragmentation ${(r.allocatorFragmentation * 100).toFixed(0)}% over allocated; CUDA context ${(r.cudaContextBytes / GIB).toFixed(2)} GiB, NCCL ${(r.ncclBytes / GIB).toFixed(2)} GiB per tensor/pipeline/expert group`,
    `safety margin ${(r.safetyMarginBytes / GIB).toFixed(2)} GiB kept free on every card`,
    `time to first token: prefill FLOPs (2 x active layer parameters per prompt token, causal attention, head on the last position) at ${(r.mfu * 100).toFixed(0)}% of peak bf16 (runtime.mfu), or the weight read if slower`,
    'time per output token: weights (experts actually routed to, uniform routing) and KV cache at the mean context read from HBM, or the FLOPs if slower, plus two ring all-reduces per layer over the intra-node link (latency per call not counted)',
    'pipeline stages run one after another for a batch (adds memory room, not speed); data-parallel replicas serve independently',
    'serving has no backward or optimizer phase: every phase total shows the prefill-time peak',
    'throughput over a static batch: batch x output tokens / (time to first token + (output - 1) x time per output token)',
    `largest batch at the given lengths; longest context (prompt + output, ${inference.outputLength} output tokens) at the given batch, up to ${contextCeiling(arch)} tokens (${sequenceLimit(arch)?.what ?? 'max_position_embeddings'})`,
  ];
}

/** How a served encoder-decoder runs: the encoder once, in prefill; decode steps run and read
 * the decoder alone. Whisper's encoder reads the audio's frames, which every decoder layer
 * caches for its cross-attention. */
function encoderDecoderServing(arch: ModelArchitecture): string[] {
  if (!arch.encoder) return [];
  const audio = arch.encoder.audio;
  const steps =
    'each decode step runs, and reads from HBM, the decoder alone (the encoder ran once, in prefill)';
  if (!audio) {
    return [
      `encoder-decoder: prefill runs the encoder over the prompt (every position against every other) and the decoder over its start token; each decoder layer caches its own tokens and the prompt's keys and values (cross-attention); ${steps}`,
    ];
  }
  return [
    `Whisper: the prompt is the decoder's (its special tokens), the audio every request's ${audio.frames} frames (30 s, padded by the feature extractor): each decoder layer's KV cache holds the text's tokens and the ${audio.frames} frames' cross-attention keys and values; prefill runs the encoder over the frames (both ways, unchunked), its output held while the decoder prefills the prompt; ${steps}`,
    'Whisper: the convolutions over the log-mel frames are counted in prefill FLOPs; their activations (below an encoder layer working set) are not planned',
  ];
}

/** What a serving plan leaves out of a vision-language model (training plans run the tower
 * for training.imagesPerSample images). */
function servingGaps(arch: ModelArchitecture): string[] {
  const gaps: string[] = [];
  if (arch.vision) {
    gaps.push(
      `${arch.vision.kind} image encoder (${arch.vision.layers} layers) counted in the weights; its activations are not planned for serving: the plan covers text tokens only`,
    );
  }
  if (hasCrossAttention(arch)) {
    gaps.push(
      "cross-attention layers' KV cache is planned as self-attention's over the text; the image keys and values they cache are not",
    );
  }
  return gaps;
}

function servingWarnings(
  request: PlanRequest,
  inference: InferenceSettings,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  worst: RankMemory,
  maxBatchSize: number,
): string[] {
  const warnings: string[] = [];
  if (!worst.fits) {
    warnings.push(
      `does not fit: ${worst.label} needs ${(worst.deviceUsedBytes / GIB).toFixed(1)} GiB of ${(gpu.memoryBytes / GIB).toFixed(1)} GiB; ${worst.dominantComponent} dominates`,
    );
  }
  if (maxBatchSize === 0) {
    warnings.push(
      'not even one sequence fits at these lengths: add GPUs to tensor or pipeline parallelism, or quantise',
    );
  }
  const context = inference.promptLength + inference.outputLength;
  // A fixed limit (a learned position table) is a 400 instead (validate.ts sequenceLimitErrors).
  if (context > arch.maxPositionEmbeddings && !sequenceLimit(arch)) {
    warnings.push(
      `prompt + output (${context}) exceeds the model's max_position_embeddings (${arch.maxPositionEmbeddings})`,
    );
  }
  if (!gpu.fp8 && (inference.weightPrecision === 'fp8' || inference.kvCacheDtype === 'fp8')) {
    warnings.push(`${gpu.name} has no fp8 tensor cores: fp8 saves memory but is upcast to compute`);
  }
  if (request.parallelism.contextParallel > 1) {
    warnings.push('contextParallel is ignored for inference plans');
  }
  if (request.parallelism.zeroStage > 0) {
    warnings.push(
      'zeroStage applies to training only; serving replicas hold whole copies of their shards',
    );
  }
  return warnings;
}

/** Each pipeline stage's layers and the weights it holds. */
function servingStages(
  arch: ModelArchitecture,
  inference: InferenceSettings,
  layout: PlanLayout,
): StageStatic[] {
  return splitLayers(arch.numLayers, layout.pipelineParallel).map((span) => ({
    span,
    weights: stageWeightBytes(
      arch,
      span,
      layout,
      inference.weightPrecision,
      inference.quantGroupSize,
    ),
  }));
}

/** Largest batch that fits at the asked lengths (0 when not even one sequence does). */
function largestBatch(
  inference: InferenceSettings,
  fitsAt: (shape: ServingShape) => boolean,
): number {
  const atLengths = (batch: number) => fitsAt({ ...inference, batch });
  if (!atLengths(1)) return 0;
  let high = 1;
  while (high < MAX_BATCH_SEARCHED && atLengths(high * 2)) high *= 2;
  return largestFitting(high, Math.min(high * 2, MAX_BATCH_SEARCHED), atLengths);
}

/** The longest context a search may try: the model code's fixed limit (positions.ts), else
 * max_position_embeddings (RoPE runs past it, with a warning). */
function contextCeiling(arch: ModelArchitecture): number {
  return sequenceLimit(arch)?.tokens ?? arch.maxPositionEmbeddings;
}

/** Longest context (prompt + output) that fits at the asked batch, up to contextCeiling. */
function longestContext(
  arch: ModelArchitecture,
  inference: InferenceSettings,
  fitsAt: (shape: ServingShape) => boolean,
): number {
  // Longer contexts lengthen the prompt; the output length stays as asked.
  const atContext = (context: number) =>
    fitsAt({
      batch: inference.batchSize,
      promptLength: context - inference.outputLength,
      outputLength: inference.outputLength,
    });
  const shortest = inference.outputLength + 1;
  const longest = Math.max(shortest, contextCeiling(arch));
  return atContext(shortest) ? largestFitting(shortest, longest, atContext) : 0;
}

/** Plans serving a model: memory per pipeline stage, the largest batch and context that fit,
 * roofline latency, throughput and cost. */
export function planInference(
  normalized: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
): PlanResult {
  const inference = normalized.inference ?? DEFAULT_INFERENCE;
  const request: PlanRequest = { ...normalized, inference };
  const layout = layoutOf(request, 1);
  const overhead = runtimeOverheadBytes(request, layout, false);
  const stageCount = layout.pipelineParallel;
  const stages = servingStages(arch, inference, layout);

  const breakdownsAt = (shape: ServingShape) =>
    stages.map((stage) => stageBreakdown(arch, request, inference, stage, shape, overhead));
  const usable = gpu.memoryBytes - request.runtime.safetyMarginBytes;
  const fitsAt = (shape: ServingShape) =>
    breakdownsAt(shape).every(
      (b) => deviceUsedBytes(b, request.runtime.allocatorFragmentation) <= usable,
    );

  const ranks = breakdownsAt({
    batch: inference.batchSize,
    promptLength: inference.promptLength,
    outputLength: inference.outputLength,
  }).map((breakdown, i) => summariseStage(stages[i].span, stageCount, breakdown, request, gpu));
  const worst = ranks.reduce((a, b) => (b.deviceUsedBytes > a.deviceUsedBytes ? b : a));
  const maxBatchSize = largestBatch(inference, fitsAt);
  const maxContextLength = longestContext(arch, inference, fitsAt);

  const counts = countParameters(arch);
  const served = servingPerformance({ arch, request, inference, gpu, layout, stages });
  return {
    engineVersion: ENGINE_VERSION,
    request,
    model: {
      id: arch.id,
      name: arch.name,
      parameters: { total: counts.total, trainable: 0, active: counts.active },
    },
    layout,
    memory: { perGpu: worst, ranks, hostPerNodeBytes: 0 },
    performance: served.performance,
    cost: served.cost,
    inference: {
      maxBatchSize,
      maxContextLength,
      kvCacheBytesPerToken: kvCacheBytesPerToken(arch, inference.kvCacheDtype),
      tokensPerSecondPerGpu: served.tokensPerSecondPerGpu,
      usdPerMillionOutputTokens: served.usdPerMillionOutputTokens,
    },
    warnings: servingWarnings(request, inference, arch, gpu, worst, maxBatchSize),
    assumptions: servingAssumptions(request, inference, arch),
  };
}
