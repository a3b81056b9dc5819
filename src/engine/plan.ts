// One entry point: PlanRequest -> PlanResult, every pipeline stage planned as its own rank.
import {
  autocastOverFp32,
  bitsandbytesKeepsInputs,
  quantizedLinearInputBytes,
  stageActivations,
} from './memory/activations';
import { fsdpGathers, transientBuffers, zero3Gathers } from './memory/buffers';
import { estimateCost } from './performance/cost';
import { planInference } from './inference/inference-plan';
import { headApplications, logitsAndLoss } from './memory/logits';
import { modelStates, quantizedHeadElements } from './memory/model-states';
import { countParameters, trainableParameters } from './model/parameters';
import { rankPeak } from './memory/peak';
import { estimatePerformance } from './performance/performance';
import { microBatchesInFlight } from './memory/pipeline';
import { rankParameters, splitLayers, stageLabel } from './model/placement';
import { layoutOf } from './request/layout';
import { runtimeOverheadBytes } from './memory/runtime';
export { layoutOf } from './request/layout';
import {
  ENGINE_VERSION,
  GpuSpec,
  ModelArchitecture,
  PlanLayout,
  PlanRequest,
  PlanResult,
  PlanValidationError,
  RankMemory,
} from './vocabulary';
import { requestWarnings, validateRequest } from './request/validate';

const GIB = 1024 ** 3;

