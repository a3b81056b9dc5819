// One entry point: PlanRequest -> PlanResult, every pipeline stage planned as its own rank.
import { rankShardWorld, zero3Gathers } from './memory/sharding';
import { shardingEngine } from './memory/sharding/engine';
import { estimateCost } from './performance/cost';
import { planInference } from './inference/inference-plan';
import { ModelStates, modelStates } from './memory/model-states';
import { idleTrainedElements } from './memory/idle-parameters';
import { rankChunks } from './memory/schedule';
import { RankPlacement, SimulationDepth } from './memory/rank';
import { RankSimulationJob, rankSimulationJob, simulateRank } from './memory/remembered-ranks';
import { rankMemory } from './memory/rank-memory';
import { countParameters, trainableParameters } from './model/parameters';
import { requestLora } from './model/lora-modules';
import { estimatePerformance } from './performance/performance';
import {
  rankParameters,
  spanContents,
  StageSpan,
  stageLabel,
  virtualStageSpans,
} from './model/placement';
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

/** ZeRO-3 over one rank with its parameters on the GPU has nothing to shard or gather (FSDP
 * falls back to NO_SHARD), so its memory is ZeRO-2's. */
function withoutEmptySharding(request: PlanRequest, layout: PlanLayout, notes: Set<string>) {
  const { world } = rankShardWorld(request, layout);
  if (request.parallelism.zeroStage !== 3 || zero3Gathers(request, world)) return request;
  notes.add('ZeRO-3 over one data-parallel rank gathers nothing: planned as ZeRO-2');
  return { ...request, parallelism: { ...request.parallelism, zeroStage: 2 as const } };
}

// A training rank's last stage computes the head's logits and the loss.
const HEAD_ROLE = 'output head and loss';

/** A rank's name: its stage, or under an interleaved schedule its virtual stages. */
function rankLabel(chunks: StageSpan[], stages: number, rank: number): string {
  if (chunks.length === 1) return stageLabel(chunks[0], stages, HEAD_ROLE);
  const parts = chunks.map((span) => spanContents(span, HEAD_ROLE));
  return `pipeline rank ${rank} of ${stages} (virtual stages ${chunks.map((c) => c.stage).join(', ')}: ${parts.join('; ')})`;
}

/** The virtual stages' spans of a training request (torchtitan's weighting of the ends). */
export function stageSpans(request: PlanRequest, arch: ModelArchitecture): StageSpan[] {
  const { pipelineParallel, virtualStages } = request.parallelism;
  return virtualStageSpans(arch.numLayers, pipelineParallel * virtualStages, {
    firstStageLessLayers: request.runtime.pipelineFirstStageLessLayers,
    lastStageLessLayers: request.runtime.pipelineLastStageLessLayers,
  });
}

/** What one pipeline rank is simulated with, and what its memory adds outside the simulation. */
interface RankSetup {
  states: ModelStates[];
  placement: RankPlacement;
  /** Bytes on the card outside the caching allocator (context, NCCL, paged states). */
  outsideAllocator: number;
  /** Its simulation, the allocator budgeted the card less what lives outside it and the margin. */
  job: RankSimulationJob;
}

/** Each pipeline rank's placement and simulation, from the request as planned. */
function rankSetups(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  depth: SimulationDepth,
): RankSetup[] {
  const worlds = rankShardWorld(request, layout);
  const lora = requestLora(arch, request);
  const overhead = runtimeOverheadBytes(request, layout);
  const { pipelineParallel: stages } = request.parallelism;
  const spans = stageSpans(request, arch);
  return Array.from({ length: stages }, (_, rank) => {
    const chunks = rankChunks(spans, stages, rank);
    const states = chunks.map((span) =>
      modelStates(
        request,
        rankParameters(arch, span, layout, lora),
        worlds,
        idleTrainedElements(request, arch, span, layout, lora),
      ),
    );
    const paged = states.reduce((t, s) => t + s.pagedOptimizerStates, 0);
    const outsideAllocator = overhead + paged;
    const budget = gpu.memoryBytes - outsideAllocator - request.runtime.safetyMarginBytes;
    const placement = { chunks, rank, virtualStages: spans.length };
    const job = rankSimulationJob(request, arch, gpu, layout, placement, budget, depth);
    return { states, placement, outsideAllocator, job };
  });
}

/** The rank simulations planning a normalized request runs, as plain data another thread can
 * run (remembered-ranks.ts runRankSimulationJob): none for a request the engine refuses or an
 * inference one, which simulates no training rank. */
export function rankSimulationJobs(
  requested: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  depth: SimulationDepth = 'full',
): RankSimulationJob[] {
  if (requested.workload === 'inference') return [];
  if (validateRequest(requested, arch, gpu).length > 0) return [];
  const layout = layoutOf(requested);
  const request = withoutEmptySharding(requested, layout, new Set());
  return rankSetups(request, arch, gpu, layout, depth).map((setup) => setup.job);
}

/** Per-rank memory of every pipeline stage of a training request, each simulated as a
 * timeline of tensor events (memory/rank.ts). */
