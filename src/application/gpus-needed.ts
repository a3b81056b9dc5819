// "How many GPUs do I need?": the fewest GPUs of one type on which a layout of the job fits with
// room for the top of its 80% range, and the cheapest such cluster, by the layout search.
import { Catalog } from '../catalog/catalog';
import {
  PlanRequestInput,
  PlanValidationError,
  PlanWalk,
  SearchCandidate,
  SearchObjective,
  walkedThrough,
} from '../engine';
import type { GpuCountAnswer, GpusNeededAnswer } from './gpus-needed-answer';
import { estimatePlan, walkedOnThreads } from './estimate';
import { SearchRequest, searchPlansWalk } from './search';

export type { GpuCountAnswer, GpusNeededAnswer } from './gpus-needed-answer';

/** Largest cluster tried when the request names none: 128 nodes of 8. */
export const DEFAULT_MAX_GPUS = 1024;
/** GPUs in a node when the request names none: an HGX/DGX node. */
export const DEFAULT_NODE_SIZE = 8;
/** Layouts the search returns per cluster size: the best that fits clearly (verdict `fits`);
 * those that fit only at the estimate (`tight`) are passed over (SearchInput.clearFitsOnly). */
const LAYOUTS_PER_SIZE = 1;
/** The cheapest cluster is looked for at the fewest GPUs and at 2x and 4x as many: more GPUs
 * can lower the price per token when they free the plan of recomputation or offload. */
const CHEAPEST_MULTIPLES = [1, 2, 4];

/** POST /plans/gpus-needed: a search request whose cluster names a GPU type, not a count. */
export type GpusNeededRequest = Omit<
  SearchRequest,
  'cluster' | 'objective' | 'top' | 'clearFitsOnly'
> & {
  cluster: { gpu: string; gpusPerNode?: number; maxGpus?: number };
};

/** 1, 2, 4, ... GPUs up to a node, then 2, 4, 8, ... nodes, up to maxGpus. */
export function clusterSizes(nodeSize: number, maxGpus: number): number[] {
  const sizes: number[] = [];
  for (let gpus = 1; gpus < nodeSize && gpus <= maxGpus; gpus *= 2) sizes.push(gpus);
  for (let nodes = 1; nodes * nodeSize <= maxGpus; nodes *= 2) sizes.push(nodes * nodeSize);
  return sizes;
}

function answerOf(candidate: SearchCandidate): GpuCountAnswer {
  const worst = candidate.result.memory.perGpu;
  return {
    gpus: candidate.figures.gpus,
    nodes: candidate.figures.nodes,
    gpusPerNode: candidate.figures.gpusPerNode,
    label: candidate.label,
    request: candidate.request,
    figures: {
      ...candidate.figures,
      deviceUsedRangeBytes: worst.deviceUsedRangeBytes,
      verdict: worst.verdict,
    },
  };
}

/** One cluster size searched: its best layout whose verdict is `fits`, if any. */
function* searchSize(
  request: GpusNeededRequest,
  gpus: number,
  nodeSize: number,
  objective: SearchObjective,
  catalog: Catalog,
  lookahead: number,
) {
  const { maxGpus: _max, gpusPerNode: _perNode, ...cluster } = request.cluster;
  const search = {
    ...request,
    cluster: { ...cluster, gpus, gpusPerNode: Math.min(gpus, nodeSize) },
    objective,
    top: LAYOUTS_PER_SIZE,
    clearFitsOnly: true,
  };
  const answer = yield* searchPlansWalk(search, catalog, undefined, lookahead);
  const best = answer.results[0];
  return {
    best: best ? answerOf(best) : null,
    tried: {
      gpus,
      objective,
      fits: best !== undefined,
      tight: best === undefined && answer.counts.tight > 0,
      planned: answer.counts.evaluated,
    },
    warnings: answer.warnings,
  };
}

/** A recorder of the sizes searched, and the search of one size by an objective (a walk
 * handing out up to `lookahead` plans at once). */
export function sizeSearcher(request: GpusNeededRequest, catalog: Catalog, lookahead = 1) {
  const nodeSize = request.cluster.gpusPerNode ?? DEFAULT_NODE_SIZE;
  const maxGpus = request.cluster.maxGpus ?? DEFAULT_MAX_GPUS;
  if (maxGpus < 1 || !Number.isSafeInteger(maxGpus)) {
    throw new PlanValidationError([
      { field: 'cluster.maxGpus', message: `maxGpus (${maxGpus}) must be a positive integer` },
    ]);
  }
  const tried: GpusNeededAnswer['tried'] = [];
  function* at(gpus: number, objective: SearchObjective) {
    const outcome = yield* searchSize(request, gpus, nodeSize, objective, catalog, lookahead);
    tried.push(outcome.tried);
    return outcome;
  }
  return { nodeSize, maxGpus, tried, at };
}

/**
 * The fewest GPUs on which a layout could fit, from one plan of the job on a single GPU with one
 * sequence and every layer recomputed (the least any layout keeps):
 * - model states shard at most N ways, so N GPUs need N x (capacity less the safety margin) >=
 *   the states of one unsharded replica;
 * - over N GPUs the ranks' allocated peaks add up to at least that plan's: tensor, context and
 *   pipeline parallelism split each tensor or layer, ZeRO the states, and every split keeps its
 *   part (data parallelism only adds replicas), so the worst rank holds at least 1/N of it. At
 *   16M tokens under eager attention one layer's scores need more than a thousand GPUs, and the
 *   sizes below them are not searched.
 * Offloaded states leave the GPUs, so with offload allowed the bound is 1.
 */
