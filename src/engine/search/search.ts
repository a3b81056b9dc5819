// Layout search: every data x tensor x pipeline x context (x expert) split of a cluster, with
// ZeRO stage, recomputation, micro-batch and offload, screened by a memory bound, planned on the
// full timeline where it can still rank, and ranked by an objective.
import { BOUND_TOLERANCE, BoundFigures, MemoryBound } from './bound';
import { DeepPartial } from './compare';
import { Candidate, Finalist, Finalists, RECOMPUTE_ORDER } from './finalists';
import { PlanWalk, walkedThrough } from './plan-walk';
import { estimateCost } from '../performance/cost';
import { countParameters, trainableParameters } from '../model/parameters';
import { requestLora } from '../model/lora-modules';
import { estimatePerformance } from '../performance/performance';
import { pipelinable, tensorParallelizable } from '../model/placement';
import { engineReach } from '../memory/sharding/engine';
import { layoutOf } from '../request/layout';
import { MAX_GPUS } from '../request/limits';
import { normalizeRequest, PlanRequestInput } from '../request/normalize';
import { smallestMicroBatch } from '../request/preference';
import { validateRequest } from '../request/validate';
import {
  GpuSpec,
  ModelArchitecture,
  OffloadTarget,
  ParallelismSettings,
  PlanLayout,
  PlanRequest,
  PlanResult,
  PlanValidationError,
  Recompute,
  ZERO_STAGES,
  ZeroStage,
} from '../vocabulary';

export type SearchObjective = 'throughput' | 'cost' | 'fewestGpus' | 'headroom';
export const SEARCH_OBJECTIVES: SearchObjective[] = [
  'throughput',
  'cost',
  'fewestGpus',
  'headroom',
];

/** Node counts to try: one, a list, or every count of an inclusive range. */
export type NodeChoice = number | number[] | { min: number; max: number };

export interface SearchInput {
  model: PlanRequestInput['model'];
  cluster: {
    gpu: string;
    /** Total GPUs, in nodes of `gpusPerNode` (default: up to 8 per node). */
    gpus?: number;
    nodes?: NodeChoice;
    /** Default 8, an HGX/DGX node (or `gpus` when fewer). */
    gpusPerNode?: number;
  };
  training?: PlanRequestInput['training'];
  /** Knobs the search keeps as given; the parallel degrees, ZeRO and offload are searched. */
  parallelism?: DeepPartial<
    Pick<ParallelismSettings, 'sequenceParallel' | 'pipelineSchedule' | 'virtualStages'>
  >;
  runtime?: PlanRequestInput['runtime'];
  /** Sequences per optimizer step; gradient accumulation is derived per layout when given. */
  globalBatchSize?: number;
  objective?: SearchObjective;
  /** How many ranked layouts to return (default 10). */
  top?: number;
  /** Largest micro-batch tried; powers of two from 1 (default 8). */
  maxMicroBatchSize?: number;
  /** Also try ZeRO-Offload of the optimizer to CPU memory (default false). */
  allowOffload?: boolean;
  /** Bound every candidate and skip none by the pruning rules (default false): the finalists
   * are still the only ones planned on the full timeline. */
  exhaustive?: boolean;
  /** Rank only layouts whose verdict is `fits`: one that fits only at the estimate (`tight`) is
   * planned and counted, not returned, and the walk goes on to slower ones (gpus-needed asks for
   * this; HTTP's search returns tight layouts too). */
  clearFitsOnly?: boolean;
}

/** The figures a ranked layout is chosen by: its layout, then its settings and figures. */
export interface SearchFigures extends PlanLayout {
  zeroStage: number;
  activationCheckpointing: Recompute;
  microBatchSize: number;
  gradientAccumulationSteps: number;
  offloadOptimizer: OffloadTarget;
  deviceUsedBytes: number;
  headroomBytes: number;
  stepTimeSeconds: number;
  tokensPerSecond: number;
  tokensPerSecondPerGpu: number;
  mfu: number;
  usdPerMillionTokens: number;
}

