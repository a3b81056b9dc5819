// Training step time: FLOPs, MFU, pipeline bubbles and exposed communication (docs/memory-model.md §8).
import { countParameters, loraParameters, trainableParameters } from '../model/parameters';
import { requestLora } from '../model/lora-modules';
import { attendingLayerCount, moeLayerCount } from '../model/layers';
import { optimizerBytesPerElement, trainedStateBytes } from '../memory/model-states';
import { pipelineBubbleFraction } from '../memory/pipeline';
import { dtypePolicy } from '../request/dtype-policy';
import {
  estimatesKl,
  microBatchTokens,
  referenceForwards,
  sequencesPerMicroBatch,
} from '../request/preference';
import {
  GpuSpec,
  ModelArchitecture,
  PlanLayout,
  PlanPerformance,
  PlanRequest,
} from '../vocabulary';

/** Host link per GPU for offloaded states: PCIe Gen4 x16 moves about 25 GB/s one direction. */
export const HOST_LINK_BYTES_PER_SECOND = 25e9;

/** Host memory bandwidth an offloaded Adam step sustains per node: the step streams every state
 * once (ZeRO-Offload, Ren et al. 2021, Table 3: DeepSpeed's CPU-Adam at 0.22 s per billion fp32
 * parameters moved about 130 GB/s, half of its DGX-2 host's 256 GB/s), and half of a DGX A100
 * host's 410 GB/s (16 channels of DDR4-3200) is about 200 GB/s. */
export const HOST_MEMORY_BYTES_PER_SECOND = 200e9;

/** Parameter counts the estimate reads; `trainable` is recounted from the request when absent. */
export interface PerformanceParameters {
  total: number;
  active: number;
  trainable?: number;
}

/** FLOPs per token of one training step, split by what they are for. */
export interface FlopsPerToken {
  /** PaLM's model FLOPs: what the algorithm needs, recomputation excluded. */
  model: number;
  /** What the GPUs execute: model FLOPs plus recomputation. */
  hardware: number;
  /** The backward pass's share of the hardware FLOPs (what gradient communication can hide behind). */
  backward: number;
  /** The hardware FLOPs of matmuls with weights (forward, recomputed and backward). */
  weights: number;
}

/** Forward FLOPs per token of the attention core (QK^T and AV) over `s` keys: 2 s a (d_qk + d_v)
 * per attending layer, i.e. 4 L h s for ordinary attention (PaLM, Appendix B; no causal
 * savings). A layer whose mixer keeps no keys (a Mamba scan, LFM2's convolution, Qwen3-Next's
 * Gated DeltaNet) has no attention core; its scan's own FLOPs, linear in the sequence, are not
 * counted. */
export function attentionCoreForwardFlopsPerToken(
  arch: ModelArchitecture,
  sequenceLength: number,
): number {
  const qkDim = arch.mla ? arch.mla.qkNopeHeadDim + arch.mla.qkRopeHeadDim : arch.headDim;
  const vDim = arch.mla ? arch.mla.vHeadDim : arch.headDim;
  const attending = attendingLayerCount(arch);
  return 2 * attending * sequenceLength * arch.numAttentionHeads * (qkDim + vDim);
}

/** Forward FLOPs per token of DeBERTa's relative position scores (DisentangledSelfAttention):
 * each score kind's bmm against all 2 x span positions (2 x 2span x a x d a token), and the
 * table through the layer's projections once per sequence (2 x 2span x h x a x d each, shared
 * among the sequence's s tokens); DeBERTa-v1 reads only 2 x min(s, span) of the table's rows
 * (modeling_deberta.py att_span); 0 without them. */