export function* fitLowerBound(request: GpusNeededRequest, catalog: Catalog): PlanWalk<number> {
  if (request.allowOffload) return 1;
  const { maxGpus: _max, gpusPerNode: _perNode, ...cluster } = request.cluster;
  const {
    globalBatchSize: _batch,
    maxMicroBatchSize: _mb,
    allowOffload: _offload,
    ...job
  } = request;
  const leanest = {
    ...job.training,
    microBatchSize: 1,
    gradientAccumulationSteps: 1,
    activationCheckpointing: 'full' as const,
  };
  const input: PlanRequestInput = {
    ...job,
    training: leanest,
    // Context-parallel layouts run a fused kernel whatever the request asks, so the leanest
    // attention bounds them all.
    runtime: { ...job.runtime, attention: 'flash' },
    cluster: { ...cluster, nodes: 1, gpusPerNode: 1 },
    parallelism: undefined,
  };
  yield [input];
  const single = estimatePlan(input, catalog).memory.perGpu;
  const usable = single.deviceUsedBytes + single.headroomBytes;
  const needed = Math.max(single.modelStateBytes, single.allocatedPeakBytes);
  return Math.ceil(needed / usable);
}

/** The fewest GPUs of the request's type on which a layout fits (verdict `fits`), above
 * `cannotFit` GPUs (by default fitLowerBound less one; a caller that searched more already
 * says so). */
export function* fewestGpus(
  request: GpusNeededRequest,
  catalog: Catalog,
  searcher: ReturnType<typeof sizeSearcher>,
  cannotFit?: number,
): PlanWalk<Pick<GpusNeededAnswer, 'fewest' | 'tried' | 'warnings'>> {
  const above = cannotFit ?? (yield* fitLowerBound(request, catalog)) - 1;
  const sizes = clusterSizes(searcher.nodeSize, searcher.maxGpus).filter((g) => g > above);
  const found = yield* fewestFitting(sizes, searcher.nodeSize, above, (gpus) =>
    searcher.at(gpus, 'fewestGpus'),
  );
  return { ...found, tried: searcher.tried };
}

/** The fewest GPUs of the request's type that fit the job, and the cheapest cluster. */
export function gpusNeeded(request: GpusNeededRequest, catalog: Catalog): GpusNeededAnswer {
  return walkedThrough(gpusNeededWalk(request, catalog));
}

/** gpusNeeded with each search's finalists simulated on the simulation threads. */
export function gpusNeededAhead(
  request: GpusNeededRequest,
  catalog: Catalog,
): Promise<GpusNeededAnswer> {
  return walkedOnThreads((lookahead) => gpusNeededWalk(request, catalog, lookahead), catalog);
}

export function* gpusNeededWalk(
  request: GpusNeededRequest,
  catalog: Catalog,
  lookahead = 1,
): PlanWalk<GpusNeededAnswer> {
  const searcher = sizeSearcher(request, catalog, lookahead);
  const { fewest, warnings } = yield* fewestGpus(request, catalog, searcher);
  const cheapest = fewest
    ? yield* cheapestFrom(fewest, searcher.maxGpus, (gpus) => searcher.at(gpus, 'cost'))
    : null;
  return {
    gpu: request.cluster.gpu,
    maxGpus: searcher.maxGpus,
    fewest,
    cheapest,
    tried: searcher.tried.sort((a, b) => a.gpus - b.gpus),
    warnings,
  };
}

type SizeSearch = (gpus: number) => PlanWalk<{ best: GpuCountAnswer | null; warnings: string[] }>;

/** Doubling until a size fits, then halving the gap in whole nodes between the last size that
 * did not fit (or `cannotFit`, known not to) and the first that did. */
function* fewestFitting(
  sizes: number[],
  nodeSize: number,
  cannotFit: number,
  search: SizeSearch,
): PlanWalk<{ fewest: GpuCountAnswer | null; warnings: string[] }> {
  let warnings: string[] = [];
  let missed = cannotFit;
  let fewest: GpuCountAnswer | null = null;
  for (const gpus of sizes) {
    const outcome = yield* search(gpus);
    warnings = outcome.warnings;
    if (outcome.best) {
      fewest = outcome.best;
      break;
    }
    missed = gpus;
  }
  if (!fewest) return { fewest: null, warnings };
  // Node counts known not to fit (one node at least: searched, or below the bound).
  let low = Math.max(1, Math.floor(missed / nodeSize));
  let high = fewest.gpus / nodeSize; // nodes known to fit
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    const outcome = yield* search(middle * nodeSize);
    if (outcome.best) {
      fewest = outcome.best;
      high = middle;
    } else low = middle;
  }
  return { fewest, warnings };
}

/** The cheapest of the cost-ranked layouts at the fewest GPUs and at 2x and 4x as many. */
function* cheapestFrom(
  fewest: GpuCountAnswer,
  maxGpus: number,
  search: SizeSearch,
): PlanWalk<GpuCountAnswer | null> {
  const found: GpuCountAnswer[] = [];
  for (const multiple of CHEAPEST_MULTIPLES) {
    const gpus = fewest.gpus * multiple;
    if (gpus > maxGpus) continue;
    const { best } = yield* search(gpus);
    if (best) found.push(best);
  }
  return found.reduce<GpuCountAnswer | null>(
    (best, answer) =>
      best === null || answer.figures.usdPerMillionTokens < best.figures.usdPerMillionTokens
        ? answer
        : best,
    null,
  );
}