export interface SearchCandidate {
  rank: number;
  label: string;
  /** The normalized request: submitting it to /plans/estimate reproduces `result`. */
  request: PlanRequest;
  result: PlanResult;
  /** Figures of the full timeline plan (`result`). */
  figures: SearchFigures;
  /** The memory bound's estimate that made this layout a finalist (never a returned figure). */
  bound?: BoundFigures;
}

export interface SearchCounts {
  /** Layouts in the search space (valid splits x ZeRO stages x offload x recompute x micro-batch):
   * planned + pruned + notPlanned + rejected.boundOutOfMemory, plus those of splits the engine
   * rejected. */
  candidates: number;
  /** Layouts whose memory bound was evaluated (every candidate in an exhaustive search). */
  boundEvaluated: number;
  /** Short-stack plans the bound ran (shared by every candidate with the same key). */
  boundProbes: number;
  /** Layouts planned on the full timeline: the finalists. */
  planned: number;
  /** Same as planned (the name earlier clients read). */
  evaluated: number;
  /** Planned layouts that fit. */
  feasible: number;
  /** Of those, the ones that fit only at the estimate (verdict `tight`). */
  tight: number;
  /** Layouts skipped because a smaller configuration of the same split already ran out of memory. */
  pruned: number;
  /** Layouts that cannot rank among the `top` fitting ones (by speed or price, or with less
   * headroom than the bound allows them below the top's last), so never planned. */
  notPlanned: number;
  rejected: {
    /** Planned layouts that do not fit. */
    outOfMemory: number;
    /** Out-of-memory layouts by the rank that overflowed and what dominated it. */
    outOfMemoryByRank: Record<string, number>;
    /** Layouts whose bound overflows the card by more than its tolerance: never planned. */
    boundOutOfMemory: number;
    /** Splits the model or the batch cannot take, counted once per split, by field. */
    invalidSplit: number;
    invalidSplitByField: Record<string, number>;
  };
}

export interface SearchResult {
  objective: SearchObjective;
  clusterShapes: { nodes: number; gpusPerNode: number }[];
  results: SearchCandidate[];
  /** Same as counts.planned, for clients that only show one number. */
  examined: number;
  /** Whether every candidate was bounded with no pruning rule (input.exhaustive). */
  exhaustive: boolean;
  /** False when the search stopped at MAX_SEARCH_PLANS full plans with layouts left that the bound
   * could not rule out: the results are then the best of those planned, not necessarily the top
   * planning every layout would give. */
  complete: boolean;
  /** How far the bound may sit above a full plan's device used (bytes): finalists are chosen
   * with this margin, so the top is the one planning every candidate fully would give. */
  boundToleranceBytes: number;
  /** The same margin: pipeline and context-parallel layouts once had a wider one, and clients
   * may still read this name. */
  wideBoundToleranceBytes: number;
  counts: SearchCounts;
}

/** ZeRO stage and optimizer offload pairs worth planning over `shardDegree` data-parallel ranks.
 * ZeRO-Offload moves the optimizer of a ZeRO-sharded model (DeepSpeed needs stage >= 1); over one
 * rank ZeRO shards nothing, so stages 1-3 would repeat stage 0 and only ZeRO-2 with its optimizer
 * offloaded (single-GPU ZeRO-Offload) differs. */
function zeroChoices(
  shardDegree: number,
  { offloads, maxZeroStage }: Pick<Knobs, 'offloads' | 'maxZeroStage'>,
): [ZeroStage, OffloadTarget][] {
  const choices: [ZeroStage, OffloadTarget][] = [[0, 'none']];
  for (const stage of ZERO_STAGES.slice(1, maxZeroStage + 1)) {
    for (const offload of offloads) {
      if (shardDegree > 1 || (stage === 2 && offload === 'cpu')) choices.push([stage, offload]);
    }
  }
  return choices;
}

