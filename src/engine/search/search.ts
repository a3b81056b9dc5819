// Layout search: every data x tensor x pipeline x context (x expert) split of a cluster, with
// ZeRO stage, recomputation, micro-batch and offload, planned and ranked by an objective.
import { DeepPartial } from './compare';
import { estimateCost } from '../performance/cost';
import { countParameters, trainableParameters } from '../model/parameters';
import { estimatePerformance } from '../performance/performance';
import { layoutOf } from '../request/layout';
import { MAX_GPUS } from '../request/limits';
import { normalizeRequest, PlanRequestInput } from '../request/normalize';
import {
  FieldError,
  GpuSpec,
  ModelArchitecture,
  OffloadTarget,
  ParallelismSettings,
  PlanRequest,
  PlanResult,
  PlanValidationError,
  RankMemory,
  Recompute,
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
}

/** The figures a ranked layout is chosen by. */
export interface SearchFigures {
  gpus: number;
  nodes: number;
  gpusPerNode: number;
  dataParallel: number;
  tensorParallel: number;
  pipelineParallel: number;
  contextParallel: number;
  expertParallel: number;
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
  figures: SearchFigures;
}

export interface SearchCounts {
  /** Layouts in the search space (valid splits x ZeRO stages x offload x recompute x micro-batch):
   * evaluated + pruned + notPlanned, plus those of splits the engine rejected. */
  candidates: number;
  /** Layouts the engine planned. */
  evaluated: number;
  /** Planned layouts that fit. */
  feasible: number;
  /** Layouts skipped because a smaller configuration of the same split already ran out of memory. */
  pruned: number;
  /** Layouts that cannot rank among the `top` fitting ones (by speed or price, or with less
   * headroom than a smaller micro-batch already below the top), so never planned. */
  notPlanned: number;
  rejected: {
    outOfMemory: number;
    /** Out-of-memory layouts by the rank that overflowed and what dominated it. */
    outOfMemoryByRank: Record<string, number>;
    /** Splits the model or the batch cannot take, counted once per split, by field. */
    invalidSplit: number;
    invalidSplitByField: Record<string, number>;
  };
}

export interface SearchResult {
  objective: SearchObjective;
  clusterShapes: { nodes: number; gpusPerNode: number }[];
  results: SearchCandidate[];
  /** Same as counts.evaluated, for clients that only show one number. */
  examined: number;
  counts: SearchCounts;
}

const ZERO_STAGES = [0, 1, 2, 3] as const;

/** ZeRO stage and optimizer offload pairs worth planning over `shardDegree` data-parallel ranks.
 * ZeRO-Offload moves the optimizer of a ZeRO-sharded model (DeepSpeed needs stage >= 1); over one
 * rank ZeRO shards nothing, so stages 1-3 would repeat stage 0 and only ZeRO-2 with its optimizer
 * offloaded (single-GPU ZeRO-Offload) differs. */
function zeroChoices(
  shardDegree: number,
  offloads: OffloadTarget[],
): [(typeof ZERO_STAGES)[number], OffloadTarget][] {
  const choices: [(typeof ZERO_STAGES)[number], OffloadTarget][] = [[0, 'none']];
  for (const stage of ZERO_STAGES.slice(1)) {
    for (const offload of offloads) {
      if (shardDegree > 1 || (stage === 2 && offload === 'cpu')) choices.push([stage, offload]);
    }
  }
  return choices;
}

// Cheapest memory first, so a split whose model states alone overflow is dropped after one plan.
const RECOMPUTE_ORDER: Recompute[] = ['full', 'selective', 'none'];
/** Node counts one search may try, so a range stays answerable in a request's time. */
export const MAX_CLUSTER_SHAPES = 64;
/** Largest micro-batch a search tries: 1,024 sequences, 11 powers of two. */
export const MAX_SEARCH_MICRO_BATCH = 1_024;
/** Layouts one search may consider: each costs a speed and price estimate (~20 us: 34,944 of
 * them, 16 node counts of 8 GPUs at the defaults, took 0.7 s), so 2^16 list in about 1.3 s. */
export const MAX_SEARCH_CANDIDATES = 65_536;
/** Plans one search may run, counted in layers (a plan costs ~15-20 us a layer): 2^17 layer
 * plans, about two seconds, e.g. 4,096 plans of a 32-layer model or 1,040 of a 126-layer one. */
export const MAX_SEARCH_LAYER_PLANS = 131_072;
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

/** Fails before any estimate when the layouts to consider (or the splits listed to find them)
 * exceed MAX_SEARCH_CANDIDATES; `sizes` counts the micro-batches a split can take. */
