// The layout search's fast memory bound: what a candidate's worst rank would use, estimated from
// short-stack plans instead of its own timeline, so a search can screen and order thousands of
// layouts and run the full timeline only on its finalists (issue 20: "The search may rank
// candidates with a fast bound and run the full timeline on its finalists").
//
// Every simulated figure comes from planFromRequest with the model's stack cut to a few whole
// periods of its layer pattern, as one pipeline stage; the timeline stays a black box. A phase's
// allocated peak (forward/backward, optimizer step) is a line in the layer count (truncation.ts's
// reason: each layer of a kind allocates, saves and frees the same tensors). Two probe families,
// each shared by every candidate with the same key, split what shapes memory:
// - sharding probes, per (tensor and expert parallel, ZeRO stage, offload): a fixed small
//   micro-batch, planned over two data-parallel degrees. A phase's peak is taken as
//   N(layers) + k x V(layers, shard), V the model states modelStates() gives (the closed form the
//   plan reports modelStateBytes with) and k fitted from the two degrees, so the timeline's own
//   sharding (what it shards, what it keeps gathered, DDP's buckets) is measured, not assumed;
// - activation probes, per (tensor, context and expert parallel, recompute, micro-batch): ZeRO-3
//   over eight data-parallel ranks, so model states barely count (ZeRO-1 and 2 candidates whose
//   fp32 parameters are cast on use get their own stage: activationZero); their forward/backward
//   peak less the same probe at the sharding probes' sequence is what the candidate's
//   activations add. Each micro-batch is probed: a line through one and two sequences put
//   Qwen2.5-7B at eight 59.7% of the card high.
// Candidate = max(sharding forward/backward + activations added, sharding optimizer step), for
// each pipeline rank at its own layer count, shard degree and share of the model's ends (the
// plan's own split into stages). A pipeline rank adds what its schedule keeps beyond one
// micro-batch (inFlightAdded: micro-batches in flight and what torch.distributed.pipelining keeps
// per micro-batch), and under FSDP its sharding probes run as a pipeline stage (pipelinedFsdp).
// Device used adds the CUDA context and NCCL (runtime.ts), paged optimizer states and the
// pipeline's persistent buffers. It is an allocated-memory bound: the caching allocator's slack is left
// out, because it follows no line (Llama-3-8B, ZeRO-3 over 64 ranks, full recompute: 4.6, 7.1
// and 1.8 GiB at one, two and four sequences) and a probe's slack carried over put the bound up
// to 16% of the card above full plans on a 64-GPU search.
// Approximations: a peak is a maximum over moments, and the sum of two probes' maxima can sit
// above it (the activation-heavy and the gradient-heavy moments differ), which is the bound's
// overshoot (BOUND_TOLERANCE); the allocator's slack is left out, so the bound errs low by it;
// accumulation beyond two micro-batches is taken as two (a pipeline's are counted exactly).
// docs/memory-model.md "The search's memory bound" says the same for readers.
import { modelStates } from '../memory/model-states';
import { runtimeOverheadBytes } from '../memory/runtime';
import { rankShardWorld } from '../memory/sharding';
import { pattern } from '../memory/truncation';
import { firstLayers, layerKind } from '../model/layers';
import { RankParameters, rankParameters, splitLayers } from '../model/placement';
import { requestLora } from '../model/lora-modules';
import { idleTrainedElements } from '../memory/idle-parameters';
import { pipelineSettings } from '../memory/rank';
import {
  ChunkRole,
  InFlightMoment,
  inFlightMoments,
  rankChunks,
  scheduleShape,
} from '../memory/schedule';
import { planFromRequest, stageSpans } from '../plan';
import { dtypePolicy } from '../request/dtype-policy';
import { layoutOf } from '../request/layout';
import {
  GpuSpec,
  ModelArchitecture,
  PlanLayout,
  PlanRequest,
  RankMemory,
  Recompute,
  ZeroStage,
} from '../vocabulary';

/** How far the bound may sit above the full plan's device used, as a fraction of the card: the
 * search trusts a bound this far and no further (finalists.ts), so it is what results depend on.
 * Planning every layout of three searches in full (Llama-3-8B at 4k on 8 and on 64 A100 40GB,
 * Llama-3-70B at 8k on 64 H100 80GB: 3,515 layouts that fit) found it at most 0.5% over; a sum
 * of two probes' peaks reached at different moments can sit higher, and bound.spec.ts holds
 * other models, presets and experts to this. Erring low only costs finalists. */
