// One rank simulated: its stage's model built from the recipe, its training loop run as a
// timeline, the peaks read off it and reserved memory replayed through the caching allocator.
import { StageSpan } from '../model/placement';
import { dtypePolicy } from '../request/dtype-policy';
import { GpuSpec, ModelArchitecture, PlanLayout, PlanRequest } from '../vocabulary';
import { EventLog, Moment } from './autograd/events';
import { AutocastWeights, Nn, STORED_WEIGHTS } from './autograd/nn';
import { Ops } from './autograd/ops';
import { Runtime } from './autograd/runtime';
import { buildRankModel } from './model/build';
import { StageModel, StageSettings } from './model/causal-lm';
import { LossSettings } from './model/loss';
import { nf4BytesPerWeight } from './model-states';
import { OptimizerSettings } from './optimizer';
import { ClassPeak, classPeaks, highestPeak, TimelinePeak } from './peaks';
import { extrapolate, truncation } from './truncation';
import { layerRecipe } from './recipes';
import { balancedRouting } from './recipes/hf-moe';
import { KernelChoice, sdpaKernel } from './recipes/attention-kernel';
import { trainingTimeline } from './timeline';
import { AllocatorSettings, replayReserved, ReservedReplay } from './reserved';
import { applySharding } from './sharding';

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

function blasWorkspace(gpu: GpuSpec): number {
  return (gpu.computeCapability ?? 8) >= 9 ? BLAS_WORKSPACE_HOPPER : BLAS_WORKSPACE_EARLIER;
}

function lossSettings(arch: ModelArchitecture, request: PlanRequest): LossSettings {
  const { runtime } = request;
  return {
    kind: runtime.crossEntropy,
    chunks: 8,
    fp32Logits: runtime.fp32Logits,
    softcap: Boolean(arch.finalLogitSoftcapping),
    retainLogits: runtime.retainLogits,
    softmaxSavesInput: runtime.softmaxSavesInput,
  };
}

function stageSettings(
  arch: ModelArchitecture,
  request: PlanRequest,
  layout: PlanLayout,
): StageSettings {
  const { training, parallelism } = request;
  const t = parallelism.tensorParallel;
  const tokens = (training.microBatchSize * training.sequenceLength) / layout.contextParallel;
  return {
    tokens,
    keys: training.sequenceLength / layout.contextParallel,
    hidden: arch.hiddenSize,
    heads: {
      heads: arch.numAttentionHeads / t,
      kvHeads: Math.max(1, arch.numKeyValueHeads / t),
      headDim: arch.headDim,
    },
    attention: attentionKernel(arch, request).kernel,
    recompute: training.activationCheckpointing,
    loss: lossSettings(arch, request),
    rotary: arch.learnedPositionEmbeddings === 0,
    scaledEmbedding: false,
    embeddingDropout: arch.dropout?.embedding ?? 0,
    materializeBeforeSharding: request.runtime.materializeBeforeSharding,
    routing: arch.moe ? balancedRouting(arch.moe, tokens, layout.expertParallel) : undefined,
    finalNorm: arch.norm === 'rmsnorm' ? 'rms' : 'layer',
  };
}

function simulationNotes(arch: ModelArchitecture, request: PlanRequest): string[] {
  const note = attentionKernel(arch, request).note;
  return note ? [note] : [];
}

/** The kernel that runs for the request: the model's eager code, or what SDPA dispatches. */
function attentionKernel(arch: ModelArchitecture, request: PlanRequest): KernelChoice {
  if (request.runtime.attention === 'eager') return { kernel: 'eager' };
  const compute = dtypePolicy(request).compute;
  return sdpaKernel(compute, arch.headDim, arch.numKeyValueHeads < arch.numAttentionHeads);
}

function optimizerSettings(request: PlanRequest, stateBytes: number): OptimizerSettings {
  const { training, runtime, parallelism } = request;
  return {
    kind: training.optimizer,
    stateBytes,
    foreach: runtime.foreachOptimizer,
    fused: !runtime.foreachOptimizer && training.optimizer === 'adamw',
    offDevice: parallelism.offload.optimizer === 'cpu' || training.optimizer === 'paged-adamw-8bit',
    gradientsSetToNone: runtime.gradientsSetToNone,
  };
}

/** What simulating one list of layers gives: the high point of every moment, and reserved. */
interface LayerSimulation {
  log: EventLog;
  peaks: Map<string, ClassPeak>;
  reserved: ReservedReplay;
}

const momentKey = (m: Moment) => `${m.step}|${m.phase}|${m.what}|${m.layer}|${m.microBatch}`;