function checkSearchSpace(
  shapes: { nodes: number; gpusPerNode: number }[],
  sequenceLength: number,
  arch: ModelArchitecture,
  offloads: OffloadTarget[],
  sizes: (split: Split) => number,
): void {
  let listed = 0;
  let layouts = 0;
  for (const shape of shapes) {
    for (const split of splitsOf(shape, sequenceLength, arch)) {
      listed += 1;
      if (!splitProblem(arch, split)) {
        const choices = zeroChoices(split.dp * split.c, offloads).length;
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

/** Kinds of rank for rejection counts (pipeline stage labels also carry their layer ranges). */
function rankKind(rank: RankMemory, stages: number): string {
  const position =
    stages === 1
      ? 'every rank'
      : rank.stage === 0
        ? 'first pipeline stage'
        : rank.stage === stages - 1
          ? 'last pipeline stage'
          : 'middle pipeline stage';
  return `${position} (${rank.dominantComponent})`;
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

function figuresOf(result: PlanResult): SearchFigures {
  const { layout, request, performance, memory } = result;
  return {
    gpus: layout.gpus,
    nodes: layout.nodes,
    gpusPerNode: layout.gpusPerNode,
    dataParallel: layout.dataParallel,
    tensorParallel: layout.tensorParallel,
    pipelineParallel: layout.pipelineParallel,
    contextParallel: layout.contextParallel,
    expertParallel: layout.expertParallel,
    zeroStage: request.parallelism.zeroStage,
    activationCheckpointing: request.training.activationCheckpointing,
    microBatchSize: request.training.microBatchSize,
    gradientAccumulationSteps: request.training.gradientAccumulationSteps,
    offloadOptimizer: request.parallelism.offload.optimizer,
    deviceUsedBytes: memory.perGpu.deviceUsedBytes,
    headroomBytes: memory.perGpu.headroomBytes,
    stepTimeSeconds: performance.stepTimeSeconds,
    tokensPerSecond: performance.tokensPerSecond,
    tokensPerSecondPerGpu: performance.tokensPerSecondPerGpu,
    mfu: performance.mfu,
    usdPerMillionTokens: result.cost.usdPerMillionTokens,
  };
}

/** What ranking reads: figures known before planning, and headroom once planned. */
interface Ranked {
  figures: Pick<
    SearchFigures,
    'gpus' | 'tokensPerSecond' | 'usdPerMillionTokens' | 'headroomBytes'
  >;
  label: string;
}

/** Negative when `a` ranks before `b`; ties fall to throughput, then the label. */
function comparator(objective: SearchObjective) {
  return (a: Ranked, b: Ranked): number => {
    const x = a.figures;
    const y = b.figures;
    const primary =
      objective === 'cost'
        ? x.usdPerMillionTokens - y.usdPerMillionTokens
        : objective === 'fewestGpus'
          ? x.gpus - y.gpus
          : objective === 'headroom'
            ? y.headroomBytes - x.headroomBytes
            : 0;
    if (primary !== 0) return primary;
    const speed = y.tokensPerSecond - x.tokensPerSecond;
    if (speed !== 0) return speed;
    return a.label < b.label ? -1 : a.label > b.label ? 1 : 0;
  };
}

/** Whether the optimizer step alone (weights, gradients, states) overflows a rank: then no
 * recomputation or micro-batch can make this split, ZeRO stage and offload fit. */
function statesOverflow(result: PlanResult): boolean {
  const { runtime } = result.request;
  if (runtime.optimizerInBackward) return false;
  return result.memory.ranks.some((rank) => {
    const reserved = Math.ceil(rank.phaseTotals.optimizer * (1 + runtime.allocatorFragmentation));
    return (
      reserved + rank.breakdown.runtimeOverhead > rank.capacityBytes - runtime.safetyMarginBytes
    );
  });
}

function isLayoutField(error: FieldError): boolean {
  return (
    error.field === 'cluster' ||
    error.field.startsWith('cluster.') ||
    error.field.startsWith('parallelism.')
  );
}

/** What the search knows before planning: the resolved model and GPU. */
export interface SearchContext {
  arch: ModelArchitecture;
  gpu: GpuSpec;
}

/** One layout to try, with the figures that do not need its memory plan. */
interface Candidate {
  split: Split;
  zeroStage: 0 | 1 | 2 | 3;
  offload: OffloadTarget;
  recompute: Recompute;
  microBatch: number;
  accumulation: number;
  label: string;
  input: PlanRequestInput;
  figures: Pick<
    SearchFigures,
    'gpus' | 'tokensPerSecond' | 'usdPerMillionTokens' | 'headroomBytes'
  >;
}

/** Ranked layouts that fit, with how many were planned, pruned and rejected and why.
 *
 * Speed and cost do not depend on memory, so they are computed for every candidate first (the
 * same estimatePerformance / estimateCost the plan uses); for the throughput, cost and fewestGpus
 * objectives candidates are then planned best first until `top` fit, so the rest never need a
 * memory plan. Headroom is a memory figure, so it plans small micro-batches first and skips a
 * larger micro-batch once a smaller one of the same layout already ranks below the top (memory
 * only grows with the micro-batch). Two memory rules skip plans that cannot fit: a split, ZeRO
 * stage and offload whose optimizer step alone overflows cannot fit with any recomputation or
 * micro-batch; and a micro-batch that overflows makes larger ones overflow too. */
export function searchLayouts(
  input: SearchInput,
  plan: (request: PlanRequestInput) => PlanResult,
  context: SearchContext,
): SearchResult {
  const { arch, gpu } = context;
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
  const shapes = clusterShapes(input.cluster);
  const training = input.training ?? {};
  const microBatches: number[] = [];
  for (let b = 1; b <= maxMicroBatch; b *= 2) microBatches.push(b);

  // One plan on a single GPU checks everything but the layout (model, GPU, training, runtime).
  const probe = plan({
    model: input.model,
    cluster: { gpu: input.cluster.gpu, nodes: 1, gpusPerNode: 1 },
    training,
    runtime: input.runtime,
  });
  const { sequenceLength } = probe.request.training;
  const counted = countParameters(arch);
  const parameters = {
    total: counted.total,
    active: counted.active,
    trainable: trainableParameters(arch, probe.request.training),
  };

  const counts: SearchCounts = {
    candidates: 0,
    evaluated: 0,
    feasible: 0,
    pruned: 0,
    notPlanned: 0,
    rejected: { outOfMemory: 0, outOfMemoryByRank: {}, invalidSplit: 0, invalidSplitByField: {} },
  };
  const rejectSplit = (field: string) => {
    counts.rejected.invalidSplit += 1;
    counts.rejected.invalidSplitByField[field] =
      (counts.rejected.invalidSplitByField[field] ?? 0) + 1;
  };
  const accumulationFor = (split: Split, mb: number): number | null => {
    if (globalBatch === undefined) return probe.request.training.gradientAccumulationSteps;
    const m = globalBatch / (mb * split.dp);
    return Number.isInteger(m) && m >= 1 ? m : null;
  };
  const offloads: OffloadTarget[] = input.allowOffload ? ['none', 'cpu'] : ['none'];
  checkSearchSpace(
    shapes,
    sequenceLength,
    arch,
    offloads,
    (split) => microBatches.filter((mb) => accumulationFor(split, mb) !== null).length,
  );

  // Every candidate, with its speed and price from the same functions the plan uses.
  const candidates: Candidate[] = [];
  for (const clusterShape of shapes) {
    for (const split of splitsOf(clusterShape, sequenceLength, arch)) {
      const problem = splitProblem(arch, split);
      if (problem) {
        rejectSplit(problem);
        continue;
      }
      const sizes = microBatches.filter((mb) => accumulationFor(split, mb) !== null);
      if (sizes.length === 0) {
        rejectSplit('globalBatchSize');
        continue;
      }
      for (const [zeroStage, offload] of zeroChoices(split.dp * split.c, offloads)) {
        for (const recompute of RECOMPUTE_ORDER) {
          for (const microBatch of sizes) {
            const accumulation = accumulationFor(split, microBatch)!;
            const candidateInput: PlanRequestInput = {
              model: input.model,
              cluster: {
                gpu: input.cluster.gpu,
                nodes: split.nodes,
                gpusPerNode: split.gpusPerNode,
              },
              training: {
                ...training,
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
            const request = normalizeRequest(candidateInput, gpu, arch);
            const layout = layoutOf(request);
            const performance = estimatePerformance(request, arch, gpu, layout, parameters);
            candidates.push({
              split,
              zeroStage,
              offload,
              recompute,
              microBatch,
              accumulation,
              label: labelOf(split, zeroStage, recompute, microBatch, offload),
              input: candidateInput,
              figures: {
                gpus: layout.gpus,
                tokensPerSecond: performance.tokensPerSecond,
                usdPerMillionTokens: estimateCost(request, gpu, layout, performance)
                  .usdPerMillionTokens,
                headroomBytes: 0,
              },
            });
          }
        }
      }
    }
  }
  counts.candidates = candidates.length;

  const order = comparator(objective);
  // Headroom is a memory figure: every candidate is planned, cheapest memory first so the
  // micro-batch rule prunes; the other objectives plan best first and stop at `top` fitting ones.
  const exhaustive = objective === 'headroom';
  if (exhaustive) {
    // Most headroom first (small micro-batches, full recompute, ZeRO-3), so the k-th best
    // headroom rises early and larger micro-batches below it are skipped.
    candidates.sort(
      (a, b) =>
        a.microBatch - b.microBatch ||
        RECOMPUTE_ORDER.indexOf(a.recompute) - RECOMPUTE_ORDER.indexOf(b.recompute) ||
        b.zeroStage - a.zeroStage,
    );
  } else {
    candidates.sort(order);
  }

  const best: Omit<SearchCandidate, 'rank'>[] = [];
  const offer = (candidate: Omit<SearchCandidate, 'rank'>) => {
    if (best.length === top && order(candidate, best[top - 1]) >= 0) return;
    let i = best.length;
    while (i > 0 && order(candidate, best[i - 1]) < 0) i--;
    best.splice(i, 0, candidate);
    if (best.length > top) best.pop();
  };
  const splitKey = (c: Candidate) =>
    `${c.split.nodes}/${c.split.gpusPerNode}/${c.split.t}/${c.split.p}/${c.split.c}/${c.split.e}`;
  const invalidSplits = new Set<string>();
  const statesOverflowing = new Set<string>();
  const plannedSeries = new Map<
    string,
    { microBatch: number; accumulation: number; fits: boolean; headroomBytes: number }[]
  >();

  let plansRun = 0;
  for (const [index, candidate] of candidates.entries()) {
    if (!exhaustive && best.length === top) {
      counts.notPlanned += candidates.length - index;
      break;
    }
    const split = splitKey(candidate);
    if (invalidSplits.has(split)) continue;
    const group = `${split}/${candidate.zeroStage}/${candidate.offload}`;
    const series = `${group}/${candidate.recompute}`;
    // Activations grow with the micro-batch; only accumulation dropping to one micro-batch (when
    // gradients stop persisting between micro-batches) can make a larger one smaller.
    const smaller = (plannedSeries.get(series) ?? []).filter(
      (o) =>
        o.microBatch < candidate.microBatch &&
        !(o.accumulation > 1 && candidate.accumulation === 1),
    );
    if (statesOverflowing.has(group) || smaller.some((o) => !o.fits)) {
      counts.pruned += 1;
      continue;
    }
    const kth = best.length === top ? best[top - 1].figures.headroomBytes : -Infinity;
    if (exhaustive && smaller.some((o) => o.headroomBytes < kth)) {
      counts.notPlanned += 1;
      continue;
    }
    if ((plansRun + 1) * arch.numLayers > MAX_SEARCH_LAYER_PLANS) {
      fail(
        'cluster',
        `the search needs more than ${plansRun} plans of this ${arch.numLayers}-layer model (at most ${MAX_SEARCH_LAYER_PLANS} layer plans per search); narrow cluster.nodes, lower maxMicroBatchSize or top, or leave allowOffload out`,
      );
    }
    plansRun += 1;
    let result: PlanResult;
    try {
      result = plan(candidate.input);
    } catch (error) {
      if (!(error instanceof PlanValidationError)) throw error;
      const layoutError = error.errors.find(isLayoutField);
      if (!layoutError) throw error;
      invalidSplits.add(split);
      rejectSplit(layoutError.field);
      continue;
    }
    counts.evaluated += 1;
    const worst = result.memory.perGpu;
    plannedSeries.set(series, [
      ...(plannedSeries.get(series) ?? []),
      { ...candidate, fits: worst.fits, headroomBytes: worst.headroomBytes },
    ]);
    if (worst.fits) {
      counts.feasible += 1;
      offer({
        label: candidate.label,
        request: result.request,
        result,
        figures: figuresOf(result),
      });
      continue;
    }
    counts.rejected.outOfMemory += 1;
    const kind = rankKind(worst, candidate.split.p);
    counts.rejected.outOfMemoryByRank[kind] = (counts.rejected.outOfMemoryByRank[kind] ?? 0) + 1;
    if (statesOverflow(result)) statesOverflowing.add(group);
  }
  return {
    objective,
    clusterShapes: shapes,
    results: best.map((candidate, i) => ({ rank: i + 1, ...candidate })),
    examined: counts.evaluated,
    counts,
  };
}
