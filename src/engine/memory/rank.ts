// One rank simulated: its stage's model built from the recipe, its training loop run as a
// timeline, the peaks read off it and reserved memory replayed through the caching allocator.
import { layerIndices, StageSpan } from '../model/placement';
import { anyLayerRotates, layerKind } from '../model/layers';
import { DtypePolicy, dtypePolicy, modelTensorBytes } from '../request/dtype-policy';
import { LinearShape, linearShapes } from '../model/parameters';
import { noPeftDefaultNote, requestLora } from '../model/lora-modules';
import { GpuSpec, ModelArchitecture, MoeConfig, PlanLayout, PlanRequest } from '../vocabulary';
import { EventLog, Moment } from './autograd/events';
import { AutocastWeights, Nn, STORED_WEIGHTS } from './autograd/nn';
import { Ops } from './autograd/ops';
import { ReduceDevice } from './autograd/reduce-buffer';
import { Param, Runtime } from './autograd/runtime';
import { buildRankModel } from './model/build';
import { FinalNorm, StageModel, StageSettings } from './model/causal-lm';
import { LossSettings } from './model/loss';
import { nf4BytesPerWeight, steppedStates } from './model-states';
import { OptimizerSettings } from './optimizer';
import { ClassPeak, classPeaks, highestPeak, TimelinePeak } from './peaks';
import { extrapolate, truncation } from './truncation';
import { attentionPlan, layerRecipe, recipeNote } from './recipes';
import { expertRouting } from './moe-routing';
import { AttentionPlan } from './recipes/attention-kernel';
import { LayerRecipe, ModelEnds } from './recipes/recipe';
import { VISION_NOTE } from './recipes/vision';
import { bypassedShapes, textOnlyVision } from './idle-parameters';
import { UNQUANTIZED_EXPERTS_NOTE } from './recipes/hf-moe';
import { ChunkRun, PreferenceLoop, PipelineSettings, trainingTimeline } from './timeline';
import { ActivationOffloading } from './offload';
import { Fp8Nn } from './fp8';
import { ContextParallelSettings, ParallelNn } from './parallel-nn';
import { pipelineRuntime, scheduleShape, truncateSchedule } from './schedule';
import { AllocatorSettings, replayReserved, ReservedReplay } from './reserved';
import { applySharding, rankShardWorld, referenceSharding, zero3Gathers } from './sharding';
import {
  dropoutAsTrlRuns,
  microBatchTokens,
  preferenceNote,
  runsReferenceForward,
  scoresAgainstReference,
  separateReferenceModel,
  sequencesPerMicroBatch,
} from '../request/preference';

export interface RankSimulation {
  /** The timeline (the longer one of a truncated simulation); not kept by the memo. */
  log?: EventLog;
  peak: TimelinePeak;
  reservedPeakBytes: number;
  /** Times the caching allocator emptied its cache to find room (num_alloc_retries). */
  allocatorRetries: number;
  /** Where the run dies with "CUDA out of memory", when the allocator finds no room at all. */
  outOfMemoryAt?: Moment;
  /** What the simulation assumed that the request did not say (the attention kernel that runs). */
  notes: string[];
}

const MIB = 2 ** 20;
// CublasHandlePool.cpp parseChosenWorkspaceSize: 4096 KiB x 8 on compute capability 9.0 and
// later (Hopper, Blackwell), ":4096:2:16:8" (8.125 MiB) on earlier cards.
const BLAS_WORKSPACE_HOPPER = 32 * MIB;
const BLAS_WORKSPACE_EARLIER = 8.125 * MIB;

// CUDA C++ Programming Guide, compute capabilities: 1,536 resident threads per SM on 8.6 and
// 8.9 (consumer Ampere, Ada), 1,024 on 7.5 (Turing), 2,048 on the rest (Volta, A100, Hopper,
// Blackwell). NVIDIA's warps are 32 threads.
function maxThreadsPerMultiprocessor(computeCapability: number): number {
  if (computeCapability === 8.6 || computeCapability === 8.9) return 1536;
  return computeCapability === 7.5 ? 1024 : 2048;
}
const NVIDIA_WARP = 32;