/** Per-rank memory of every pipeline stage of a training request. */
export function trainingRanks(
  requested: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
): { ranks: RankMemory[]; hostPerRank: number[]; notes: string[] } {
  const shardDegree = layout.dataParallel * layout.contextParallel; // FSDP shards over dp x cp
  const notes = new Set<string>();
  // ZeRO-3 over one rank with its parameters on the GPU has nothing to shard or gather (FSDP
  // falls back to NO_SHARD), so its memory is ZeRO-2's: the head gradient and AMP's casts too.
  const gathersNothing =
    requested.parallelism.zeroStage === 3 && !zero3Gathers(requested, shardDegree);
  const request: PlanRequest = gathersNothing
    ? { ...requested, parallelism: { ...requested.parallelism, zeroStage: 2 } }
    : requested;
  if (gathersNothing) {
    notes.add('ZeRO-3 over one data-parallel rank gathers nothing: planned as ZeRO-2');
  }
  const { training, parallelism, runtime } = request;
  const lora = training.method === 'full' ? undefined : training.lora;
  const expertShardDegree = Math.max(1, shardDegree / layout.expertParallel);
  const overhead = runtimeOverheadBytes(request, layout);
  const microBatches = training.gradientAccumulationSteps;
  // Gradients kept between steps (the knob, which the megatron and deepspeed presets set) or
  // accumulated over micro-batches exist before backward starts.
  const gradientsPersist = microBatches > 1 || !runtime.gradientsSetToNone;
  const e = training.precision === 'fp32' ? 4 : 2;

  const ranks: RankMemory[] = [];
  const hostPerRank: number[] = [];
  for (const span of splitLayers(arch.numLayers, parallelism.pipelineParallel)) {
    const params = rankParameters(arch, span, layout, lora);
    const states = modelStates(request, params, shardDegree, expertShardDegree);
    const inFlight = microBatchesInFlight(
      parallelism.pipelineSchedule,
      span.stage,
      parallelism.pipelineParallel,
      microBatches,
      parallelism.virtualStages,
    );
    const activations = stageActivations(arch, request, span.firstLayer, span.layers, inFlight);
    const logits = span.hasHead ? logitsAndLoss(arch, request, params.paddedVocab) : null;
    let persistentGradients = gradientsPersist ? states.gradients : 0;
    if (
      microBatches > 1 &&
      runtime.unshardedGradientAccumulation &&
      parallelism.zeroStage >= 2 &&
      states.gradients > 0
    ) {
      // FSDP's no_sync accumulates the unsharded gradient (in the unsharded parameter's dtype)
      // until the last micro-batch reduce-scatters it.
      const unshardedBytes =
        runtime.mixedPrecisionStyle === 'fsdp2' && training.precision !== 'fp32'
          ? 2
          : states.stateBytes.gradient;
      persistentGradients = states.trainableElements * unshardedBytes;
      notes.add(
        'accumulation without gradient sync: unsharded gradients held between micro-batches',
      );
    }
    const headElements =
      span.hasHead && !arch.sequenceClassificationLabels
        ? (params.paddedVocab / layout.tensorParallel) * arch.hiddenSize
        : 0;
    const buffers = transientBuffers(
      request,
      params,
      states,
      layout.dataParallel,
      headElements,
      headApplications(request),
    );
    buffers.notes.forEach((n) => notes.add(n));
    const tokens = (training.microBatchSize * training.sequenceLength) / layout.contextParallel;
    const widest = Math.max(
      arch.hiddenSize,
      arch.moe ? arch.moe.expertIntermediateSize : arch.intermediateSize,
    );
    // Autograd holds a gradient output and input of the widest op of the layer in backward.
    const backwardWorkspace = (2 * e * widest * tokens) / layout.tensorParallel;
    // Checkpointed layers (full, or the recomputed ops of selective) are rebuilt in backward.
    const recomputedLayer =
      training.activationCheckpointing === 'none' ? 0 : activations.layerWorkingSet;
    // The head's weight gradient appears in the head's backward (DeepSpeed ZeRO-3 counts it as
    // a unit's unsharded gradient; a fused loss makes it in forward; persisting gradients
    // include it). FSDP makes it unsharded, in the gathered dtype, in the root unit.
    const fsdpRoot = fsdpGathers(request, states.shardDegree);
    const headTrains =
      span.hasHead &&
      training.method === 'full' &&
      runtime.crossEntropy !== 'fused' &&
      !gradientsPersist &&
      (parallelism.zeroStage < 3 || fsdpRoot);
    const headGradientBytes = fsdpRoot ? states.gatheredWeightBytes : states.stateBytes.gradient;
    const headGradient = headTrains ? headElements * headGradientBytes : 0;
    // It stays while unsharded: until the step, until the tied embedding's backward adds to it,
    // or until FSDP reduce-scatters the root unit once the embedding's backward has run (a head
    // unit of its own is reduce-scattered at once).
    const headGradientStays =
      (fsdpRoot && !runtime.fsdpEmbeddingUnits) ||
      (parallelism.zeroStage < 2 &&
        (!runtime.optimizerInBackward || (arch.tieWordEmbeddings && span.hasEmbedding)));
    // A tied head's gradient waits in autograd's input buffer until the embedding's own V x h
    // gradient arrives and the two are summed: two extra V x h buffers at backward's end in the
    // parameter dtype, one where autocast hands the head's gradient over as a fresh fp32 cast
    // (anatomy of the H100 runs, tools/measure/anatomy.py).
    const tiedGradientSum =
      headTrains && arch.tieWordEmbeddings && span.hasEmbedding
        ? (autocastOverFp32(request) ? 1 : 2) * headGradient
        : 0;
    // litgpt's loop reassigns `logits` and `loss` only once the next forward has made new ones:
    // the previous micro-batch's logits, and the 4-bit linears' inputs its graph keeps as ctx
    // attributes, live through this forward.
    const previousStep = { activations: 0, logits: 0 };
    if (runtime.previousStepAlive) {
      previousStep.logits = logits ? logits.retained : 0;
      const heldByBitsandbytes =
        bitsandbytesKeepsInputs(request) && training.activationCheckpointing === 'none';
      if (heldByBitsandbytes) {
        const quantizedHead = quantizedHeadElements(request, params) > 0;
        previousStep.activations = quantizedLinearInputBytes(
          arch,
          request,
          span.firstLayer,
          span.layers,
          quantizedHead,
        );
        notes.add(
          "previous micro-batch: the loop's logits and bitsandbytes' saved 4-bit linear inputs live through the next forward",
        );
      } else if (previousStep.logits > 0) {
        notes.add("previous micro-batch: the loop's logits live through the next forward");
      }
    }
    const rank = rankPeak(
      {
        label: stageLabel(span, parallelism.pipelineParallel, 'output head and loss'),
        stage: span.stage,
        layers: span.layers,
        states,
        activations,
        logits,
        buffers,
        persistentGradients,
        backwardWorkspace,
        recomputedLayer,
        headGradient,
        headGradientStays,
        tiedGradientSum,
        previousStep,
        runtimeOverhead: overhead + states.pagedOptimizerStates,
        fragmentation: runtime.allocatorFragmentation,
        capacityBytes: gpu.memoryBytes,
        safetyMarginBytes: runtime.safetyMarginBytes,
      },
      runtime.optimizerInBackward,
    );
    ranks.push(rank);
    hostPerRank.push(states.hostBytes);
  }
  return { ranks, hostPerRank, notes: [...notes] };
}