/** Node counts one search may try, so a range stays answerable in a request's time. */
export const MAX_CLUSTER_SHAPES = 64;
/** Largest micro-batch a search tries: 1,024 sequences, 11 powers of two. */
export const MAX_SEARCH_MICRO_BATCH = 1_024;
/** Layouts one search may list: each costs a speed and price estimate and a bound (~20 us), so
 * 2^16 list in about 1.3 s. */
export const MAX_SEARCH_CANDIDATES = 65_536;
/** Full timeline plans one search may run (each a few to a hundred milliseconds, bench:engine):
 * enough for the top 100 and the finalists that compete with them. A search that would need more
 * answers with the best of those planned and `complete: false`. */
export const MAX_SEARCH_PLANS = 512;
/** Ring attention needs chunks long enough to hide the K/V exchange; shorter ones are not tried. */
export const MIN_TOKENS_PER_CONTEXT_RANK = 1024;

interface Split {
  nodes: number;
  gpusPerNode: number;
  gpus: number;
  t: number;
  p: number;
  c: number;
  e: number;
  dp: number;
}

function divisors(n: number): number[] {
  const small: number[] = [];
  const large: number[] = [];
  for (let d = 1; d * d <= n; d++) {
    if (n % d !== 0) continue;
    small.push(d);
    if (d * d !== n) large.unshift(n / d);
  }
  return [...small, ...large];
}

function fail(field: string, message: string): never {
  throw new PlanValidationError([{ field, message }]);
}

function positiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** The cluster shapes the input asks for. */
export function clusterShapes(
  cluster: SearchInput['cluster'],
): { nodes: number; gpusPerNode: number }[] {
  if (cluster.gpusPerNode !== undefined && !positiveInteger(cluster.gpusPerNode)) {
    fail('cluster.gpusPerNode', `gpusPerNode (${cluster.gpusPerNode}) must be a positive integer`);
  }
  if (cluster.gpus !== undefined) {
    if (!positiveInteger(cluster.gpus) || cluster.gpus > MAX_GPUS)
      fail('cluster.gpus', `gpus (${cluster.gpus}) must be an integer from 1 to ${MAX_GPUS}`);
    if (cluster.nodes !== undefined)
      fail('cluster.nodes', 'give cluster.gpus or cluster.nodes, not both');
    const perNode = cluster.gpusPerNode ?? Math.min(cluster.gpus, 8);
    if (cluster.gpus % perNode !== 0) {
      fail('cluster.gpus', `gpus (${cluster.gpus}) must be a multiple of gpusPerNode (${perNode})`);
    }
    return [{ nodes: cluster.gpus / perNode, gpusPerNode: perNode }];
  }
  const perNode = cluster.gpusPerNode ?? 8;
  const nodes = cluster.nodes;
  const tooMany = (count: number) =>
    fail(
      'cluster.nodes',
      `search at most ${MAX_CLUSTER_SHAPES} node counts at once (got ${count})`,
    );
  let counts: number[];
  if (nodes === undefined || nodes === null)
    return fail('cluster', 'give cluster.gpus, or cluster.nodes (a count, a list or { min, max })');
  if (typeof nodes === 'number') counts = [nodes];
  else if (Array.isArray(nodes)) counts = [...new Set(nodes)].sort((a, b) => a - b);
  else {
    if (!positiveInteger(nodes.min) || !positiveInteger(nodes.max) || nodes.min > nodes.max) {
      fail('cluster.nodes', 'a node range needs whole numbers with 1 <= min <= max');
    }
    // Count the range before listing it: { min: 1, max: 1e15 } must not build the list.
    const length = nodes.max - nodes.min + 1;
    if (length > MAX_CLUSTER_SHAPES) tooMany(length);
    counts = Array.from({ length }, (_, i) => nodes.min + i);
  }
  if (counts.length === 0 || !counts.every(positiveInteger)) {
    fail('cluster.nodes', 'node counts must be positive integers');
  }
  if (counts.length > MAX_CLUSTER_SHAPES) tooMany(counts.length);
  const largest = counts[counts.length - 1] * perNode;
  if (largest > MAX_GPUS) {
    fail(
      'cluster.nodes',
      `nodes x gpusPerNode (${largest}) must be at most ${MAX_GPUS} GPUs in all`,
    );
  }
  return counts.map((n) => ({ nodes: n, gpusPerNode: perNode }));
}