/** What Reduce.cuh reads of the device, where the catalog knows its SMs (NVIDIA cards). */
function reduceDevice(gpu: GpuSpec): ReduceDevice | undefined {
  if (!gpu.multiprocessors || gpu.computeCapability === undefined) return undefined;
  return {
    multiprocessors: gpu.multiprocessors,
    maxThreadsPerMultiprocessor: maxThreadsPerMultiprocessor(gpu.computeCapability),
    warpSize: NVIDIA_WARP,
  };
}

function blasWorkspace(gpu: GpuSpec): number {
  return (gpu.computeCapability ?? 8) >= 9 ? BLAS_WORKSPACE_HOPPER : BLAS_WORKSPACE_EARLIER;
}

// torchtune's CEWithChunkedOutputLoss: num_output_chunks = 8.
const TORCHTUNE_OUTPUT_CHUNKS = 8;

function lossSettings(
  arch: ModelArchitecture,
  request: PlanRequest,
  ends: ModelEnds,
): LossSettings {
  const { runtime, training } = request;
  const policy = dtypePolicy(request);
  const chunks = ends.chunkPositions
    ? Math.ceil(training.sequenceLength / ends.chunkPositions)
    : TORCHTUNE_OUTPUT_CHUNKS;
  return {
    kind: runtime.crossEntropy,
    fused: ends.fusedLoss ?? 'liger',
    chunks,
    chunkFp32: ends.chunkFp32 ?? true,
    compiled:
      ends.compiledLoss === true ||
      (ends.compiledLoss === 'chunked' && runtime.crossEntropy === 'chunked'),
    fp32Logits: runtime.fp32Logits || ends.logitsFp32 !== undefined,
    logitsCastBack: ends.logitsFp32 === 'loss',
    outputsToFp32: (ends.fp32Outputs ?? false) || accelerateCastsOutputs(request),
    scaleLogits: Boolean(ends.scaledLogits),
    logitsBiasBytes: ends.logitsBias ? modelTensorBytes(policy, request) : 0,
    inLogitsDtype: ends.lossInLogitsDtype === true,
    autocast: policy.autocast,
    softcap: Boolean(arch.finalLogitSoftcapping),
    retainLogits: runtime.retainLogits,
    classifierDropout: arch.dropout?.residual ?? 0,
  };
}

/** TRL trains through Accelerate, whose prepare_model wraps each model's forward in autocast and
 * convert_outputs_to_fp32 under native mixed precision (accelerator.py prepare_model); DeepSpeed
 * runs its own precision instead, and a 16-bit model without autocast gets no wrapper. */
function accelerateCastsOutputs(request: PlanRequest): boolean {
  const { training, runtime } = request;
  const nativeAmp = dtypePolicy(request).autocast && runtime.dataParallelEngine !== 'deepspeed';
  return scoresAgainstReference(training.preference) && nativeAmp;
}

function stageSettings(
  arch: ModelArchitecture,
  request: PlanRequest,
  layout: PlanLayout,
  recipe: LayerRecipe,
  attention: AttentionPlan,
): StageSettings {
  const ends = recipe.ends ?? {};
  const { training, parallelism } = request;
  const t = parallelism.tensorParallel;
  const keys = training.sequenceLength / layout.contextParallel;
  const sequences = sequencesPerMicroBatch(training);
  const tokens = microBatchTokens(training, layout.contextParallel);
  return {
    tokens,
    keys,
    hidden: arch.hiddenSize,
    heads: {
      heads: arch.numAttentionHeads / t,
      kvHeads: Math.max(1, arch.numKeyValueHeads / t),
      headDim: arch.headDim,
    },
    attentionFor: attention.attentionFor,
    softcapScores: Boolean(arch.attentionLogitSoftcapping),
    sinks: Boolean(arch.attentionSinks),
    attentionDropout: (arch.dropout?.attention ?? 0) > 0,
    recompute: training.activationCheckpointing,
    loss: lossSettings(arch, request, ends),
    rotary: rotaryTables(arch, ends),
    localRotary: ends.rotaryPerLayerType ? localRotaryLayers(arch) : undefined,
    alibi: alibiTensor(arch, ends, training, t),
    scaledEmbedding: ends.scaledEmbedding ?? false,
    positionRows: ends.positionsPerSequence ? keys : tokens,
    embeddingDropout: arch.dropout?.embedding ?? 0,
    embeddingLocal: ends.embeddingLocal ?? 'lookup',
    materializeBeforeSharding: request.runtime.materializeBeforeSharding,
    routing: arch.moe
      ? expertRouting(arch.moe, tokens, layout.expertParallel, request.runtime)
      : undefined,
    finalNorm: ends.finalNorm ?? defaultFinalNorm(arch),
    finalDropout: ends.finalDropout ?? 0,
    images: arch.vision ? sequences * (training.imagesPerSample ?? 0) : 0,
    headInputScale: Boolean(ends.headInputScale),
  };
}