export function relativePositionForwardFlopsPerToken(
  arch: ModelArchitecture,
  sequenceLength: number,
): number {
  const relative = arch.disentangled;
  if (!relative) return 0;
  const kinds = Number(relative.contentToPosition) + Number(relative.positionToContent);
  const projections = relative.sharedKey ? 2 : kinds;
  const positions =
    2 * (relative.inProjection ? Math.min(sequenceLength, relative.span) : relative.span);
  const width = arch.numAttentionHeads * arch.headDim;
  const scores = 2 * kinds * positions * width;
  const table = (2 * projections * positions * arch.hiddenSize * width) / sequenceLength;
  return attendingLayerCount(arch) * (scores + table);
}

/** Whisper's encoder runs its `frames` whatever the text's length, so per trained (decoder)
 * token its weights work frames / s times (conv1's at twice the frames, before conv2's stride)
 * and its attention cores span the frames: the encoder's self-attention (frames queries over
 * frames keys a sample) and the decoder's cross-attention (each token over frames keys), beside
 * the decoder's self-attention over s. Returns the weights to count per token in place of the
 * encoder's (active and adapters) and the attention core's forward FLOPs; undefined without
 * an audio encoder. */
export function audioEncoderPerToken(
  arch: ModelArchitecture,
  request: PlanRequest,
): { extraActive: number; extraTrainable: number; attentionForward: number } | undefined {
  const audio = arch.encoder?.audio;
  if (!audio) return undefined;
  const sequenceLength = request.training.sequenceLength;
  const lora = requestLora(arch, request);
  const encoderLayers = arch.encoder!.numLayers;
  const repeat = audio.frames / sequenceLength;
  const counts = countParameters(arch);
  const layerWeights = counts.layers
    .slice(0, encoderLayers)
    .reduce((sum, layer) => sum + layer.activeTotal, 0);
  const h = arch.hiddenSize;
  const conv1 = audio.melBins * h * 3;
  const conv2 = h * h * 3;
  // counted once per token among params.active: the layers and convolutions (the frozen table
  // is added, not multiplied)
  const extraActive = (layerWeights + conv2) * (repeat - 1) + conv1 * (2 * repeat - 1);
  const adapters = lora
    ? loraParameters(arch, lora)
        .perLayer.slice(0, encoderLayers)
        .reduce((a, b) => a + b, 0)
    : 0;
  const perKey = 2 * arch.numAttentionHeads * 2 * arch.headDim; // QK^T and AV, a key each
  const decoderLayers = arch.numLayers - encoderLayers;
  const attentionForward =
    perKey *
    (decoderLayers * (sequenceLength + audio.frames) + encoderLayers * audio.frames * repeat);
  return { extraActive, extraTrainable: adapters * (repeat - 1), attentionForward };
}