export const BOUND_TOLERANCE = 0.06;
// The most a phase keeps per parameter of the model's ends besides their states: the foreach
// step's exp_avg_sq.sqrt() list (4 B, torch/optim/adamw.py _multi_tensor_adamw), an fp32
// gradient bucket copy (4 B), and room for two more fp32 copies (8 B). Only a cap: too high
// costs finalists, and the true amount comes from the probes.
const ENDS_EXTRA_BYTES = 16;
// Layers a probe stack holds at least: at one or two layers the peak can sit at a moment that
// longer stacks never reach (the embedding's or the loss's), so the lines start at three.
const MIN_PROBE_LAYERS = 3;
// A second micro-batch shows what gradient accumulation keeps alive; more only repeat it.
const PROBE_MICRO_BATCHES = 2;
// Data-parallel ranks of the two sharding probes (the second twice the first), and of the
// activation probes: enough that ZeRO-3's shards are an eighth of the states.
const SHARDING_RANKS = 2;
const ACTIVATION_RANKS = 8;
// The sharding probes' activations: one sequence, nothing recomputed (the forward/backward peak
// then sits early in backward, where the activations are, as it does for most candidates).
const REFERENCE_ACTIVATIONS = { microBatchSize: 1, activationCheckpointing: 'none' as Recompute };

/** The bound's figures for one candidate (its worst rank). */
export interface BoundFigures {
  deviceUsedBytes: number;
  headroomBytes: number;
}

/** A value at the longer probe's layer count and its slope per layer. */
interface Line {
  at: number;
  slope: number;
  layers: number;
}

/** N + k x V for one phase: the peak less the model states, and how much of the closed-form
 * states the timeline holds then. */
interface PhaseFit {
  rest: Line;
  perState: number;
}

interface ShardingFit {
  forwardBackward: PhaseFit;
  optimizer: PhaseFit;
  /** The gradients the probes held at their peak. */
  gradients: Line;
}

/** What a candidate's activations add to the sharding fit's forward/backward peak, and the
 * logits and loss its probes held then (only the last pipeline stage computes them). */
interface ActivationsAdded {
  at: (layers: number) => number;
  /** What one micro-batch keeps saved per layer until its backward (savedPerLayer). */
  savedPerLayer: number;
  logitsAndLoss: number;
  /** The same in the reference probes (one sequence, nothing recomputed). */
  referenceLogitsAndLoss: number;
}

interface ActivationLine {
  forwardBackward: Line;
  /** The slope of the activations live at the probes' peaks: what each layer saves. */
  savedPerLayer: number;
  /** The longer probe's logits and loss at its peak. */
  logitsAndLoss: number;
}

/** A pipeline stage's layer count and closed-form model states. */
interface StageStates extends StageShape {
  /** Weights, gradients, optimizer states and master copy the caching allocator holds. */
  states: number;
  /** Paged optimizer states: on the device, outside the allocator. */
  paged: number;
}

/** What a pipeline rank holds of the model, whatever its sharding. */
interface StageShape {
  layers: number;
  /** Its virtual stages, in the order the schedule numbers them. */
  chunks: ChunkRole[];
  /** Whether it computes the output head, the logits and the loss. */
  hasHead: boolean;
  /** Parameters it holds of the weights outside the decoder layers (embedding, head, final
   * norm), and the whole model's: equal without pipeline parallelism. */
  endsParameters: number;
  modelEndsParameters: number;
}

/** modelStates() of one rank under the request's ZeRO stage and offload and `layout`'s shards. */
function shardedStates(
  request: PlanRequest,
  params: RankParameters,
  layout: PlanLayout,
  idle: number,
) {
  return modelStates(request, params, rankShardWorld(request, layout), idle);
}

function allocatorStates(s: ReturnType<typeof modelStates>): number {
  return s.weights + s.gradients + s.optimizerStates + s.masterWeights;
}

function lineThrough(short: { layers: number; value: number }, long: typeof short): Line {
  const span = long.layers - short.layers;
  const slope = span > 0 ? (long.value - short.value) / span : 0;
  return { at: long.value, slope, layers: long.layers };
}

function valueAt(line: Line, layers: number): number {
  return line.at + (layers - line.layers) * line.slope;
}

