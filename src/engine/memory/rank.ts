// One rank simulated: its stage's model built from the recipe, its training loop run as a
// timeline, the peaks read off it and reserved memory replayed through the caching allocator.
import { StageSpan } from '../model/placement';
import { dtypePolicy } from '../request/dtype-policy';
import { GpuSpec, ModelArchitecture, PlanLayout, PlanRequest } from '../vocabulary';
import { CachingAllocator } from './allocator';
import { EventLog, Moment } from './autograd/events';
import { AutocastWeights, Nn, STORED_WEIGHTS } from './autograd/nn';
import { Ops } from './autograd/ops';
import { Param, Runtime } from './autograd/runtime';
import { buildRankModel } from './model/build';
import { StageModel, StageSettings } from './model/causal-lm';
import { LossSettings } from './model/loss';
import { nf4BytesPerWeight } from './model-states';
import { createStates, OptimizerSettings, stepTemporaries } from './optimizer';
import { ClassPeak, classPeaks, highestPeak, TimelinePeak } from './peaks';
import { extrapolate, truncation } from './truncation';
import { layerRecipe } from './recipes';
import { balancedRouting } from './recipes/hf-moe';
import { AttentionPlan, hfAttentionPlan } from './recipes/attention-kernel';
import { LayerRecipe, ModelEnds } from './recipes/recipe';
import { VISION_NOTE } from './recipes/vision';
import { trainingTimeline } from './timeline';
import { applySharding, trainableInOrder } from './sharding';
import { RankModel } from './model/rank-model';

export interface RankSimulation {
  log: EventLog;
  peak: TimelinePeak;
  reservedPeakBytes: number;
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

// torchtune's CEWithChunkedOutputLoss: num_output_chunks = 8.
const TORCHTUNE_OUTPUT_CHUNKS = 8;

function lossSettings(
  arch: ModelArchitecture,
  request: PlanRequest,
  ends: ModelEnds,
): LossSettings {
  const { runtime, training } = request;
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
    fp32Logits: runtime.fp32Logits,
    softcap: Boolean(arch.finalLogitSoftcapping),
    retainLogits: runtime.retainLogits,
    classifierDropout: arch.dropout?.residual ?? 0,
  };
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
    attentionFor: attention.attentionFor,
    softcapScores: Boolean(arch.attentionLogitSoftcapping),
    sinks: Boolean(arch.attentionSinks),
    recompute: training.activationCheckpointing,
    loss: lossSettings(arch, request, ends),
    rotary: rotaryTables(arch, ends),
    scaledEmbedding: Boolean(ends.scaledEmbedding),
    embeddingDropout: arch.dropout?.embedding ?? 0,
    materializeBeforeSharding: request.runtime.materializeBeforeSharding,
    routing: arch.moe ? balancedRouting(arch.moe, tokens, layout.expertParallel) : undefined,
    finalNorm: ends.finalNorm ?? (arch.norm === 'rmsnorm' ? 'rms' : 'layer'),
    finalDropout: ends.finalDropout ?? 0,
    images: arch.vision ? training.microBatchSize * (training.imagesPerSample ?? 0) : 0,
    headInputScale: Boolean(ends.headInputScale),
  };
}

function rotaryTables(arch: ModelArchitecture, ends: ModelEnds): StageSettings['rotary'] {
  if (arch.learnedPositionEmbeddings > 0 || ends.rotaryBuffer) return false;
  return ends.rotaryFp32 ? 'fp32' : 'hidden';
}

/** The attention each layer runs for the request, as the model code dispatches it. */
function attentionPlan(
  recipe: LayerRecipe,
  arch: ModelArchitecture,
  request: PlanRequest,
  layout: PlanLayout,
): AttentionPlan {
  const asked = {
    arch,
    asked: request.runtime.attention,
    computeBytes: dtypePolicy(request).compute,
    keys: request.training.sequenceLength / layout.contextParallel,
  };
  return recipe.attention ? recipe.attention(asked) : hfAttentionPlan(asked);
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
  reservedPeakBytes: number;
}

const momentKey = (m: Moment) => `${m.step}|${m.phase}|${m.what}|${m.layer}|${m.microBatch}`;