/** Model and hardware FLOPs per trained token. */
export function trainingFlopsPerToken(
  request: PlanRequest,
  arch: ModelArchitecture,
  counted: { active: number; trainable: number },
): FlopsPerToken {
  const { training } = request;
  const audio = audioEncoderPerToken(arch, request);
  const params = audio
    ? {
        active: counted.active + audio.extraActive,
        trainable: counted.trainable + audio.extraTrainable,
      }
    : counted;
  const attentionForward =
    audio?.attentionForward ??
    attentionCoreForwardFlopsPerToken(arch, training.sequenceLength) +
      relativePositionForwardFlopsPerToken(arch, training.sequenceLength);
  // Matmul forward costs 2 FLOPs per weight per token; backward costs 2 for the input gradient
  // and 2 for the weight gradient (Kaplan et al. 2020; PaLM's 6N).
  const full = training.method === 'full';
  const weightForward = 2 * params.active + (full ? 0 : 2 * params.trainable);
  // Frozen weights (LoRA, QLoRA) skip the weight-gradient matmul but still pass gradients back
  // through themselves: 4P for the base plus 6 per adapter parameter (Hu et al. 2021; Dettmers et al. 2023).
  const weightBackward = full ? 4 * params.active : 2 * params.active + 4 * params.trainable;
  // The attention core has no weights: its backward is twice its forward (PaLM: 12 L h s in all);
  // so is that of the relative position scores (their table's projections make the weights'
  // and the table's gradients, as any matmul with a weight does).
  const attentionBackward = 2 * attentionForward;
  const model = weightForward + weightBackward + attentionForward + attentionBackward;
  // Experts a token was not routed to that the code runs it through anyway: executed, not
  // model FLOPs. Frozen (LoRA never adapts them), they skip the weight gradient.
  const unrouted = unroutedExpertParameters(arch);
  const unroutedForward = 2 * unrouted;
  const unroutedBackward = (full ? 4 : 2) * unrouted;
  // Full recomputation reruns each layer's forward. Selective is torchtitan's op-level policy
  // (memory/autograd/selective.ts): the attention core's output and every other matmul's are
  // saved, so the recompute reruns the other half of the matmuls and no attention core.
  // Neither counts as model FLOPs.
  const recomputedShare =
    training.activationCheckpointing === 'full'
      ? 1
      : training.activationCheckpointing === 'selective'
        ? 1 / 2
        : 0;
  const recomputedWeights = (weightForward + unroutedForward) * recomputedShare;
  const recomputed =
    recomputedWeights + (training.activationCheckpointing === 'full' ? attentionForward : 0);
  const unroutedExecuted = unroutedForward + unroutedBackward;
  // DPO's reference scores every token in a forward of its own (the base weights, whatever the
  // adapters); KTO's scores its KL sequences too, which the policy (adapters and all) scores
  // first: work the method needs, so model FLOPs too.
  const passes = referenceForwards(request);
  const kl = estimatesKl(training);
  const scoredWeights = passes * 2 * params.active + (kl ? weightForward : 0);
  const scored = scoredWeights + (passes + (kl ? 1 : 0)) * attentionForward;
  return {
    model: model + scored,
    hardware: model + scored + recomputed + unroutedExecuted,
    backward: weightBackward + attentionBackward + recomputed + unroutedBackward,
    weights: weightForward + weightBackward + recomputedWeights + unroutedExecuted + scoredWeights,
  };
}

/** Routed-expert weights each token is multiplied through without having been routed to them:
 * where every expert computes every token (MoeConfig.denseExperts, Llama4TextMoe's bmm over
 * all experts, zero scores for the ones not chosen), E - k experts' worth per MoE layer. */
function unroutedExpertParameters(arch: ModelArchitecture): number {
  const moe = arch.moe;
  if (!moe?.denseExperts) return 0;
  // routedExpertParameters holds all E experts of every MoE layer; E - k of them sit idle.
  return (routedExpertParameters(arch) * (moe.numExperts - moe.expertsPerToken)) / moe.numExperts;
}

// fp8 dense tensor-core throughput is twice bf16's on every card with fp8 (H100: 1,979 vs 989
// TFLOP/s; H200, L40S, RTX 4090 and B200 datasheets alike).
const FP8_SPEEDUP = 2;

/** The hardware FLOPs per token left once the fp8 linears run at the fp8 rate: the decoder
 * layers' attention projections, dense MLPs and shared experts (torchao converts nn.Linear
 * modules, Transformer Engine its Linear layers); the head, the attention core and routed
 * experts stay 16-bit. The casts around each matmul (memory-bound) are not counted, so the
 * speed-up is an upper bound: torchao reports 1.2-1.5x end to end for Llama-3 8B-405B. */
export function fp8AdjustedFlops(
  request: PlanRequest,
  arch: ModelArchitecture,
  flops: FlopsPerToken,
  active: number,
): number {
  if (!dtypePolicy(request).fp8) return flops.hardware;
  const converted = countParameters(arch).layers.reduce(
    (sum, l) => sum + l.attention + l.denseMlp + l.sharedExperts,
    0,
  );
  const fp8Flops = flops.weights * Math.min(1, converted / active);
  return flops.hardware - fp8Flops * (1 - 1 / FP8_SPEEDUP);
}