/** A probe line's value at a pipeline rank. The probes hold the whole model's ends, so the
 * line's value at no layers holds what the ends keep besides their states: `logits` of it (the
 * head's logits and loss) belongs to the head's rank alone, the rest by the rank's share of the
 * ends' weights (the embedding's and head's gradient buckets and optimizer temporaries). That
 * value also holds what is no layer's own (one layer's transients the peak adds), so a rank
 * drops at most ENDS_EXTRA_BYTES per ends' parameter it lacks. */
function restAt(line: Line, stage: StageShape, logits: number): number {
  const { endsParameters: held, modelEndsParameters: all } = stage;
  const ends = valueAt(line, 0);
  const logitsPart = Math.min(Math.max(logits, 0), Math.max(ends, 0));
  const lackedShare = all > 0 ? 1 - held / all : 0;
  const others = Math.max(ends - logitsPart, 0) * lackedShare;
  const dropped = Math.min(others, (all - held) * ENDS_EXTRA_BYTES);
  return valueAt(line, stage.layers) - dropped - (stage.hasHead ? 0 : logitsPart);
}

/** What a pipeline's ranks keep for their micro-batches beyond what a one-stage probe keeps.
 * torch.distributed.pipelining (timeline.ts ScheduleRunner) keeps each stage output until its
 * backward, leaves each input gradient on its receive buffer until the step ends, and holds a
 * receive and an output-gradient buffer per micro-batch for the whole run; Megatron keeps none
 * of them (all three sizes are 0 then). */
interface PipelineHeld {
  /** Each rank's moments (inFlightMoments). */
  moments: InFlightMoment[][];
  /** Bytes of a kept stage output, and of an input gradient. */
  output: number;
  inputGradient: number;
  /** Each rank's persistent receive and output-gradient buffers. */
  buffers: number[];
}

/** What a pipeline rank's micro-batches add to the probes' forward/backward peak, which kept
 * one micro-batch's activations (`saved` a layer) and nothing of the pipeline's: the most its
 * schedule holds at one moment, less that one micro-batch. At a moment before the step's first
 * backward the probes' peak (in their second micro-batch, after the first one's backward) held
 * `gradients` that moment lacks, up to one micro-batch's activations' worth: without that the
 * sum overshot a 1F1B rank 0 of Llama-3-8B with two micro-batches and unsharded gradients by
 * 10% of a 40 GB card. */
function inFlightAdded(
  stage: StageShape,
  pipeline: PipelineHeld,
  rank: number,
  saved: number,
  gradients: number,
): number {
  const one = stage.layers * saved;
  const lacked = Math.min(one, gradients);
  let most = one;
  for (const moment of pipeline.moments[rank]) {
    const kept =
      moment.layers * saved +
      moment.sentOutputs * pipeline.output +
      moment.inputGradients * pipeline.inputGradient;
    most = Math.max(most, kept - (moment.afterBackward ? 0 : lacked));
  }
  return most - one;
}

function worstRank(ranks: RankMemory[]): RankMemory {
  return ranks.reduce((a, b) => (b.deviceUsedBytes > a.deviceUsedBytes ? b : a));
}

function greatestCommonDivisor(a: number, b: number): number {
  return b === 0 ? a : greatestCommonDivisor(b, a % b);
}

/** Two stack lengths of whole periods of the layer pattern (one when the model is that short
 * or its pattern does not repeat). */
function probeLengths(arch: ModelArchitecture): number[] {
  const kinds = Array.from({ length: arch.numLayers }, (_, i) => layerKind(arch, i).key);
  const { prefix, period } = pattern(kinds);
  const long = Math.min(
    arch.numLayers,
    prefix + period * (Math.ceil(MIN_PROBE_LAYERS / period) + 1),
  );
  // A pattern as long as the stack (T5's encoder then decoder) does not repeat: the probe is
  // the whole stack, which a shorter one could not be (an encoder-decoder needs both stacks).
  const short = long - period;
  return short < 1 ? [long] : [short, long];
}

/** The ZeRO stage of the activation probes: ZeRO-3 over eight ranks, where the states barely
 * count and cancel. Where fp32 parameters are cast to 16 bits at each use (autocast, or
 * torchtitan's FSDP2 regime without FSDP to gather them in bf16: dtype-policy.ts) under ZeRO-1 or
 * 2, the casts saved for backward are activations that ZeRO-3's bf16 gathers never make, so those
 * candidates are probed at their own stage: on ZeRO-3 probes the bound came out 26% of the card
 * high for torchtitan's preset at ZeRO-2 and 11% for Hugging Face's, 0.8% and under on their own. */
