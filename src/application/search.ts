// Layout search: the request's settings the search keeps, the ones it chooses itself named in
// warnings, and the engine's ranked layouts.
import { Catalog, resolveGpu, resolveModel } from '../catalog/catalog';
import {
  PlanRequestInput,
  PlanValidationError,
  PlanWalk,
  SearchInput,
  SearchResult,
  searchWalk,
  trainedArchitecture,
  walkedThrough,
  Workload,
} from '../engine';
import { estimatePlan, walkedOnThreads } from './estimate';

/** Parallel settings the search keeps as given; the rest it chooses itself. */
const KEPT_PARALLELISM = ['sequenceParallel', 'pipelineSchedule', 'virtualStages'] as const;
/** Training settings the search tries every value of. */
const SEARCHED_TRAINING = ['microBatchSize', 'activationCheckpointing'];

/** A search as POST /plans/search and `shardplan search` take it: any parallel setting may be
 * sent, and those the search chooses are reported as not used. */
export type SearchRequest = Omit<SearchInput, 'parallelism'> & {
  workload?: Workload;
  parallelism?: PlanRequestInput['parallelism'];
};

export type SearchAnswer = SearchResult & { warnings: string[] };

/** Called after each layout the engine plans, with the count so far. */
export type PlannedLayouts = (planned: number) => void;

function given(section: object | undefined): string[] {
  // DTO instances carry every declared field, so only fields with a value count as given.
  return Object.entries(section ?? {})
    .filter(([, value]) => value !== undefined)
    .map(([key]) => key);
}

/** Fields of the request that the search overrides, as dotted paths. */
function searchedSettings(request: SearchRequest): string[] {
  const kept: readonly string[] = KEPT_PARALLELISM;
  const parallelism = given(request.parallelism).filter((key) => !kept.includes(key));
  const training = SEARCHED_TRAINING.concat(
    request.globalBatchSize !== undefined ? ['gradientAccumulationSteps'] : [],
  ).filter((key) => given(request.training).includes(key));
  return [
    ...parallelism.map((key) => `parallelism.${key}`),
    ...training.map((key) => `training.${key}`),
  ];
}

/** The engine's SearchInput: the request less what the search chooses. */
function searchInputOf(request: SearchRequest): SearchInput {
  const { workload: _workload, parallelism, ...rest } = request;
  const kept = Object.fromEntries(
    KEPT_PARALLELISM.filter((key) => parallelism?.[key] !== undefined).map((key) => [
      key,
      parallelism?.[key],
    ]),
  );
  return { ...rest, ...(Object.keys(kept).length > 0 ? { parallelism: kept } : {}) };
}

/** What a search that stopped at its plan budget tells the user. */
function incompleteWarning(found: SearchResult): string {
  return `the search stopped after ${found.counts.planned} full plans, the most one search runs, with layouts left that could still rank: the results are the best of those planned; narrow cluster.nodes, lower maxMicroBatchSize or top, or leave allowOffload out for a complete ranking`;
}

/** The search's warnings, its context and the plan function counting each layout planned. */
function searchSetup(request: SearchRequest, catalog: Catalog, onPlanned: PlannedLayouts) {
  if (request.workload === 'inference') {
    throw new PlanValidationError([
      {
        field: 'workload',
        message: "search plans training layouts; leave workload out or use 'training'",
      },
    ]);
  }
  const warnings = searchedSettings(request).map(
    (field) => `${field} is chosen by the search; the value given was not used`,
  );
  const context = {
    arch: trainedArchitecture(request.training?.preference, resolveModel(catalog, request.model)),
    gpu: resolveGpu(catalog, request.cluster.gpu),
  };
  let planned = 0;
  const plan = (input: PlanRequestInput) => {
    const result = estimatePlan(input, catalog);
    onPlanned(++planned);
    return result;
  };
  const answer = (found: SearchResult): SearchAnswer => {
    const all = found.complete ? warnings : [...warnings, incompleteWarning(found)];
    return { ...found, warnings: all };
  };
  return { input: searchInputOf(request), context, plan, answer };
}

/** Ranked layouts that fit; settings the search chose rather than took are named in `warnings`. */
export function searchPlans(
  request: SearchRequest,
  catalog: Catalog,
  onPlanned: PlannedLayouts = () => undefined,
): SearchAnswer {
  return walkedThrough(searchPlansWalk(request, catalog, onPlanned));
}

/** searchPlans as a walk handing out up to `lookahead` full plans at once (engine searchWalk). */
export function* searchPlansWalk(
  request: SearchRequest,
  catalog: Catalog,
  onPlanned: PlannedLayouts = () => undefined,
  lookahead = 1,
): PlanWalk<SearchAnswer> {
  const { input, context, plan, answer } = searchSetup(request, catalog, onPlanned);
  return answer(yield* searchWalk(input, plan, context, lookahead));
}

/** searchPlans with its finalists simulated on the simulation threads, as many at once as
 * there are threads: the same answer. */
export function searchPlansAhead(
  request: SearchRequest,
  catalog: Catalog,
  onPlanned: PlannedLayouts = () => undefined,
): Promise<SearchAnswer> {
  return walkedOnThreads(
    (lookahead) => searchPlansWalk(request, catalog, onPlanned, lookahead),
    catalog,
  );
}