/** The final norm of the architecture's norm kind, where the recipe names none. */
function defaultFinalNorm(arch: ModelArchitecture): FinalNorm {
  if (arch.norm === 'layernorm-weightless') return 'weightless';
  if (arch.norm === 'layernorm1p') return 'layer1p';
  return arch.norm === 'rmsnorm' ? 'rms' : 'layer';
}

/** The sliding-window layers, which read their own rotary pair, where the stack has full
 * layers too (a pair for each layer type); undefined where it has one kind. */
function localRotaryLayers(arch: ModelArchitecture): ((index: number) => boolean) | undefined {
  const slides = (layer: number) => layerKind(arch, layer).attentionWindow.kind === 'sliding';
  let sliding = 0;
  for (let layer = 0; layer < arch.numLayers; layer++) if (slides(layer)) sliding++;
  return sliding > 0 && sliding < arch.numLayers ? slides : undefined;
}

function rotaryTables(arch: ModelArchitecture, ends: ModelEnds): StageSettings['rotary'] {
  if (arch.learnedPositionEmbeddings > 0 || ends.rotaryBuffer || ends.alibi || ends.noRotary)
    return false;
  if (!anyLayerRotates(arch)) return false;
  return ends.rotaryFp32 ? 'fp32' : 'hidden';
}

/** The ALiBi tensor's shape (ModelEnds.alibi): MPT's (heads, 1, max_seq_len) in fp32, BLOOM's
 * (batch x heads, 1, seq) in the hidden dtype; this rank's heads under tensor parallelism. */
function alibiTensor(
  arch: ModelArchitecture,
  ends: ModelEnds,
  training: PlanRequest['training'],
  tensorParallel: number,
): StageSettings['alibi'] {
  const heads = arch.numAttentionHeads / tensorParallel;
  if (ends.alibi === 'max-length')
    return { rows: heads, cols: arch.maxPositionEmbeddings, fp32: true };
  if (ends.alibi === 'per-sequence')
    return {
      rows: sequencesPerMicroBatch(training) * heads,
      cols: training.sequenceLength,
      fp32: false,
    };
  return undefined;
}

function optimizerSettings(request: PlanRequest, stateBytes: number): OptimizerSettings {
  const { training, runtime, parallelism } = request;
  return {
    kind: training.optimizer,
    stateBytes,
    foreach: runtime.foreachOptimizer,
    fused: !runtime.foreachOptimizer && training.optimizer === 'adamw',
    // FSDP2's CPUOffloadPolicy keeps the shards, their gradients and so the step on the host.
    offDevice:
      parallelism.offload.optimizer === 'cpu' ||
      parallelism.offload.parameters === 'cpu' ||
      training.optimizer === 'paged-adamw-8bit',
    gradientsSetToNone: runtime.gradientsSetToNone,
  };
}

/** What simulating one list of layers gives: the high point of every moment, and reserved. */
interface LayerSimulation {
  log: EventLog;
  peaks: Map<string, ClassPeak>;
  reserved: ReservedReplay;
}

/** How much of a rank to simulate: 'full' as a plan reports it; 'allocated' for the search's
 * bound (search/bound.ts), which reads allocated peaks only, so it skips the caching
 * allocator's replay (reserved is then the allocated peak) and the third step, which lets the
 * allocator settle: allocated memory repeats from the second step on (every bound figure of
 * three brute-force search spaces, 3,010 layouts, is the same with two steps as with three).
 * Where startsSteady holds it simulates the second step alone. */
export type SimulationDepth = 'full' | 'allocated';