function simulateLayers(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  span: StageSpan,
  layers: number[],
): LayerSimulation {
  const policy = dtypePolicy(request);
  const runtime = new Runtime();
  const ops = new Ops(runtime);
  ops.softmaxSavesInput = request.runtime.softmaxSavesInput;
  const nn = new Nn(ops, precisionOf(request), weightAccess(policy));
  const recipe = layerRecipe(arch, request);
  const attention = attentionPlan(recipe, arch, request, layout);
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
  const stage = new StageModel(
    nn,
    model,
    recipe,
    stageSettings(arch, request, layout, recipe, attention),
    () => sharding.afterBuild(),
  );
  const full = request.training.method === 'full';
  const optimizer = optimizerSettings(
    request,
    (full ? policy.trained : policy.adapter).optimizerElement,
  );
  const log = trainingTimeline(runtime, {
    stage,
    optimizer: stepInBackward(runtime, request, model, optimizer),
    microBatches: Math.min(request.training.gradientAccumulationSteps, 3),
    steps: 3, // as the harness measures: the allocator settles over the first steps
    blasWorkspaceBytes: blasWorkspace(gpu),
    retainLogits: request.runtime.retainLogits,
  });
  return { log, peaks: classPeaks(log, 2, momentKey), reservedPeakBytes: replayReserved(log) };
}

/** torchtune's optimizer_in_bwd (recipes/full_finetune_single_device.py; torchtune/training/
 * memory.py register_optim_in_bwd_hooks): one optimizer per parameter, stepped by a
 * post-accumulate-grad hook as soon as its gradient exists, then the gradient freed, so at most
 * the gradients of one layer's backward are alive. The optimizer phase then has nothing left to
 * allocate, which the timeline is told by settings that make no events there. */
function stepInBackward(
  rt: Runtime,
  request: PlanRequest,
  model: RankModel,
  optimizer: OptimizerSettings,
): OptimizerSettings {
  const { runtime, training } = request;
  if (!runtime.optimizerInBackward || training.method !== 'full') return optimizer;
  const stepped = new Set<Param>();
  for (const param of trainableInOrder(model)) {
    const earlier = param.afterGradient;
    param.afterGradient = (p) => {
      earlier?.(p);
      if (!stepped.has(p)) createStates(rt, optimizer, [p]);
      stepped.add(p);
      stepTemporaries(rt, optimizer, [p]);
      rt.release(p.grad); // optimizer.zero_grad(set_to_none=True) inside the hook
      p.grad = undefined;
    };
  }
  return { ...optimizer, offDevice: true };
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

/** One rank: its stage simulated whole, or as two truncated stacks extrapolated to its
 * layer count (truncation.ts). */
export function simulateRank(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  span: StageSpan,
): RankSimulation {
  const layers = Array.from({ length: span.layers }, (_, i) => span.firstLayer + i);
  const plan = truncation(arch, layers);
  const notes = attentionPlan(layerRecipe(arch, request), arch, request, layout).notes;
  if (arch.vision && span.hasEmbedding) {
    notes.push(VISION_NOTE(arch.vision, request.training.imagesPerSample ?? 0));
  }
  if (!plan) {
    const whole = simulateLayers(request, arch, gpu, layout, span, layers);
    const peak = highestPeak(whole.peaks.values());
    return { log: whole.log, peak, reservedPeakBytes: whole.reservedPeakBytes, notes };
  }
  const short = simulateLayers(request, arch, gpu, layout, span, plan.short);
  const long = simulateLayers(request, arch, gpu, layout, span, plan.long);
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
    s.reservedPeakBytes - highestPeak(s.peaks.values()).allocatedPeakBytes;
  const reserved = peak.allocatedPeakBytes + Math.max(slack(short), slack(long));
  notes.push(
    `${layers.length} layers simulated as ${plan.short.length} and ${plan.long.length} and extrapolated; reserved keeps the larger allocator slack of the two`,
  );
  return { log: long.log, peak, reservedPeakBytes: Math.round(reserved), notes };
}

/** Reserved memory: the log replayed through PyTorch's caching allocator; the peak counts from
 * the first training step on (torch.cuda.max_memory_reserved after the setup's empty_cache). */
export function replayReserved(log: EventLog): number {
  const allocator = new CachingAllocator({});
  let peak = 0;
  for (let i = 0; i < log.length; i++) {
    const kind = log.kind[i];
    if (kind > 0) allocator.malloc(log.key[i], log.bytes[i], log.stream[i]);
    else if (kind < 0) allocator.free(log.key[i]);
    else allocator.emptyCache();
    if (log.moments[log.moment[i]].step >= 1) peak = Math.max(peak, allocator.reservedBytes);
  }
  return peak;
}