/** Why the model cannot take a split (the engine's own rules), or null. */
function splitProblem(shape: ModelArchitecture, split: Split): string | null {
  const { numAttentionHeads: a, numKeyValueHeads: g, numLayers: L } = shape;
  if (a % split.t !== 0 || (g % split.t !== 0 && split.t % g !== 0))
    return 'parallelism.tensorParallel';
  if (split.p > L) return 'parallelism.pipelineParallel';
  if (split.p > 1 && !pipelinable(shape)) return 'parallelism.pipelineParallel';
  if (split.t > 1 && !tensorParallelizable(shape)) return 'parallelism.tensorParallel';
  return null;
}

/** Every split of the shape the search space holds (see MIN_TOKENS_PER_CONTEXT_RANK). */
function splitsOf(
  shape: { nodes: number; gpusPerNode: number },
  sequenceLength: number,
  arch: ModelArchitecture,
): Split[] {
  const gpus = shape.nodes * shape.gpusPerNode;
  const splits: Split[] = [];
  for (const t of divisors(shape.gpusPerNode)) {
    for (const p of divisors(gpus / t)) {
      for (const c of divisors(gpus / (t * p))) {
        if (c > 1 && (sequenceLength % c !== 0 || sequenceLength / c < MIN_TOKENS_PER_CONTEXT_RANK))
          continue;
        const dp = gpus / (t * p * c);
        // Experts shard over the data x context ranks (memory-model.md section 2).
        const experts = arch.moe?.numExperts ?? 1;
        for (const e of divisors(dp * c).filter((d) => experts % d === 0)) {
          splits.push({ ...shape, gpus, t, p, c, e, dp });
        }
      }
    }
  }
  return splits;
}

function labelOf(
  split: Split,
  zero: number,
  recompute: Recompute,
  mb: number,
  offload: OffloadTarget,
): string {
  const parts = [
    `${split.nodes}x${split.gpusPerNode}`,
    `dp${split.dp}`,
    `tp${split.t}`,
    `pp${split.p}`,
    `cp${split.c}`,
  ];
  if (split.e > 1) parts.push(`ep${split.e}`);
  parts.push(`zero${zero}`, `recompute-${recompute}`, `mb${mb}`);
  if (offload === 'cpu') parts.push('offload-optimizer');
  return parts.join(' ');
}

/** What the search knows before planning: the resolved model and GPU. */
export interface SearchContext {
  arch: ModelArchitecture;
  gpu: GpuSpec;
}

/** The search's own knobs, checked. */
interface Knobs {
  objective: SearchObjective;
  top: number;
  microBatches: number[];
  globalBatch?: number;
  offloads: OffloadTarget[];
  /** The highest ZeRO stage the data-parallel engine has. */
  maxZeroStage: ZeroStage;
}