/** Whether the second step can start from the optimizer states and cuBLAS workspaces alone
 * (TrainingLoop.startsSteady): what else a first step can leave is kept out. zero_grad without
 * set_to_none keeps the gradients; litgpt's loop keeps the last logits; an optimizer in backward
 * makes its states as gradients arrive; DeepSpeed and Megatron keep buffers made in the first
 * step; torch.distributed.pipelining leaves input gradients on its receive buffers until the
 * next step starts; Transformer Engine caches fp8 weights at their first forward (fp8.ts); a
 * vision model trained on text makes no states for its tower (textOnlyVision); a DPO reference
 * under FSDP keeps its root unit gathered from its first forward (no backward reshards it).
 * DDP then rebuilds its buckets in parameter order, not in the order the first step's gradients
 * arrived: the same bytes, which is all an allocated figure reads. Checked against the full
 * simulation in steady-start.spec.ts. */
function startsSteady(
  request: PlanRequest,
  arch: ModelArchitecture,
  layout: PlanLayout,
  policy: DtypePolicy,
): boolean {
  const { runtime } = request;
  return (
    !textOnlyVision(request, arch) &&
    runtime.gradientsSetToNone &&
    !runtime.previousStepAlive &&
    !runtime.optimizerInBackward &&
    runtime.dataParallelEngine === 'pytorch' &&
    layout.pipelineParallel === 1 &&
    policy.fp8?.recipe !== 'transformer-engine' &&
    !separateReferenceModel(request)
  );
}

const momentKey = (m: Moment) => `${m.step}|${m.phase}|${m.what}|${m.layer}|${m.microBatch}`;

/** A rank of the pipeline: its model chunks (one stage, or its virtual stages) and its place
 * in the schedule. */
export interface RankPlacement {
  chunks: StageSpan[];
  /** The pipeline stage this rank is (its index in the pipeline group). */
  rank: number;
  /** Virtual stages of the whole pipeline. */
  virtualStages: number;
}

/** The modules of a rank: plain, with fp8 linears, or with tensor parallelism's collectives. */
function rankNn(
  rt: Runtime,
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  policy: DtypePolicy,
): Nn {
  const ops = new Ops(rt);
  ops.softmaxSavesInput = request.runtime.softmaxSavesInput;
  ops.reduceDevice = reduceDevice(gpu);
  const precision = precisionOf(request);
  const weights = weightAccess(policy);
  if (layout.tensorParallel === 1 && layout.contextParallel === 1) {
    return policy.fp8
      ? new Fp8Nn(ops, precision, weights, policy.fp8)
      : new Nn(ops, precision, weights);
  }
  const { training, parallelism, runtime } = request;
  const tokens = microBatchTokens(training, layout.contextParallel);
  const tp = {
    degree: layout.tensorParallel,
    sequenceParallel: parallelism.sequenceParallel,
    engine:
      runtime.dataParallelEngine === 'megatron' ? ('megatron' as const) : ('pytorch' as const),
    rowParallel: linearNames(arch, (shape) => shape.tensorParallel === 'row'),
    tokens,
  };
  return new ParallelNn(
    ops,
    precision,
    weights,
    policy.fp8,
    tp,
    ringSettings(arch, layout, tokens, policy),
  );
}

/** What context parallelism's ring moves on this rank: its queries, keys and values. */
function ringSettings(
  arch: ModelArchitecture,
  layout: PlanLayout,
  tokens: number,
  policy: DtypePolicy,
): ContextParallelSettings | undefined {
  if (layout.contextParallel === 1) return undefined;
  const t = layout.tensorParallel;
  const heads = arch.numAttentionHeads / t;
  const kvHeads = Math.max(1, arch.numKeyValueHeads / t);
  return {
    queryElements: tokens * heads * arch.headDim,
    keyElements: tokens * kvHeads * arch.headDim,
    lseElements: tokens * heads,
    computeBytes: policy.compute,
    attentionOutputs: linearNames(
      arch,
      (shape) => shape.group === 'attention' && shape.tensorParallel === 'row',
    ),
  };
}

/** The names of the model's linears that match (o_proj, down_proj, ...). */
function linearNames(arch: ModelArchitecture, match: (shape: LinearShape) => boolean): Set<string> {
  const names = new Set<string>();
  for (let layer = 0; layer < arch.numLayers; layer++) {
    for (const shape of linearShapes(arch, layer)) if (match(shape)) names.add(shape.name);
  }
  return names;
}

/** The chunk models of a rank over the given layers of each chunk, and the DPO step's
 * reference where the request trains with DPO. */