/** Bytes per element of what data-parallel ranks exchange: gradients, and the 16-bit weights. */
function communicationElementBytes(request: PlanRequest): { gradient: number; weight: number } {
  const { training, runtime } = request;
  if (training.precision === 'fp32') return { gradient: 4, weight: 4 };
  const adapterGradient = training.method !== 'full' && runtime.adapterDtype === 'fp32';
  // torchtitan reduces in fp32 (FSDP2 reduce_dtype); Megatron's main grads are fp32.
  const fp32Reduce =
    runtime.mixedPrecisionStyle === 'fsdp2' || runtime.fp32Gradients || adapterGradient;
  return { gradient: fp32Reduce ? 4 : 2, weight: 2 };
}

/** Host memory one offloaded optimizer step reads and writes per trained parameter: the copy it
 * updates and the optimizer's states in and out, the gradient in, and the 16-bit weights out
 * where a master copy is kept (mixed-precision AdamW: 2 x 4 + 2 x 8 + 2 + 2 = 28 bytes). */
export function hostStepBytesPerParameter(request: PlanRequest): number {
  const bytes = trainedStateBytes(request);
  const updated = bytes.master > 0 ? bytes.master : bytes.weight;
  const states = optimizerBytesPerElement(request.training.optimizer, bytes.optimizerElement);
  const sixteenBitCopy = bytes.master > 0 ? bytes.weight : 0;
  return 2 * updated + 2 * states + bytes.gradient + sixteenBitCopy;
}

/** Ring collectives move (n - 1)/n of the message per rank for all-gather and reduce-scatter and
 * twice that for all-reduce (NCCL's bus-bandwidth convention). */
function ringFraction(ranks: number): number {
  return ranks <= 1 ? 0 : (ranks - 1) / ranks;
}

// Layout searches ask for the same architecture thousands of times.
const routedExpertCache = new WeakMap<ModelArchitecture, number>();

/** Routed-expert parameters of the whole model (0 for dense models). */
function routedExpertParameters(arch: ModelArchitecture): number {
  if (!arch.moe) return 0;
  let routed = routedExpertCache.get(arch);
  if (routed === undefined) {
    routed = countParameters(arch).layers.reduce((acc, l) => acc + l.routedExperts, 0);
    routedExpertCache.set(arch, routed);
  }
  return routed;
}

/** Parameters one rank holds before ZeRO sharding: split t x p ways, routed experts also e ways. */
function rankParameterCounts(
  arch: ModelArchitecture,
  layout: PlanLayout,
  total: number,
  trainable: number,
  fullFineTuning: boolean,
): { all: number; trained: number } {
  const routed = routedExpertParameters(arch);
  const modelParallel = layout.tensorParallel * layout.pipelineParallel;
  const all = (total - routed) / modelParallel + routed / (modelParallel * layout.expertParallel);
  // What full fine-tuning never trains (buffers, Marian's frozen tables) has no gradient to send.
  const untrained = (total - trainable) / modelParallel;
  return { all, trained: fullFineTuning ? all - untrained : trainable / modelParallel };
}

interface DataParallelTraffic {
  /** Bytes per rank prefetched while the forward passes compute (ZeRO-3 gathers). */
  duringForward: number;
  /** Bytes per rank that run while backward computes. */
  duringBackward: number;
  /** Whether that is every micro-batch's backward or only the last one's (no_sync before it). */
  backwardWindow: 'all' | 'last';
  /** Bytes per rank moved after the optimizer step, which nothing hides. */
  afterStep: number;
}