function activationZero(stage: ZeroStage, castsOnUse: boolean): ZeroStage {
  return castsOnUse && (stage === 1 || stage === 2) ? stage : 3;
}

/** Whether the request's trained weights are stored wider than they compute (dtype-policy.ts). */
function castsOnUse(request: PlanRequest): boolean {
  const policy = dtypePolicy(request);
  return policy.trained.weight > policy.compute;
}

/** Whether the candidate's FSDP runs under pipelining: units stay gathered after forward and
 * gradients stay unsharded until the step's last backward (sharding/index.ts). A probe of one
 * stage must run so: planned without it, Llama-3-70B at TP 4 x PP 2 under ZeRO-3 came out 40%
 * of the card under its full plan (16 GiB of gathered weights, 16 GiB of gradients). */
function pipelinedFsdp(request: PlanRequest): boolean {
  return request.parallelism.pipelineParallel > 1 && request.parallelism.zeroStage === 3;
}

/** A probe of the candidate: one stage over `dataParallel` x its context ranks. */
function probeOf(
  request: PlanRequest,
  dataParallel: number,
  changes: { parallelism?: Partial<PlanRequest['parallelism']>; training?: object },
): PlanRequest {
  const parallelism = { ...request.parallelism, pipelineParallel: 1, ...changes.parallelism };
  const accumulation = Math.min(request.training.gradientAccumulationSteps, PROBE_MICRO_BATCHES);
  return {
    ...request,
    name: undefined,
    tags: [],
    cluster: {
      ...request.cluster,
      nodes: parallelism.contextParallel * dataParallel,
      gpusPerNode: parallelism.tensorParallel,
    },
    training: {
      ...request.training,
      tokensToTrain: 0,
      gradientAccumulationSteps: accumulation,
      ...changes.training,
    },
    parallelism,
  };
}

/** Screens and orders one search's candidates (one model, GPU, training and runtime) by an
 * estimate of their memory. */
export class MemoryBound {
  /** Short-stack plans run so far. */
  probes = 0;
  private readonly shardingFits = new Map<string, ShardingFit>();
  private readonly activationLines = new Map<string, ActivationLine>();
  private readonly added = new Map<string, ActivationsAdded>();
  private readonly stageStates = new Map<string, StageStates[]>();
  private readonly parameters = new Map<
    string,
    { shape: StageShape; params: RankParameters[]; idle: number[] }[]
  >();
  private readonly moments = new Map<string, InFlightMoment[][]>();
  private readonly lengths: number[];
  private weightsCastOnUse?: boolean;

  constructor(
    private readonly arch: ModelArchitecture,
    private readonly gpu: GpuSpec,
  ) {
    this.lengths = probeLengths(arch);
  }

  /** The estimate for a normalized training request. When the optimizer step alone is past the
   * tolerance over the card, the estimate stops there (no activation probe can bring it back). */
  estimate(request: PlanRequest): BoundFigures {
    const layout = layoutOf(request);
    const stages = this.stagesOf(request, layout);
    const sharding = this.shardingFit(request, layout);
    const outside = runtimeOverheadBytes(request, layout);
    const usable = this.gpu.memoryBytes - request.runtime.safetyMarginBytes;
    const figures = (device: number) => ({
      deviceUsedBytes: Math.round(device),
      headroomBytes: Math.round(usable - device),
    });
    const phase = (fit: PhaseFit, stage: StageStates, logits = 0) =>
      restAt(fit.rest, stage, logits) + fit.perState * stage.states;
    const pipeline = this.pipelineOf(request, layout, stages);
    // PyTorch's receive and output-gradient buffers stay allocated through every phase.
    const device = (rank: number, allocated: number) =>
      allocated + outside + stages[rank].paged + (pipeline?.buffers[rank] ?? 0);
    const step = Math.max(
      ...stages.map((stage, rank) => device(rank, phase(sharding.optimizer, stage))),
    );
    if (step > usable + BOUND_TOLERANCE * this.gpu.memoryBytes) return figures(step);
    const added = this.addedFor(request);
    const worst = stages.map((stage, rank) => {
      // Ranks without the output head compute no logits and no loss.
      const head = stage.hasHead ? 0 : added.logitsAndLoss - added.referenceLogitsAndLoss;
      const gradients = Math.max(0, valueAt(sharding.gradients, stage.layers));
      const pipelined = pipeline
        ? inFlightAdded(stage, pipeline, rank, added.savedPerLayer, gradients)
        : 0;
      const forwardBackward =
        phase(sharding.forwardBackward, stage, added.referenceLogitsAndLoss) +
        added.at(stage.layers) -
        head +
        pipelined;
      return device(rank, Math.max(forwardBackward, phase(sharding.optimizer, stage)));
    });
    return figures(Math.max(...worst));
  }