function chunkRuns(
  rt: Runtime,
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  placement: RankPlacement,
  layers: number[][],
): { chunks: ChunkRun[]; preference?: PreferenceLoop } {
  const policy = dtypePolicy(request);
  const nn = rankNn(rt, request, arch, gpu, layout, policy);
  const recipe = layerRecipe(arch, request);
  const storage = {
    policy,
    request,
    nf4Bytes: nf4BytesPerWeight(request.training.qlora?.doubleQuant ?? true),
  };
  const context = {
    arch,
    storage,
    tensorParallel: layout.tensorParallel,
    expertParallel: layout.expertParallel,
  };
  const settings = stageSettings(
    arch,
    request,
    layout,
    recipe,
    attentionPlan(recipe, arch, request, layout.contextParallel),
  );
  const chunks = placement.chunks.map((span, i) => {
    const model = buildRankModel(context, span, recipe, layers[i]);
    const sharding = applySharding(rt, model, request, layout, policy);
    const stage = new StageModel(nn, model, recipe, settings, () => sharding.afterBuild());
    const lastStage = span.stage === placement.virtualStages - 1;
    return { stage, sharding, receives: span.stage > 0, sends: !lastStage };
  });
  const { preference } = request.training;
  if (!scoresAgainstReference(preference)) return { chunks };
  // A separate reference: the policy's model built again (DPO and KTO run without a pipeline:
  // one chunk), trained by nothing.
  const reference = () => {
    if (!runsReferenceForward(request)) return undefined;
    if (!separateReferenceModel(request)) return 'policy' as const;
    const model = buildRankModel(context, placement.chunks[0], recipe, layers[0]);
    model.all.forEach(freezeAsLoaded);
    const sharding = referenceSharding(rt, model, request, layout, policy);
    const own = { ...settings, loss: referenceLoss(request, layout, settings.loss) };
    const stage = new StageModel(nn, model, recipe, own, () => sharding.afterBuild());
    return { stage, sharding };
  };
  return {
    chunks,
    preference: {
      objective: preference,
      sequences: sequencesPerMicroBatch(request.training),
      reference: reference(),
    },
  };
}

/** The reference's outputs: the policy's wrapper (accelerateCastsOutputs) where
 * accelerator.prepare_model prepared it too; under ZeRO-3 prepare_deepspeed and prepare_fsdp
 * wrap it instead, and it returns its logits in the dtype it computes in. */
function referenceLoss(request: PlanRequest, layout: PlanLayout, loss: LossSettings) {
  const wrappedByTrl = zero3Gathers(request, rankShardWorld(request, layout).world);
  return wrappedByTrl ? { ...loss, outputsToFp32: false } : loss;
}

/** A parameter of TRL's reference model: no optimizer steps it, but from_pretrained leaves
 * requires_grad True on every parameter that had it (buffers and frozen tables have none). */
function freezeAsLoaded(param: Param): void {
  param.untrainedRequiresGrad = param.trainable && !param.buffer;
  param.trainable = false;
}

function simulateLayers(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  placement: RankPlacement,
  layers: number[][],
  allocator: AllocatorSettings | undefined,
): LayerSimulation {
  const runtime = new Runtime();
  runtime.reentrantCheckpointing = request.runtime.reentrantCheckpointing;
  if (request.runtime.activationOffloading) {
    runtime.savedTensorsHooks = new ActivationOffloading(runtime);
  }
  const policy = dtypePolicy(request);
  const stepped = request.training.method === 'full' ? policy.trained : policy.adapter;
  const { chunks, preference } = chunkRuns(runtime, request, arch, gpu, layout, placement, layers);
  const shape = scheduleShape(request, placement.chunks.length);
  const log = trainingTimeline(runtime, {
    chunks,
    preference,
    optimizer: optimizerSettings(
      request,
      steppedStates(request, rankShardWorld(request, layout).world, stepped).optimizerElement,
    ),
    schedule: truncateSchedule(shape, placement.rank),
    pipeline: shape.ranks > 1 ? pipelineSettings(arch, request, layout) : undefined,
    steps: allocator ? 3 : 2, // as the harness measures: the allocator settles over the first steps
    startsSteady: !allocator && startsSteady(request, arch, layout, policy),
    blasWorkspaceBytes: blasWorkspace(gpu),
    retainLogits: request.runtime.retainLogits,
    previousStepAlive: request.runtime.previousStepAlive,
    syncEveryMicroBatch: !request.runtime.unshardedGradientAccumulation,
    optimizerInBackward: request.runtime.optimizerInBackward,
  });
  const peaks = classPeaks(log, 2, momentKey);
  return { log, peaks, reserved: allocator ? replayReserved(log, allocator) : asAllocated(peaks) };
}