export function trainingRanks(
  requested: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  depth: SimulationDepth,
): { ranks: RankMemory[]; hostPerRank: number[]; notes: string[] } {
  const notes = new Set<string>();
  const request = withoutEmptySharding(requested, layout, notes);
  const worlds = rankShardWorld(request, layout);
  if (
    shardingEngine(request, worlds.world) === 'deepspeed' &&
    request.runtime.dataParallelEngine !== 'deepspeed'
  ) {
    notes.add(
      `ZeRO-${request.parallelism.zeroStage} planned on DeepSpeed's engine, as the Hugging Face Trainer and Lightning run it (the planner has no other ZeRO-1/2 engine): an fp32 partition of the trained parameters and fp32 optimizer states`,
    );
  }
  const ranks: RankMemory[] = [];
  const hostPerRank: number[] = [];
  const stages = request.parallelism.pipelineParallel;
  for (const setup of rankSetups(request, arch, gpu, layout, depth)) {
    const { states, placement, outsideAllocator, job } = setup;
    const { chunks } = placement;
    const sum = (pick: (s: ModelStates) => number) => states.reduce((t, s) => t + pick(s), 0);
    const sim = simulateRank(job);
    sim.notes.forEach((note) => notes.add(note));
    ranks.push(
      rankMemory(sim, {
        label: rankLabel(chunks, stages, placement.rank),
        stage: placement.rank,
        layers: chunks.reduce((t, span) => t + span.layers, 0),
        outsideAllocator,
        capacityBytes: gpu.memoryBytes,
        safetyMarginBytes: request.runtime.safetyMarginBytes,
        modelStateBytes: sum(
          (s) =>
            s.weights + s.gradients + s.optimizerStates + s.pagedOptimizerStates + s.masterWeights,
        ),
      }),
    );
    hostPerRank.push(sum((s) => s.hostBytes));
    const paging = pagedOverflowNote(
      ranks[ranks.length - 1],
      sum((s) => s.pagedOptimizerStates),
    );
    if (paging) notes.add(paging);
  }
  return { ranks, hostPerRank, notes: [...notes] };
}

/** Paged 8-bit AdamW keeps its states in CUDA managed memory, which the driver moves to the host
 * when the card runs out (QLoRA paper, Dettmers et al. 2023, "Paged Optimizers"; bitsandbytes'
 * paged optimizers): a rank over the card by less than them pages them out instead of failing.
 * The figures still count them on the card, where they sit while there is room. */
function pagedOverflowNote(rank: RankMemory, pagedBytes: number): string | undefined {
  const over = -rank.headroomBytes;
  if (rank.fits || pagedBytes === 0 || over > pagedBytes) return undefined;
  const gib = (bytes: number) => (bytes / GIB).toFixed(2);
  return `${rank.label} is ${gib(over)} GiB over the card, less than its paged 8-bit AdamW states (${gib(pagedBytes)} GiB): they live in CUDA managed memory, which moves to the host when the card runs out (the QLoRA paper's paged optimizers), so the run would page them out, slower, rather than fail`;
}

function trainingAssumptions(request: PlanRequest, notes: string[]): string[] {
  const r = request.runtime;
  return [
    `preset '${r.preset}': attention ${r.attention}, ${r.fusedKernels ? 'fused' : 'eager'} norms and activations, ${r.crossEntropy} cross-entropy, ${r.mixedPrecisionStyle} mixed precision, ${r.modelCode} model code, ${r.dataParallelEngine} gradient sync`,
    `PyTorch's caching allocator simulated with expandable segments ${r.expandableSegments ? 'on' : 'off'}, up to the card less the CUDA context, NCCL buffers and the safety margin`,
    `CUDA context ${(r.cudaContextBytes / GIB).toFixed(2)} GiB and NCCL ${(r.ncclBytes / GIB).toFixed(2)} GiB per communicator group outside the allocator`,
    `safety margin ${(r.safetyMarginBytes / GIB).toFixed(2)} GiB kept free on every card`,
    "training simulated as a timeline of tensor events (the model built, then three optimizer steps: the first creates the optimizer states, the later ones show the steady state the allocator settles into): allocated peak read off it, reserved from a simulation of PyTorch's caching allocator",
    'gradients are freed by zero_grad(set_to_none=True) unless accumulated or preallocated by the framework',
    ...notes,
  ];
}

/** What the simulated caching allocator met at the card's limit: cache flushes, or the end. */
function allocatorWarnings(ranks: RankMemory[]): string[] {
  const warnings: string[] = [];
  for (const rank of ranks) {
    const dying = rank.outOfMemoryAt;
    if (dying) {
      const where = dying.layer >= 0 ? `${dying.what} ${dying.layer}` : dying.what;
      warnings.push(
        `${rank.label} runs out of memory in ${dying.phase} (${where}, micro-batch ${dying.microBatch}) even after the caching allocator empties its cache`,
      );
    } else if ((rank.allocatorRetries ?? 0) > 0) {
      warnings.push(
        `${rank.label} fits only because the caching allocator empties its cache and retries ${rank.allocatorRetries} times in the steps simulated (num_alloc_retries): each retry stalls the step; expandable_segments:True in PYTORCH_CUDA_ALLOC_CONF or a smaller micro-batch leaves room`,
      );
    }
  }
  return warnings;
}

/** Plans a normalized request against a resolved architecture and GPU. */
export function planFromRequest(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  depth: SimulationDepth = 'full',
): PlanResult {
  const errors = validateRequest(request, arch, gpu);
  if (errors.length > 0) throw new PlanValidationError(errors);
  if (request.workload === 'inference') return planInference(request, arch, gpu);

  const layout = layoutOf(request);
  const { ranks, hostPerRank, notes } = trainingRanks(request, arch, gpu, layout, depth);
  const worst = ranks.reduce((a, b) => (b.deviceUsedBytes > a.deviceUsedBytes ? b : a));
  const counts = countParameters(arch);
  const parameters = {
    total: counts.total,
    trainable: trainableParameters(arch, request.training, requestLora(arch, request)),
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
  }
  warnings.push(...allocatorWarnings(ranks));
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
