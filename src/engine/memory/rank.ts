// One rank simulated: its stage's model built from the recipe, its training loop run as a
// timeline, the peaks read off it and reserved memory replayed through the caching allocator.
import { countParameters } from '../model/parameters';
import { StageSpan } from '../model/placement';
import { dtypePolicy } from '../request/dtype-policy';
import { GpuSpec, ModelArchitecture, PlanLayout, PlanRequest } from '../vocabulary';
import { CachingAllocator } from './allocator';
import { EventLog } from './autograd/events';
import { AutocastWeights, Nn, STORED_WEIGHTS } from './autograd/nn';
import { Ops } from './autograd/ops';
import { Runtime } from './autograd/runtime';
import { buildRankModel } from './model/build';
import { StageModel, StageSettings } from './model/causal-lm';
import { LossSettings } from './model/loss';
import { nf4BytesPerWeight } from './model-states';
import { OptimizerSettings } from './optimizer';
import { readPeak, TimelinePeak } from './peaks';
import { layerRecipe } from './recipes';
import { KernelChoice, sdpaKernel } from './recipes/attention-kernel';
import { trainingTimeline } from './timeline';

export interface RankSimulation {
  log: EventLog;
  peak: TimelinePeak;
  reservedPeakBytes: number;
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
    finalNorm: arch.norm === 'rmsnorm' ? 'rms' : 'layer',
  };
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

export function simulateRank(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  span: StageSpan,
): RankSimulation {
  const policy = dtypePolicy(request);
  const runtime = new Runtime();
  const ops = new Ops(runtime);
  const precision = {
    matmul: policy.compute,
    autocast: policy.autocast,
    quantization: request.runtime.quantizationKernel,
  };
  const weights = policy.autocast ? new AutocastWeights(policy.compute) : STORED_WEIGHTS;
  const nn = new Nn(ops, precision, weights);
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
  const model = buildRankModel(context, span, recipe);
  void countParameters;
  const stage = new StageModel(nn, model, recipe, stageSettings(arch, request, layout));
  const full = request.training.method === 'full';
  const log = trainingTimeline(runtime, {
    stage,
    optimizer: optimizerSettings(
      request,
      (full ? policy.trained : policy.adapter).optimizerElement,
    ),
    microBatches: Math.min(request.training.gradientAccumulationSteps, 3),
    steps: 2,
    blasWorkspaceBytes: blasWorkspace(gpu),
    retainLogits: request.runtime.retainLogits,
  });
  const peak = readPeak(log, 2);
  return { log, peak, reservedPeakBytes: replayReserved(log) };
}

/** Reserved memory: the log replayed through PyTorch's caching allocator. */
export function replayReserved(log: EventLog): number {
  const allocator = new CachingAllocator({});
  for (let i = 0; i < log.length; i++) {
    if (log.kind[i] > 0) allocator.malloc(log.key[i], log.bytes[i], log.stream[i]);
    else allocator.free(log.key[i]);
  }
  return allocator.peakReservedBytes;
}