/** A replay that reserves exactly what is allocated (SimulationDepth 'allocated'). */
function asAllocated(peaks: Map<string, ClassPeak>): ReservedReplay {
  const peakBytes = highestPeak(peaks.values()).allocatedPeakBytes;
  return { peakBytes, highestBytes: peakBytes, retries: 0 };
}

/** What stages send each other: the hidden state of one micro-batch in the compute dtype. */
export function pipelineSettings(
  arch: ModelArchitecture,
  request: PlanRequest,
  layout: PlanLayout,
): PipelineSettings {
  const { training, parallelism } = request;
  const rows = microBatchTokens(training, layout.contextParallel);
  // torchtitan's and Megatron's sequence parallelism leave each stage's output split along the
  // sequence over tensor-parallel ranks, and that is what travels.
  const split = parallelism.sequenceParallel ? layout.tensorParallel : 1;
  return {
    runtime: pipelineRuntime(request),
    microBatches: training.gradientAccumulationSteps,
    activation: {
      // the layers run on the sequence shard too (tensor-parallel.ts)
      rows: Math.ceil(rows / split),
      sentRows: Math.ceil(rows / split),
      cols: arch.hiddenSize,
      elementBytes: dtypePolicy(request).compute,
    },
  };
}

/** Whose LoRA modules each model code runs: PEFT's on Hugging Face's, torchtune's on native. */
const ADAPTER_MODULES = {
  'hf-transformers': 'peft',
  native: 'torchtune',
  litgpt: 'litgpt',
} as const;

function precisionOf(request: PlanRequest) {
  const policy = dtypePolicy(request);
  return {
    matmul: policy.compute,
    autocast: policy.autocast,
    quantization: request.runtime.quantizationKernel,
    bitsandbytesSavesInput: request.runtime.bitsandbytesSavesInput,
    adapterModule: ADAPTER_MODULES[request.runtime.modelCode],
  };
}

function weightAccess(policy: ReturnType<typeof dtypePolicy>) {
  return policy.autocast ? new AutocastWeights(policy.compute) : STORED_WEIGHTS;
}

/** Llama4TextMoe's cost, which a reader who knows the model's 17B active parameters would not
 * expect (MoeConfig.denseExperts). */
function everyExpertNote(moe: MoeConfig): string {
  const idle = moe.numExperts - moe.expertsPerToken;
  return `the model code runs every token through all ${moe.numExperts} routed experts (a zero score for the ${idle} not chosen), as Hugging Face's Llama4TextMoe does: their activations and FLOPs are ${moe.numExperts / moe.expertsPerToken} times those of code that sends each token only to its chosen experts`;
}

/** The names of the adapted linears the recipe's fused kernel reads by weight. */
function bypassedAdapters(arch: ModelArchitecture, request: PlanRequest, recipe: LayerRecipe) {
  const lora = requestLora(arch, request);
  const read = recipe.kernelLinears;
  if (!lora || !read) return [];
  const names = new Set<string>();
  for (let layer = 0; layer < arch.numLayers; layer++)
    bypassedShapes(arch, layer, lora, read).forEach((shape) => names.add(shape.name));
  return [...names];
}

const bypassedAdaptersNote = (names: string[]) =>
  `LoRA adapters on ${names.join(', ')} are made and counted as trainable, but the fused Mamba kernel takes those linears' weights without calling them (mamba_ssm's mamba_inner_fn, mamba_split_conv1d_scan_combined): they get no gradient and no optimizer state, and do not train; target in_proj to adapt the mixer`;

/** What the simulation assumed that the request did not say: the attention kernel each layer
 * runs, and the images a vision tower sees. */