/** Per-rank data-parallel traffic of one optimizer step for each ZeRO stage (Rajbhandari et al. 2020). */
function dataParallelTraffic(
  request: PlanRequest,
  ranks: number,
  rankParams: { all: number; trained: number },
): DataParallelTraffic {
  const stage = request.parallelism.zeroStage;
  const m = request.training.gradientAccumulationSteps;
  const bytes = communicationElementBytes(request);
  const ring = ringFraction(ranks);
  const gradients = rankParams.trained * bytes.gradient * ring;
  const updatedWeights = rankParams.trained * bytes.weight * ring;
  switch (stage) {
    case 0:
      // DDP all-reduces gradients once per step (no_sync while accumulating): 2x gradient bytes.
      return {
        duringForward: 0,
        duringBackward: 2 * gradients,
        backwardWindow: 'last',
        afterStep: 0,
      };
    case 1:
      // Reduce-scatter gradients on the last micro-batch, all-gather updated weights after the step.
      return {
        duringForward: 0,
        duringBackward: gradients,
        backwardWindow: 'last',
        afterStep: updatedWeights,
      };
    case 2:
      // Gradient shards are reduce-scattered every micro-batch, so accumulation repeats it.
      return {
        duringForward: 0,
        duringBackward: m * gradients,
        backwardWindow: 'all',
        afterStep: updatedWeights,
      };
    default: {
      // ZeRO-3 / FSDP gathers every weight (frozen ones too) before forward and again before
      // backward, and reduce-scatters gradients, every micro-batch; prefetching overlaps each pass.
      const gather = rankParams.all * bytes.weight * ring;
      return {
        duringForward: m * gather,
        duringBackward: m * (gather + gradients),
        backwardWindow: 'all',
        afterStep: 0,
      };
    }
  }
}

/** What the per-micro-batch communication estimates share: one micro-batch on one rank. */
interface MicroBatchShape {
  request: PlanRequest;
  arch: ModelArchitecture;
  gpu: GpuSpec;
  layout: PlanLayout;
  /** Micro-batches per step (gradient accumulation). */
  m: number;
  activationBytes: number;
  tokensPerMicroBatch: number;
  layersPerRank: number;
}

/** Seconds per step of one training request on its layout. */
export function estimatePerformance(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  params: PerformanceParameters,
): PlanPerformance {
  const { training, parallelism, runtime } = request;
  const trainable =
    params.trainable ?? trainableParameters(arch, training, requestLora(arch, request));
  const flops = trainingFlopsPerToken(request, arch, { active: params.active, trainable });
  const m = training.gradientAccumulationSteps;
  const sequences = sequencesPerMicroBatch(training);
  const tokensPerStep = sequences * training.sequenceLength * m * layout.dataParallel;
  // fp32 matmuls run as TF32 on A100/H100 tensor cores, at half the dense bf16 rate (datasheets).
  const peak = gpu.bf16FlopsPerSecond * (training.precision === 'fp32' ? 0.5 : 1);
  const clusterFlops = layout.gpus * peak;

  // runtime.mfu is the efficiency of the matmuls while the GPUs are not waiting.
  const hardwareFlops = fp8AdjustedFlops(request, arch, flops, params.active);
  const computeSeconds = (tokensPerStep * hardwareFlops) / (clusterFlops * runtime.mfu);
  const backwardSeconds = (computeSeconds * flops.backward) / flops.hardware;
  const bubble = pipelineBubbleFraction(parallelism.pipelineParallel, m, parallelism.virtualStages);

  const fullFineTuning = training.method === 'full';
  const rankParams = rankParameterCounts(arch, layout, params.total, trainable, fullFineTuning);
  const dpExposed = dataParallelExposedSeconds(
    request,
    gpu,
    layout,
    rankParams,
    computeSeconds,
    backwardSeconds,
  );
  const shape = microBatchShape(request, arch, gpu, layout);
  const tpSeconds = tensorParallelSeconds(shape);
  const epSeconds = expertParallelSeconds(shape);
  const cpSeconds = contextParallelSeconds(shape, peak);
  const { offloadSeconds, hostOptimizerSeconds } = hostOffloadSeconds(request, layout, rankParams);

  // Work inside each micro-batch (compute, TP, EP and CP traffic) stretches with the pipeline bubble.
  const pipelinedSeconds = (computeSeconds + tpSeconds + epSeconds + cpSeconds) / (1 - bubble);
  const exposedCommunicationSeconds =
    tpSeconds + epSeconds + cpSeconds + dpExposed + offloadSeconds;
  const stepTimeSeconds = pipelinedSeconds + dpExposed + offloadSeconds + hostOptimizerSeconds;
  const tokensPerSecond = tokensPerStep / stepTimeSeconds;
  return {
    tokensPerStep,
    flopsPerToken: flops.model,
    stepTimeSeconds,
    tokensPerSecond,
    tokensPerSecondPerGpu: tokensPerSecond / layout.gpus,
    // PaLM's MFU: model FLOPs achieved over the cluster's peak.
    mfu: (tokensPerStep * flops.model) / (stepTimeSeconds * clusterFlops),
    exposedCommunicationSeconds,
    hostOptimizerSeconds,
    pipelineBubbleFraction: bubble,
  };
}