  /** What each pipeline rank keeps for its micro-batches (none without a pipeline): its
   * schedule's moments, remembered per schedule and split (accumulation varies between
   * candidates), and the sizes of what the pipeline runtime keeps per micro-batch. */
  private pipelineOf(
    request: PlanRequest,
    layout: PlanLayout,
    stages: StageStates[],
  ): PipelineHeld | undefined {
    if (stages.length === 1) return undefined;
    const shape = scheduleShape(request, stages[0].chunks.length);
    const key = JSON.stringify([shape, stages.map((stage) => stage.chunks)]);
    let moments = this.moments.get(key);
    if (!moments) {
      moments = stages.map((stage, rank) => inFlightMoments(shape, rank, stage.chunks));
      this.moments.set(key, moments);
    }
    const settings = pipelineSettings(this.arch, request, layout);
    const { rows, sentRows, cols, elementBytes } = settings.activation;
    const pytorch = settings.runtime === 'pytorch';
    const sent = pytorch ? sentRows * cols * elementBytes : 0;
    const perMicroBatch = (stage: StageStates) =>
      stage.chunks.reduce((n, chunk) => n + Number(chunk.receives) + Number(chunk.sends), 0);
    return {
      moments,
      output: sent,
      inputGradient: pytorch ? rows * cols * elementBytes : 0,
      buffers: stages.map((stage) => perMicroBatch(stage) * settings.microBatches * sent),
    };
  }

  /** One probe planned with `layers` layers: its worst rank. */
  private planned(probe: PlanRequest, layers: number): RankMemory {
    this.probes += 1;
    const arch = firstLayers(this.arch, layers);
    // Allocated peaks are all the bound reads: no allocator replay (SimulationDepth).
    return worstRank(planFromRequest(probe, arch, this.gpu, 'allocated').memory.ranks);
  }

  /** Parameters each pipeline rank holds (its virtual stages as the plan places them),
   * remembered per tensor, pipeline, virtual-stage and expert degree. */
  private stageParameters(request: PlanRequest, layout: PlanLayout) {
    const { pipelineParallel: stages, virtualStages } = request.parallelism;
    const key = `${layout.tensorParallel}/${stages}/${virtualStages}/${layout.expertParallel}`;
    let params = this.parameters.get(key);
    if (!params) {
      const lora = requestLora(this.arch, request);
      const spans = stageSpans(request, this.arch);
      const whole = splitLayers(this.arch.numLayers, 1)[0];
      const modelEndsParameters = rankParameters(this.arch, whole, layout, lora).rootUnit;
      params = Array.from({ length: stages }, (_, rank) => {
        const chunks = rankChunks(spans, stages, rank);
        const chunkParams = chunks.map((span) => rankParameters(this.arch, span, layout, lora));
        const idle = chunks.map((span) =>
          idleTrainedElements(request, this.arch, span, layout, lora),
        );
        const shape: StageShape = {
          layers: chunks.reduce((sum, span) => sum + span.layers, 0),
          chunks: chunks.map((span) => ({
            layers: span.layers,
            receives: span.stage > 0,
            sends: span.stage < spans.length - 1,
          })),
          hasHead: chunks.some((span) => span.hasHead),
          endsParameters: chunkParams.reduce((sum, p) => sum + p.rootUnit, 0),
          modelEndsParameters,
        };
        return { shape, params: chunkParams, idle };
      });
      this.parameters.set(key, params);
    }
    return params;
  }