function simulationNotes(
  arch: ModelArchitecture,
  request: PlanRequest,
  gpu: GpuSpec,
  layout: PlanLayout,
  placement: RankPlacement,
): string[] {
  const recipe = layerRecipe(arch, request);
  const notes = attentionPlan(recipe, arch, request, layout.contextParallel).notes;
  const fallback = recipeNote(arch, request);
  if (fallback) notes.unshift(fallback);
  if (!reduceDevice(gpu)) {
    notes.push(
      `the staging buffers of long reductions (a norm's or a bias's gradient summed over the tokens, up to about 130 MiB each) are not counted: the catalog has no SM count for the ${gpu.name}`,
    );
  }
  if (request.training.activationCheckpointing === 'selective') {
    notes.push(
      "selective checkpointing as torchtitan's op-level policy: SDPA's outputs and every other matmul's output kept, the rest recomputed in backward",
    );
  }
  const preferenceAssumed = preferenceNote(request, arch);
  if (preferenceAssumed) notes.push(preferenceAssumed);
  const noPeftDefault = noPeftDefaultNote(arch, request);
  if (noPeftDefault) notes.push(noPeftDefault);
  const bypassed = bypassedAdapters(arch, request, recipe);
  if (bypassed.length > 0) notes.push(bypassedAdaptersNote(bypassed));
  if (arch.moe?.denseExperts) notes.push(everyExpertNote(arch.moe));
  if (arch.moe && request.training.method === 'qlora') notes.push(UNQUANTIZED_EXPERTS_NOTE);
  if (arch.vision && placement.chunks.some((span) => span.hasEmbedding)) {
    const flatOptimizer = request.runtime.dataParallelEngine !== 'pytorch';
    notes.push(VISION_NOTE(arch.vision, request.training.imagesPerSample ?? 0, flatOptimizer));
  }
  return notes;
}

/** One rank: its chunks simulated whole, or a single long stage as two truncated stacks
 * extrapolated to its layer count (truncation.ts). The allocator may reserve
 * `allocatorBudgetBytes` at most. */
export function simulateRankOnce(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  placement: RankPlacement,
  allocatorBudgetBytes = Infinity,
  depth: SimulationDepth = 'full',
): RankSimulation & { log: EventLog } {
  // TRL's trainers run with dropout modules off (preference.ts dropoutAsTrlRuns).
  ({ request, arch } = dropoutAsTrlRuns(request, arch));
  const layers = placement.chunks.map(layerIndices);
  const plan = layers.length === 1 ? truncation(arch, layers[0]) : undefined;
  const notes = simulationNotes(arch, request, gpu, layout, placement);
  const expandableSegments = request.runtime.expandableSegments;
  const simulate = (list: number[][], budgetBytes: number) =>
    simulateLayers(
      request,
      arch,
      gpu,
      layout,
      placement,
      list,
      depth === 'full' ? { expandableSegments, budgetBytes } : undefined,
    );
  if (!plan) {
    const whole = simulate(layers, allocatorBudgetBytes);
    const { peakBytes, retries, outOfMemoryAt } = whole.reserved;
    return {
      log: whole.log,
      peak: highestPeak(whole.peaks.values()),
      reservedPeakBytes: peakBytes,
      allocatorRetries: retries,
      outOfMemoryAt,
      notes,
    };
  }
  const count = layers[0].length;
  // A truncated stack is smaller than the rank: the card's limit cannot bind its replay.
  const short = simulate([plan.short], Infinity);
  const long = simulate([plan.long], Infinity);
  const peaks: ClassPeak[] = [];
  for (const [key, b] of long.peaks) {
    const a = short.peaks.get(key);
    if (!a) continue;
    const live = b.live.map((bytes, i) => extrapolate(a.live[i], bytes, plan, count));
    peaks.push({
      bytes: extrapolate(a.bytes, b.bytes, plan, count),
      live,
      moment: b.moment,
    });
  }
  const peak = highestPeak(peaks);
  const slack = (s: LayerSimulation) =>
    s.reserved.peakBytes - highestPeak(s.peaks.values()).allocatedPeakBytes;
  const reserved = peak.allocatedPeakBytes + Math.max(slack(short), slack(long));
  notes.push(
    `${count} layers simulated as ${plan.short.length} and ${plan.long.length} and extrapolated; reserved keeps the larger allocator slack of the two, which errs low (the slack grows with the stack); the card's limit, and cache flushes near it, are not simulated for an extrapolated stack`,
  );
  return {
    log: long.log,
    peak,
    reservedPeakBytes: Math.round(reserved),
    allocatorRetries: 0,
    notes,
  };
}