/** Bandwidth of a group of ranks spanning `ranks` consecutive GPUs: NVLink inside one node,
 * the inter-node network beyond it. */
function groupBandwidth(
  ranks: number,
  request: PlanRequest,
  gpu: GpuSpec,
  layout: PlanLayout,
): number {
  return ranks <= layout.gpusPerNode
    ? gpu.intraNodeBandwidthBytesPerSecond
    : request.runtime.interNodeBandwidthBytesPerSecond;
}

/** Seconds of data-parallel traffic that the forward and backward passes cannot hide. */
function dataParallelExposedSeconds(
  request: PlanRequest,
  gpu: GpuSpec,
  layout: PlanLayout,
  rankParams: { all: number; trained: number },
  computeSeconds: number,
  backwardSeconds: number,
): number {
  const m = request.training.gradientAccumulationSteps;
  const dpRanks = layout.dataParallel * layout.contextParallel;
  // Megatron's rank order puts tensor ranks innermost, then context, then data parallel.
  const dpBandwidth = groupBandwidth(layout.tensorParallel * dpRanks, request, gpu, layout);
  const traffic = dataParallelTraffic(request, dpRanks, rankParams);
  const backwardWindow = traffic.backwardWindow === 'all' ? backwardSeconds : backwardSeconds / m;
  return (
    Math.max(0, traffic.duringForward / dpBandwidth - (computeSeconds - backwardSeconds)) +
    Math.max(0, traffic.duringBackward / dpBandwidth - backwardWindow) +
    traffic.afterStep / dpBandwidth
  );
}

/** One micro-batch's tokens, activation width and layers on one rank. */
function microBatchShape(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
): MicroBatchShape {
  const { training } = request;
  return {
    request,
    arch,
    gpu,
    layout,
    m: training.gradientAccumulationSteps,
    activationBytes: training.precision === 'fp32' ? 4 : 2,
    tokensPerMicroBatch: microBatchTokens(training, layout.contextParallel),
    layersPerRank: arch.numLayers / layout.pipelineParallel,
  };
}

/** Seconds of tensor-parallel all-reduces per step. */
function tensorParallelSeconds(shape: MicroBatchShape): number {
  const { request, arch, gpu, layout, m, activationBytes, tokensPerMicroBatch } = shape;
  // Megatron TP all-reduces activations twice per layer in forward and twice in backward (Shoeybi
  // et al. 2019); a full recompute repeats the forward pair. Synchronous, so never hidden.
  const tpCollectivesPerLayer = request.training.activationCheckpointing === 'full' ? 6 : 4;
  const tpBandwidth = groupBandwidth(layout.tensorParallel, request, gpu, layout);
  return (
    (m *
      shape.layersPerRank *
      tpCollectivesPerLayer *
      tokensPerMicroBatch *
      arch.hiddenSize *
      activationBytes *
      2 *
      ringFraction(layout.tensorParallel)) /
    tpBandwidth
  );
}