  /** Every stage's closed-form model states, remembered per layout, ZeRO stage and offload. */
  private stagesOf(request: PlanRequest, layout: PlanLayout): StageStates[] {
    const { zeroStage, offload } = request.parallelism;
    const key = JSON.stringify([layout, zeroStage, offload]);
    let stages = this.stageStates.get(key);
    if (!stages) {
      stages = this.stageParameters(request, layout).map(({ shape, params, idle }) => {
        const all = params.map((p, i) => shardedStates(request, p, layout, idle[i]));
        const states = all.reduce((sum, s) => sum + allocatorStates(s), 0);
        const paged = all.reduce((sum, s) => sum + s.pagedOptimizerStates, 0);
        return { ...shape, states, paged };
      });
      this.stageStates.set(key, stages);
    }
    return stages;
  }

  /** The closed-form allocator states of a whole probe stack of `layers` layers. */
  private probeStates(probe: PlanRequest, layers: number): number {
    const arch = firstLayers(this.arch, layers);
    const layout = layoutOf(probe);
    const lora = requestLora(arch, probe);
    const stack = splitLayers(layers, 1)[0];
    const params = rankParameters(arch, stack, layout, lora);
    const idle = idleTrainedElements(probe, arch, stack, layout, lora);
    return allocatorStates(shardedStates(probe, params, layout, idle));
  }

  /** The sharding probes' fit for the candidate's ZeRO stage and offload. */
  private shardingFit(request: PlanRequest, layout: PlanLayout): ShardingFit {
    const { tensorParallel, expertParallel, zeroStage, offload } = request.parallelism;
    // ZeRO shards over data x context ranks; DDP (ZeRO-0) replicates over data ranks alone
    // (sharding/index.ts applySharding), so context ranks alone keep no DDP buckets.
    const ranks =
      zeroStage === 0 ? layout.dataParallel : layout.dataParallel * layout.contextParallel;
    const sharded = ranks > 1;
    const piped = pipelinedFsdp(request);
    // Accumulation varies between the candidates of a search with a global batch, and a second
    // micro-batch is what keeps gradients across micro-batches.
    const microBatches = Math.min(request.training.gradientAccumulationSteps, PROBE_MICRO_BATCHES);
    const key = JSON.stringify([
      tensorParallel,
      expertParallel,
      zeroStage,
      offload,
      sharded,
      piped,
      microBatches,
    ]);
    let fit = this.shardingFits.get(key);
    if (!fit) {
      fit = this.fitSharding(request, sharded);
      this.shardingFits.set(key, fit);
    }
    return fit;
  }

  private fitSharding(request: PlanRequest, sharded: boolean): ShardingFit {
    const e = request.parallelism.expertParallel;
    const ranks = sharded ? e * Math.ceil(SHARDING_RANKS / e) : 1;
    // Only the states' probes run as a pipeline stage: what pipelined FSDP keeps gathered and
    // unsharded is the same in the activation probes' pair, and cancels there.
    const piped = pipelinedFsdp(request) ? { probedPipelineStage: true } : {};
    const probeAt = (dataParallel: number) =>
      probeOf(request, dataParallel, {
        parallelism: { contextParallel: 1, ...piped },
        training: REFERENCE_ACTIVATIONS,
      });
    const probe = probeAt(ranks);
    const runs = this.lengths.map((layers) => ({
      layers,
      rank: this.planned(probe, layers),
      states: this.probeStates(probe, layers),
    }));
    const long = runs[runs.length - 1];
    let perState = { forwardBackward: 1, optimizer: 1 };
    if (sharded) perState = this.perState(probeAt(2 * ranks), long);
    const phaseFit = (phase: 'forwardBackward' | 'optimizer'): PhaseFit => {
      const rest = (run: (typeof runs)[number]) => ({
        layers: run.layers,
        value: phaseTotal(run.rank, phase) - perState[phase] * run.states,
      });
      return { rest: lineThrough(rest(runs[0]), rest(long)), perState: perState[phase] };
    };
    const gradients = (run: (typeof runs)[number]) => ({
      layers: run.layers,
      value: run.rank.breakdown.gradients,
    });
    return {
      forwardBackward: phaseFit('forwardBackward'),
      optimizer: phaseFit('optimizer'),
      gradients: lineThrough(gradients(runs[0]), gradients(long)),
    };
  }