function trainingAssumptions(request: PlanRequest, notes: string[]): string[] {
  const r = request.runtime;
  return [
    `preset '${r.preset}': attention ${r.attention}, ${r.fusedKernels ? 'fused' : 'eager'} norms and activations, ${r.crossEntropy} cross-entropy, ${r.mixedPrecisionStyle} mixed precision, ${r.modelCode} model code, ${r.dataParallelEngine} gradient sync`,
    `allocator fragmentation ${(r.allocatorFragmentation * 100).toFixed(0)}% over allocated (reserved peak)`,
    `CUDA context ${(r.cudaContextBytes / GIB).toFixed(2)} GiB and NCCL ${(r.ncclBytes / GIB).toFixed(2)} GiB per communicator group outside the allocator`,
    `safety margin ${(r.safetyMarginBytes / GIB).toFixed(2)} GiB kept free on every card`,
    'peak = largest of the forward-end, backward and optimizer-step totals, after the first step',
    'gradients are freed by zero_grad(set_to_none=True) unless accumulated or preallocated by the framework',
    ...notes,
  ];
}

/** Plans a normalized request against a resolved architecture and GPU. */
export function planFromRequest(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
): PlanResult {
  const errors = validateRequest(request, arch, gpu);
  if (errors.length > 0) throw new PlanValidationError(errors);
  if (request.workload === 'inference') return planInference(request, arch, gpu);

  const layout = layoutOf(request);
  const { ranks, hostPerRank, notes } = trainingRanks(request, arch, gpu, layout);
  const worst = ranks.reduce((a, b) => (b.deviceUsedBytes > a.deviceUsedBytes ? b : a));
  const counts = countParameters(arch);
  const parameters = {
    total: counts.total,
    trainable: trainableParameters(arch, request.training),
    active: counts.active,
  };
  const performance = estimatePerformance(request, arch, gpu, layout, parameters);
  const cost = estimateCost(request, gpu, layout, performance);
  const hostPerNodeBytes = Math.round(Math.max(...hostPerRank) * request.cluster.gpusPerNode);

  const warnings = requestWarnings(request, arch, layout.dataParallel);
  if (!worst.fits) {
    warnings.push(
      `does not fit: ${worst.label} needs ${(worst.deviceUsedBytes / GIB).toFixed(1)} GiB of ${(gpu.memoryBytes / GIB).toFixed(1)} GiB; ${worst.dominantComponent} dominates`,
    );
    // PyTorch's caching allocator frees its unused cached blocks and retries before it raises
    // out-of-memory, so a shortfall no larger than the cache (reserved - allocated) may pass.
    const cache = (rank: RankMemory) => rank.reservedPeakBytes - rank.allocatedPeakBytes;
    if (ranks.every((rank) => rank.headroomBytes + cache(rank) >= 0)) {
      const allocatedUsed = worst.deviceUsedBytes - cache(worst);
      warnings.push(
        `only the allocator's cache overflows: ${worst.label}'s allocated peak with the CUDA context and NCCL buffers (${(allocatedUsed / GIB).toFixed(1)} GiB) fits under the card less the safety margin, and PyTorch frees cached blocks and retries before it raises out-of-memory, so the run may go, slower; expandable_segments:True in PYTORCH_CUDA_ALLOC_CONF lowers fragmentation`,
      );
    }
  }
  if (hostPerNodeBytes > 0) {
    warnings.push(
      `offload keeps ${(hostPerNodeBytes / GIB).toFixed(1)} GiB in host memory per node (DeepSpeed's estimator adds a 1.5x margin)`,
    );
  }
  return {
    engineVersion: ENGINE_VERSION,
    request,
    model: { id: arch.id, name: arch.name, parameters },
    layout,
    memory: { perGpu: worst, ranks, hostPerNodeBytes },
    performance,
    cost,
    warnings,
    assumptions: trainingAssumptions(request, notes),
  };
}