/** Seconds of expert-parallel all-to-alls per step. */
function expertParallelSeconds(shape: MicroBatchShape): number {
  const { request, arch, gpu, layout, m, activationBytes, tokensPerMicroBatch } = shape;
  // Expert parallelism: dispatch and combine all-to-alls of top-k token copies, forward and backward.
  if (!(arch.moe && layout.expertParallel > 1)) return 0;
  const moeLayersPerRank = moeLayerCount(arch) / layout.pipelineParallel;
  const epRanks = layout.tensorParallel * layout.expertParallel;
  const epBandwidth = groupBandwidth(epRanks, request, gpu, layout);
  const perAllToAll =
    (tokensPerMicroBatch *
      arch.hiddenSize *
      arch.moe.expertsPerToken *
      activationBytes *
      ringFraction(layout.expertParallel)) /
    layout.tensorParallel;
  return (m * moeLayersPerRank * 4 * perAllToAll) / epBandwidth;
}

/** Seconds of context-parallel K/V ring traffic per step that attention does not hide. */
function contextParallelSeconds(shape: MicroBatchShape, peak: number): number {
  const { request, arch, gpu, layout, m, activationBytes, tokensPerMicroBatch } = shape;
  // Ring attention (Liu et al. 2023) passes each rank's K/V chunk around the context group c - 1
  // times in forward and again with dK/dV in backward (3x), hidden behind the attention core.
  if (!(layout.contextParallel > 1)) return 0;
  const c = layout.contextParallel;
  const t = layout.tensorParallel;
  const kvElementsPerToken = arch.mla
    ? (arch.numAttentionHeads *
        (arch.mla.qkNopeHeadDim + arch.mla.qkRopeHeadDim + arch.mla.vHeadDim)) /
      t
    : 2 * Math.max(1, arch.numKeyValueHeads / t) * arch.headDim;
  const ringBytes = 3 * (c - 1) * tokensPerMicroBatch * kvElementsPerToken * activationBytes;
  const cpBandwidth = groupBandwidth(t * c, request, gpu, layout);
  const attentionFlops =
    (3 *
      tokensPerMicroBatch *
      attentionCoreForwardFlopsPerToken(arch, request.training.sequenceLength)) /
    (arch.numLayers * t);
  const attentionSeconds = attentionFlops / (peak * request.runtime.mfu);
  return m * shape.layersPerRank * Math.max(0, ringBytes / cpBandwidth - attentionSeconds);
}

/** Seconds per step spent moving offloaded states over PCIe and stepping them on the host. */
function hostOffloadSeconds(
  request: PlanRequest,
  layout: PlanLayout,
  rankParams: { all: number; trained: number },
): { offloadSeconds: number; hostOptimizerSeconds: number } {
  const { parallelism } = request;
  const m = request.training.gradientAccumulationSteps;
  const dpRanks = layout.dataParallel * layout.contextParallel;
  // Offloaded optimizer: the rank's gradient shard goes down and updated 16-bit weights come back
  // over PCIe (ZeRO-Offload, Ren et al. 2021); offloaded weights are fetched twice per micro-batch.
  const bytes = communicationElementBytes(request);
  const shards = parallelism.zeroStage > 0 ? dpRanks : 1;
  const hostTrained = parallelism.offload.optimizer === 'cpu' ? rankParams.trained / shards : 0;
  const offloadOptimizer = hostTrained * (bytes.gradient + bytes.weight);
  // The step itself runs on the host after backward, every rank of a node sharing its memory.
  const hostOptimizerSeconds =
    (hostTrained * layout.gpusPerNode * hostStepBytesPerParameter(request)) /
    HOST_MEMORY_BYTES_PER_SECOND;
  const offloadParameters =
    parallelism.offload.parameters === 'cpu'
      ? (2 * m * rankParams.all * bytes.weight) / dpRanks
      : 0;
  const offloadSeconds = (offloadOptimizer + offloadParameters) / HOST_LINK_BYTES_PER_SECOND;
  return { offloadSeconds, hostOptimizerSeconds };
}