function knobsOf(input: SearchInput): Knobs {
  const objective = input.objective ?? 'throughput';
  if (!SEARCH_OBJECTIVES.includes(objective)) {
    fail('objective', `unknown objective '${objective}'; known: ${SEARCH_OBJECTIVES.join(', ')}`);
  }
  const top = input.top ?? 10;
  if (!positiveInteger(top)) fail('top', `top (${top}) must be a positive integer`);
  const maxMicroBatch = input.maxMicroBatchSize ?? 8;
  if (!positiveInteger(maxMicroBatch) || maxMicroBatch > MAX_SEARCH_MICRO_BATCH) {
    fail(
      'maxMicroBatchSize',
      `maxMicroBatchSize (${maxMicroBatch}) must be an integer from 1 to ${MAX_SEARCH_MICRO_BATCH}`,
    );
  }
  const globalBatch = input.globalBatchSize;
  if (globalBatch !== undefined && !positiveInteger(globalBatch)) {
    fail('globalBatchSize', `globalBatchSize (${globalBatch}) must be a positive integer`);
  }
  const microBatches: number[] = [];
  for (let b = 1; b <= maxMicroBatch; b *= 2) microBatches.push(b);
  const offloads: OffloadTarget[] = input.allowOffload ? ['none', 'cpu'] : ['none'];
  return { objective, top, microBatches, globalBatch, offloads, maxZeroStage: 3 };
}

/** The ZeRO stages and offload the request's data-parallel engine has (engineReach), and the
 * micro-batches its objective runs (KTO's from two). */
function engineKnobs(knobs: Knobs, settings: PlanRequest): Knobs {
  const { maxZeroStage, offloads } = engineReach(settings.runtime.dataParallelEngine);
  const smallest = smallestMicroBatch(settings.training);
  const microBatches = knobs.microBatches.filter((b) => b >= smallest);
  if (microBatches.length === 0) {
    const preference = settings.training.preference;
    fail(
      'maxMicroBatchSize',
      `preference '${preference}' runs micro-batches of ${smallest} or more: set maxMicroBatchSize to ${smallest} or more`,
    );
  }
  return { ...knobs, microBatches, maxZeroStage, offloads: offloads ? knobs.offloads : ['none'] };
}

/** The request's settings on one GPU, checked as a plan would check them: everything but the
 * layout (model, GPU, training, runtime). */
function checkedSettings(input: SearchInput, context: SearchContext): PlanRequest {
  const request = normalizeRequest(
    {
      model: input.model,
      cluster: { gpu: input.cluster.gpu, nodes: 1, gpusPerNode: 1 },
      training: input.training,
      runtime: input.runtime,
    },
    context.gpu,
    context.arch,
  );
  // The search chooses the micro-batch: the settings are checked at the smallest it tries.
  const training = { ...request.training, microBatchSize: smallestMicroBatch(request.training) };
  const errors = validateRequest({ ...request, training }, context.arch, context.gpu);
  if (errors.length > 0) throw new PlanValidationError(errors);
  return request;
}

function emptyCounts(): SearchCounts {
  return {
    candidates: 0,
    boundEvaluated: 0,
    boundProbes: 0,
    planned: 0,
    evaluated: 0,
    feasible: 0,
    tight: 0,
    pruned: 0,
    notPlanned: 0,
    rejected: {
      outOfMemory: 0,
      outOfMemoryByRank: {},
      boundOutOfMemory: 0,
      invalidSplit: 0,
      invalidSplitByField: {},
    },
  };
}

/** Fails before any estimate when the layouts to consider (or the splits listed to find them)
 * exceed MAX_SEARCH_CANDIDATES; `sizes` counts the micro-batches a split can take. */
function checkSearchSpace(
  shapes: { nodes: number; gpusPerNode: number }[],
  sequenceLength: number,
  arch: ModelArchitecture,
  knobs: Knobs,
  sizes: (split: Split) => number,
): void {
  let listed = 0;
  let layouts = 0;
  for (const shape of shapes) {
    for (const split of splitsOf(shape, sequenceLength, arch)) {
      listed += 1;
      if (!splitProblem(arch, split)) {
        const choices = zeroChoices(split.dp * split.c, knobs).length;
        layouts += choices * RECOMPUTE_ORDER.length * sizes(split);
      }
      if (Math.max(listed, layouts) > MAX_SEARCH_CANDIDATES) {
        fail(
          'cluster',
          `the search space holds more than ${MAX_SEARCH_CANDIDATES} layouts (node counts x splits x ZeRO stages x recomputation x micro-batches); narrow cluster.nodes, lower maxMicroBatchSize or leave allowOffload out`,
        );
      }
    }
  }
}