function simulateLayers(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  span: StageSpan,
  layers: number[],
  allocator: AllocatorSettings,
): LayerSimulation {
  const policy = dtypePolicy(request);
  const runtime = new Runtime();
  const nn = new Nn(new Ops(runtime), precisionOf(request), weightAccess(policy));
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
  const model = buildRankModel(context, span, recipe, layers);
  const sharding = applySharding(runtime, model, request, layout, policy);
  const stage = new StageModel(nn, model, recipe, stageSettings(arch, request, layout), () =>
    sharding.afterBuild(),
  );
  const full = request.training.method === 'full';
  const log = trainingTimeline(runtime, {
    stage,
    optimizer: optimizerSettings(
      request,
      (full ? policy.trained : policy.adapter).optimizerElement,
    ),
    microBatches: Math.min(request.training.gradientAccumulationSteps, 3),
    steps: 3, // as the harness measures: the allocator settles over the first steps
    blasWorkspaceBytes: blasWorkspace(gpu),
    retainLogits: request.runtime.retainLogits,
  });
  return { log, peaks: classPeaks(log, 2, momentKey), reserved: replayReserved(log, allocator) };
}

function precisionOf(request: PlanRequest) {
  const policy = dtypePolicy(request);
  return {
    matmul: policy.compute,
    autocast: policy.autocast,
    quantization: request.runtime.quantizationKernel,
  };
}

function weightAccess(policy: ReturnType<typeof dtypePolicy>) {
  return policy.autocast ? new AutocastWeights(policy.compute) : STORED_WEIGHTS;
}

// Simulations a process keeps: a plan is a pure function of its inputs, so a repeated request
// (a compare row, a search candidate seen before, a refreshed page) costs a lookup.
const REMEMBERED = 256;
const remembered = new Map<string, RankSimulation>();

/** One rank, remembered by everything that shapes its simulation. */
export function simulateRank(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  span: StageSpan,
  allocatorBudgetBytes: number,
): RankSimulation {
  const { name: _name, tags: _tags, training, ...shaping } = request;
  const { tokensToTrain: _tokens, ...trainingShape } = training;
  const key = JSON.stringify([
    shaping,
    trainingShape,
    arch,
    gpu.id,
    gpu.computeCapability,
    layout,
    span,
    allocatorBudgetBytes,
  ]);
  const known = remembered.get(key);
  if (known) {
    remembered.delete(key); // most recently used last
    remembered.set(key, known);
    return { ...known, notes: [...known.notes] };
  }
  const { log: _log, ...simulated } = simulateRankOnce(
    request,
    arch,
    gpu,
    layout,
    span,
    allocatorBudgetBytes,
  );
  remembered.set(key, simulated);
  if (remembered.size > REMEMBERED) remembered.delete(remembered.keys().next().value!);
  return { ...simulated, notes: [...simulated.notes] };
}

/** One rank: its stage simulated whole, or as two truncated stacks extrapolated to its
 * layer count (truncation.ts). The allocator may reserve `allocatorBudgetBytes` at most. */
export function simulateRankOnce(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  span: StageSpan,
  allocatorBudgetBytes = Infinity,
): RankSimulation {
  const layers = Array.from({ length: span.layers }, (_, i) => span.firstLayer + i);
  const plan = truncation(arch, layers);
  const notes = simulationNotes(arch, request);
  const expandableSegments = request.runtime.expandableSegments;
  const simulate = (list: number[], budgetBytes: number) =>
    simulateLayers(request, arch, gpu, layout, span, list, { expandableSegments, budgetBytes });
  if (!plan) {
    const whole = simulate(layers, allocatorBudgetBytes);
    const peak = highestPeak(whole.peaks.values());
    const { peakBytes, retries, outOfMemoryAt } = whole.reserved;
    return {
      log: whole.log,
      peak,
      reservedPeakBytes: peakBytes,
      allocatorRetries: retries,
      outOfMemoryAt,
      notes,
    };
  }
  // A truncated stack is smaller than the rank: the card's limit cannot bind its replay.
  const short = simulate(plan.short, Infinity);
  const long = simulate(plan.long, Infinity);
  const peaks: ClassPeak[] = [];
  for (const [key, b] of long.peaks) {
    const a = short.peaks.get(key);
    if (!a) continue;
    const live = b.live.map((bytes, i) => extrapolate(a.live[i], bytes, plan, layers.length));
    peaks.push({
      bytes: extrapolate(a.bytes, b.bytes, plan, layers.length),
      live,
      moment: b.moment,
    });
  }
  const peak = highestPeak(peaks);
  const slack = (s: LayerSimulation) =>
    s.reserved.peakBytes - highestPeak(s.peaks.values()).allocatedPeakBytes;
  const reserved = peak.allocatedPeakBytes + Math.max(slack(short), slack(long));
  notes.push(
    `${layers.length} layers simulated as ${plan.short.length} and ${plan.long.length} and extrapolated; reserved keeps the larger allocator slack of the two (the card's limit, and cache flushes near it, are not simulated for an extrapolated stack)`,
  );
  return {
    log: long.log,
    peak,
    reservedPeakBytes: Math.round(reserved),
    allocatorRetries: 0,
    notes,
  };
}