  /** How much of the closed-form states each phase's peak moves by, from a second probe over
   * twice the ranks (1 when the stage shards nothing: the states are then the probe's own). */
  private perState(
    wider: PlanRequest,
    long: { layers: number; rank: RankMemory; states: number },
  ): Record<'forwardBackward' | 'optimizer', number> {
    const states = this.probeStates(wider, long.layers);
    const rank = this.planned(wider, long.layers);
    const moved = long.states - states;
    const ratio = (phase: 'forwardBackward' | 'optimizer') =>
      moved > 0 ? (phaseTotal(long.rank, phase) - phaseTotal(rank, phase)) / moved : 1;
    return { forwardBackward: ratio('forwardBackward'), optimizer: ratio('optimizer') };
  }

  /** castsOnUse, once: precision and runtime are the search's own, the same for every candidate. */
  private castsOnUse(request: PlanRequest): boolean {
    this.weightsCastOnUse ??= castsOnUse(request);
    return this.weightsCastOnUse;
  }

  /** activationsAdded, remembered by the fields that vary between one search's candidates (the
   * rest of the request is the search's own), so a candidate costs a lookup, not three keys. */
  private addedFor(request: PlanRequest): ActivationsAdded {
    const { tensorParallel, contextParallel, expertParallel, sequenceParallel } =
      request.parallelism;
    const { microBatchSize, activationCheckpointing, gradientAccumulationSteps } = request.training;
    const key = [
      tensorParallel,
      contextParallel,
      expertParallel,
      sequenceParallel,
      microBatchSize,
      activationCheckpointing,
      Math.min(gradientAccumulationSteps, PROBE_MICRO_BATCHES),
      activationZero(request.parallelism.zeroStage, this.castsOnUse(request)),
    ].join('/');
    let added = this.added.get(key);
    if (!added) {
      added = this.activationsAdded(request);
      this.added.set(key, added);
    }
    return added;
  }

  /** What the candidate's activations add to the sharding probes' forward/backward peak. */
  private activationsAdded(request: PlanRequest): ActivationsAdded {
    const { expertParallel: e, contextParallel: c } = request.parallelism;
    // Both over the same shard degree, so the states they hold cancel.
    const ranks = (e / greatestCommonDivisor(e, c)) * ACTIVATION_RANKS;
    const reference = this.activationLine(request, ranks * c, {
      parallelism: { contextParallel: 1 },
      training: REFERENCE_ACTIVATIONS,
    });
    const own = this.activationLine(request, ranks, {});
    return {
      at: (layers) =>
        valueAt(own.forwardBackward, layers) - valueAt(reference.forwardBackward, layers),
      savedPerLayer: own.savedPerLayer,
      logitsAndLoss: own.logitsAndLoss,
      referenceLogitsAndLoss: reference.logitsAndLoss,
    };
  }

  private activationLine(
    request: PlanRequest,
    ranks: number,
    changes: { parallelism?: Partial<PlanRequest['parallelism']>; training?: object },
  ): ActivationLine {
    const probe = probeOf(request, ranks, {
      parallelism: {
        ...changes.parallelism,
        zeroStage: activationZero(request.parallelism.zeroStage, this.castsOnUse(request)),
        offload: { optimizer: 'none', parameters: 'none' },
      },
      training: changes.training,
    });
    const key = JSON.stringify([probe.parallelism, probe.training, probe.cluster]);
    let line = this.activationLines.get(key);
    if (!line) {
      const runs = this.lengths.map((layers) => ({ layers, rank: this.planned(probe, layers) }));
      const value = (run: (typeof runs)[number]) => ({
        layers: run.layers,
        value: phaseTotal(run.rank, 'forwardBackward'),
      });
      const long = runs[runs.length - 1];
      const saved = (run: (typeof runs)[number]) => ({
        layers: run.layers,
        value: run.rank.breakdown.activations,
      });
      line = {
        forwardBackward: lineThrough(value(runs[0]), value(long)),
        // Zero where the peak is the optimizer step's (nothing saved then): the bound errs low.
        savedPerLayer: Math.max(0, lineThrough(saved(runs[0]), saved(long)).slope),
        logitsAndLoss: long.rank.breakdown.logitsAndLoss,
      };
      this.activationLines.set(key, line);
    }
    return line;
  }
}

function phaseTotal(rank: RankMemory, phase: 'forwardBackward' | 'optimizer'): number {
  const totals = rank.phaseTotals;
  return phase === 'optimizer' ? totals.optimizer : Math.max(totals.forward, totals.backward);
}