/** Builds every candidate of the input, with its speed and price from the same functions the
 * plan uses; splits the model or the batch cannot take are counted through `rejectSplit`. */
class CandidateList {
  readonly candidates: Candidate[] = [];
  private readonly parameters: { total: number; active: number; trainable: number };

  constructor(
    private readonly input: SearchInput,
    private readonly knobs: Knobs,
    private readonly settings: PlanRequest,
    private readonly context: SearchContext,
    private readonly rejectSplit: (field: string) => void,
  ) {
    const counted = countParameters(context.arch);
    this.parameters = {
      total: counted.total,
      active: counted.active,
      trainable: trainableParameters(
        context.arch,
        settings.training,
        requestLora(context.arch, settings),
      ),
    };
  }

  addShape(shape: { nodes: number; gpusPerNode: number }): void {
    const { arch } = this.context;
    for (const split of splitsOf(shape, this.settings.training.sequenceLength, arch)) {
      const problem = splitProblem(arch, split);
      if (problem) {
        this.rejectSplit(problem);
        continue;
      }
      const sizes = this.sizesFor(split);
      if (sizes.length === 0) {
        this.rejectSplit('globalBatchSize');
        continue;
      }
      for (const [zeroStage, offload] of zeroChoices(split.dp * split.c, this.knobs)) {
        for (const recompute of RECOMPUTE_ORDER) {
          for (const microBatch of sizes)
            this.add(split, zeroStage, offload, recompute, microBatch);
        }
      }
    }
  }

  /** The micro-batches a split can take (those the global batch divides into). */
  sizesFor(split: Split): number[] {
    return this.knobs.microBatches.filter((mb) => this.accumulation(split, mb) !== null);
  }

  private accumulation(split: Split, mb: number): number | null {
    const { globalBatch } = this.knobs;
    if (globalBatch === undefined) return this.settings.training.gradientAccumulationSteps;
    const m = globalBatch / (mb * split.dp);
    return Number.isInteger(m) && m >= 1 ? m : null;
  }

  private add(
    split: Split,
    zeroStage: ZeroStage,
    offload: OffloadTarget,
    recompute: Recompute,
    microBatch: number,
  ): void {
    const { input, context } = this;
    const accumulation = this.accumulation(split, microBatch)!;
    const candidateInput: PlanRequestInput = {
      model: input.model,
      cluster: { gpu: input.cluster.gpu, nodes: split.nodes, gpusPerNode: split.gpusPerNode },
      training: {
        ...input.training,
        microBatchSize: microBatch,
        gradientAccumulationSteps: accumulation,
        activationCheckpointing: recompute,
      },
      parallelism: {
        ...input.parallelism,
        // Megatron's practice: sequence parallelism whenever tensor parallelism is on.
        sequenceParallel: input.parallelism?.sequenceParallel ?? split.t > 1,
        zeroStage,
        tensorParallel: split.t,
        pipelineParallel: split.p,
        contextParallel: split.c,
        expertParallel: split.e,
        offload: { optimizer: offload, parameters: 'none' },
      },
      runtime: input.runtime,
    };
    const request = normalizeRequest(candidateInput, context.gpu, context.arch);
    const layout = layoutOf(request);
    const performance = estimatePerformance(
      request,
      context.arch,
      context.gpu,
      layout,
      this.parameters,
    );
    this.candidates.push({
      split: `${split.nodes}/${split.gpusPerNode}/${split.t}/${split.p}/${split.c}/${split.e}`,
      pipelineParallel: split.p,
      zeroStage,
      offload,
      recompute,
      microBatch,
      accumulation,
      label: labelOf(split, zeroStage, recompute, microBatch, offload),
      input: candidateInput,
      request,
      figures: {
        gpus: layout.gpus,
        tokensPerSecond: performance.tokensPerSecond,
        usdPerMillionTokens: estimateCost(request, context.gpu, layout, performance)
          .usdPerMillionTokens,
        headroomBytes: 0,
      },
    });
  }
}

/** Ranked layouts that fit, with how many were bounded, planned, pruned and rejected and why.
 *
 * Speed and cost do not depend on memory, so they are computed for every candidate first (the
 * same estimatePerformance / estimateCost the plan uses). Memory comes in two grades: a fast
 * bound (bound.ts: short-stack probes shared across candidates, within BOUND_TOLERANCE of the
 * card) screens and orders candidates, and the full timeline plans the finalists, from which
 * alone the results and their figures come (finalists.ts). For throughput, cost and fewestGpus
 * candidates are planned best first, skipping those the bound overflows, until `top` fit; for
 * headroom, by the most headroom the bound allows them until that cannot beat the top. The
 * default (pruned) search also skips what two rules say cannot fit: a split, ZeRO stage and
 * offload whose optimizer step alone overflows, and micro-batches above one that overflows; an
 * exhaustive search bounds every candidate and applies neither rule. */
export function searchLayouts(
  input: SearchInput,
  plan: (request: PlanRequestInput) => PlanResult,
  context: SearchContext,
): SearchResult {
  return walkedThrough(searchWalk(input, plan, context));
}

/** searchLayouts as a walk (plan-walk.ts) handing out up to `lookahead` full plans at once
 * before planning them (Finalists.walk): the same answer whatever the lookahead. */
export function* searchWalk(
  input: SearchInput,
  plan: (request: PlanRequestInput) => PlanResult,
  context: SearchContext,
  lookahead = 1,
): PlanWalk<SearchResult> {
  const search = startSearch(input, plan, context);
  return search.answer(
    yield* search.finalists.walk(search.candidates, search.exhaustive, lookahead),
  );
}

/** A search's candidates and the walk that ranks them, and the answer it makes of the best. */
function startSearch(
  input: SearchInput,
  plan: (request: PlanRequestInput) => PlanResult,
  context: SearchContext,
) {
  const asked = knobsOf(input);
  const shapes = clusterShapes(input.cluster);
  const settings = checkedSettings(input, context);
  const knobs = engineKnobs(asked, settings);
  const counts = emptyCounts();
  const rejectSplit = (field: string) => {
    counts.rejected.invalidSplit += 1;
    counts.rejected.invalidSplitByField[field] =
      (counts.rejected.invalidSplitByField[field] ?? 0) + 1;
  };
  const list = new CandidateList(input, knobs, settings, context, rejectSplit);
  checkSearchSpace(
    shapes,
    settings.training.sequenceLength,
    context.arch,
    knobs,
    (split) => list.sizesFor(split).length,
  );
  shapes.forEach((shape) => list.addShape(shape));
  counts.candidates = list.candidates.length;

  const exhaustive = input.exhaustive === true;
  const bound = new MemoryBound(context.arch, context.gpu);
  const capacity = context.gpu.memoryBytes;
  const finalists = new Finalists(
    knobs.objective,
    knobs.top,
    plan,
    MAX_SEARCH_PLANS,
    bound,
    capacity,
    counts,
    rejectSplit,
    input.clearFitsOnly === true,
  );
  const answer = (best: Finalist[]): SearchResult => ({
    objective: knobs.objective,
    clusterShapes: shapes,
    results: best.map((candidate, i) => ({ rank: i + 1, ...candidate })),
    examined: counts.planned,
    exhaustive,
    complete: finalists.complete,
    boundToleranceBytes: Math.round(BOUND_TOLERANCE * capacity),
    wideBoundToleranceBytes: Math.round(BOUND_TOLERANCE * capacity),
    counts,
  });
  return { finalists, candidates: list.candidates, exhaustive, answer };
}
