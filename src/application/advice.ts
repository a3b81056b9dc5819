// Advice for a plan that does not fit or is tight: the changes that make it fit, each planned
// again through estimatePlan, best first. Bounded: at most MAX_REPLANS plans of its own, plus one
// GPU-count search (gpus-needed.ts, bounded by its cluster sizes and the layout search's).
import { Catalog } from '../catalog/catalog';
import {
  ADVICE_EFFECTS,
  Advice,
  AdviceEffect,
  PlanRequestInput,
  PlanResult,
  PlanValidationError,
  PlanWalk,
  walkedThrough,
} from '../engine';
import { Change, ChangeScan, changeScans, sequenceLength } from './advice-changes';
import { estimatePlan, walkedOnThreads } from './estimate';
import { fewestGpus, fitLowerBound, sizeSearcher } from './gpus-needed';
import { SearchRequest, searchPlansWalk } from './search';

/** Plans advice may make of its own: the scans of every kind (about 25 at most), the stack of
 * changes (up to 10) and the shorter sequences (up to 10), with room to spare. */
export const MAX_REPLANS = 64;
/** DeepSpeed's memory estimator keeps 1.5x what offload needs on the host (the engine's
 * warning says the same). */
const HOST_MARGIN = 1.5;
/** A change that saves less than this share of device memory is not worth stacking. */
const MIN_SAVING = 0.01;

const GIB = 1024 ** 3;

/** What a changed plan must reach. A plan that does not fit needs `fits` at its estimate, and
 * `confident` (the verdict `fits`: room for the top of its range) is preferred; a tight plan
 * needs the verdict `fits` for both. */
interface Target {
  fits: (result: PlanResult) => boolean;
  confident: (result: PlanResult) => boolean;
}

interface Planned {
  kind: Change['kind'];
  effect: AdviceEffect;
  words: string;
  changes: Record<string, unknown>;
  result: PlanResult;
}

/** The request as sent with `changes` (dotted paths) set, as a plain copy. */
export function withChanges(
  input: PlanRequestInput,
  changes: Record<string, unknown>,
): PlanRequestInput {
  const copy = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split('.');
    let node = copy;
    for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1]] = value;
  }
  return copy as PlanRequestInput;
}

/** Plans changed requests, at most MAX_REPLANS of them; a change the engine refuses (a degree
 * the model's heads or layers cannot take) is no advice. */
class Replanner {
  private planned = 0;
  constructor(
    private readonly input: PlanRequestInput,
    private readonly catalog: Catalog,
  ) {}

  *plan(changes: Record<string, unknown>): PlanWalk<PlanResult | null> {
    if (this.planned >= MAX_REPLANS) return null;
    this.planned += 1;
    const input = withChanges(this.input, changes);
    yield [input];
    return unlessRefused(() => estimatePlan(input, this.catalog));
  }
}

/** Offload only where the node's host memory holds what it moves there, with DeepSpeed's margin:
 * the catalog's reference node, in the share of its GPUs this node has. */
function hostHolds(result: PlanResult, catalog: Catalog): boolean {
  const gpu = catalog.findGpu(result.request.cluster.gpu);
  if (!gpu?.hostMemoryBytes || !gpu.hostMemoryGpus) return false;
  const host = (gpu.hostMemoryBytes * result.request.cluster.gpusPerNode) / gpu.hostMemoryGpus;
  return result.memory.hostPerNodeBytes * HOST_MARGIN <= host;
}

/** A scan's mildest step that fits with room for its range (else the mildest that fits at its
 * estimate), and its strongest step planned, for stacking. */
function* runScan(
  scan: ChangeScan,
  replanner: Replanner,
  target: Target,
  catalog: Catalog,
): PlanWalk<{ meeting: Planned | null; strongest: Planned | null }> {
  let strongest: Planned | null = null;
  let fitting: Planned | null = null;
  for (const step of scan.steps) {
    const result = yield* replanner.plan(step.changes);
    if (!result) continue;
    const offloads = step.kind.startsWith('offload');
    if (offloads && !hostHolds(result, catalog)) continue;
    strongest = { ...step, result };
    if (target.confident(result)) return { meeting: strongest, strongest };
    if (!fitting && target.fits(result)) fitting = strongest;
  }
  return { meeting: fitting, strongest };
}

/**
 * Changes stacked on one another until the plan fits with room for its range, each kept only
 * where it saves memory at that point: the same training first, cheapest first (by the price per
 * token of each change alone), then the approximations (8-bit states, adapters), then once more
 * the same-training changes that saved nothing before them (checkpointing saves nothing while
 * the optimizer step is the peak, and much once adapters make it small). Every state is kept.
 */
function* stack(
  singles: Planned[],
  replanner: Replanner,
  target: Target,
  original: PlanResult,
): PlanWalk<Planned[]> {
  const used = (r: PlanResult) => r.memory.perGpu.deviceUsedBytes;
  const byCost = [...singles].sort(
    (a, b) => a.result.cost.usdPerMillionTokens - b.result.cost.usdPerMillionTokens,
  );
  const states: Planned[] = [];
  const done = () => states.length > 0 && target.confident(states[states.length - 1].result);
  /** Adds the kind's strongest step to the last state; false when it saves nothing there. */
  function* add(single: Planned): PlanWalk<boolean> {
    const current = states.at(-1);
    const base: PlanResult = current?.result ?? original;
    const step = changeScans(base)
      .find((s) => s.kind === single.kind)
      ?.steps.at(-1);
    if (!step) return false;
    const changes: Record<string, unknown> = { ...(current?.changes ?? {}), ...step.changes };
    const result = yield* replanner.plan(changes);
    if (!result || used(result) > used(base) * (1 - MIN_SAVING)) return false;
    const effect = current?.effect === 'approximates-training' ? current.effect : single.effect;
    const words: string = current ? `${current.words}; ${step.words}` : step.words;
    states.push({ kind: 'combined', effect, words, changes, result });
    return true;
  }
  const skipped: Planned[] = [];
  for (const single of byCost.filter((s) => s.effect === 'same-training')) {
    if (!done() && !(yield* add(single))) skipped.push(single);
  }
  for (const single of byCost.filter((s) => s.effect === 'approximates-training')) {
    if (!done()) yield* add(single);
  }
  for (const single of skipped) if (!done()) yield* add(single);
  return states;
}

/** The stacked state to advise: the first with room for its range, else the first that fits. */
function stackAdvice(states: Planned[], target: Target): Planned | null {
  const several = states.filter((s) => Object.keys(s.changes).length > 1 || s !== states[0]);
  return (
    several.find((s) => target.confident(s.result)) ??
    several.find((s) => target.fits(s.result)) ??
    null
  );
}

/** The longest shorter sequence that fits: alone, else in place of the last change the stack
 * needed (the changes before it kept), else on top of the whole stack. */
function* shorterSequence(
  original: PlanResult,
  states: Planned[],
  replanner: Replanner,
  target: Target,
  catalog: Catalog,
): PlanWalk<Planned | null> {
  const alone = (yield* runScan(sequenceLength(original), replanner, target, catalog)).meeting;
  if (alone) return alone;
  const met = states.length > 0 && target.fits(states[states.length - 1].result);
  const base = met ? states[states.length - 2] : states.at(-1);
  if (!base) return null;
  for (const step of sequenceLength(original).steps) {
    const changes = { ...base.changes, ...step.changes };
    const result = yield* replanner.plan(changes);
    if (result && target.fits(result)) {
      return { ...step, words: `${step.words}; with ${base.words}`, changes, result };
    }
  }
  return null;
}

/** A layout the search finds on the GPUs the plan has, else the fewest GPUs of the type above
 * them that fit the job (gpus-needed): the same GPUs are searched once, not once per size. */
function* moreGpus(
  input: PlanRequestInput,
  original: PlanResult,
  catalog: Catalog,
  lookahead: number,
): PlanWalk<Planned | null> {
  const r = original.request;
  const {
    microBatchSize: _mb,
    activationCheckpointing: _ckpt,
    gradientAccumulationSteps: _steps,
    ...training
  } = input.training ?? {};
  const { sequenceParallel, pipelineSchedule, virtualStages } = input.parallelism ?? {};
  const search = {
    model: input.model,
    training,
    runtime: input.runtime,
    parallelism: { sequenceParallel, pipelineSchedule, virtualStages },
    maxMicroBatchSize: r.training.microBatchSize,
    // The same sequences per optimizer step: each layout's accumulation is derived from it.
    globalBatchSize:
      r.training.microBatchSize *
      r.training.gradientAccumulationSteps *
      original.layout.dataParallel,
  };
  const gpus = original.layout.gpus;
  const nodeSize = r.cluster.gpusPerNode > 1 ? r.cluster.gpusPerNode : undefined;
  const perNode = { ...search, cluster: { gpu: r.cluster.gpu, gpusPerNode: nodeSize } };
  // The same GPUs are searched only where their count could hold the job at all.
  const bound = yield* fitLowerBound(perNode, catalog);
  if (bound <= gpus) {
    const layout = yield* sameGpusLayout(search, r.cluster, gpus, catalog, lookahead);
    if (layout) return layout;
  }
  const searcher = sizeSearcher(perNode, catalog, lookahead);
  const { fewest } = yield* fewestGpus(perNode, catalog, searcher, Math.max(bound - 1, gpus));
  if (!fewest) return null;
  yield [fewest.request];
  const result = estimatePlan(fewest.request, catalog);
  const words = `${fewest.gpus} GPUs (${fewest.nodes} x ${fewest.gpusPerNode}) instead of ${gpus}, the fewest on which a layout fits: ${fewest.label}`;
  return { kind: 'more-gpus', effect: 'same-training', words, changes: {}, result };
}

/** The cheapest layout of the plan's own cluster whose verdict is `fits`. */
function* sameGpusLayout(
  search: Omit<SearchRequest, 'cluster'>,
  { gpu, nodes, gpusPerNode }: { gpu: string; nodes: number; gpusPerNode: number },
  gpus: number,
  catalog: Catalog,
  lookahead: number,
): PlanWalk<Planned | null> {
  const cluster = { gpu, nodes, gpusPerNode };
  const cheapest = { ...search, cluster, objective: 'cost' as const, top: 1, clearFitsOnly: true };
  const [best] = (yield* searchPlansWalk(cheapest, catalog, undefined, lookahead)).results;
  if (!best) return null;
  const words = `A layout the search finds on the same ${gpus} GPUs: ${best.label}`;
  return { kind: 'layout', effect: 'same-training', words, changes: {}, result: best.result };
}

/** The answer, or none where the engine refuses the request (a degree the model's heads or
 * layers cannot take; a search past MAX_SEARCH_CANDIDATES): the plan keeps
 * its other advice. */
function unlessRefused<T>(plan: () => T | null): T | null {
  try {
    return plan();
  } catch (error) {
    if (error instanceof PlanValidationError) return null;
    throw error;
  }
}

/** unlessRefused for a walk. */
function* unlessRefusedWalk<T>(walk: PlanWalk<T | null>): PlanWalk<T | null> {
  try {
    return yield* walk;
  } catch (error) {
    if (error instanceof PlanValidationError) return null;
    throw error;
  }
}

/** The request's fields that differ, by dotted path, with their new values. */
function changedFields(before: unknown, after: unknown, path = ''): Record<string, unknown> {
  if (typeof after !== 'object' || after === null || Array.isArray(after)) {
    return JSON.stringify(before) === JSON.stringify(after) ? {} : { [path]: after };
  }
  const old = (typeof before === 'object' && before !== null ? before : {}) as Record<
    string,
    unknown
  >;
  return Object.assign(
    {},
    ...Object.entries(after as Record<string, unknown>).map(([key, value]) =>
      changedFields(old[key], value, path ? `${path}.${key}` : key),
    ),
  );
}

function adviceOf(original: PlanResult, planned: Planned): Omit<Advice, 'rank'> {
  const { result } = planned;
  const worst = result.memory.perGpu;
  const sentence = `${planned.words}: ${(worst.deviceUsedBytes / GIB).toFixed(1)} GiB per GPU (${worst.verdict ?? (worst.fits ? 'fits' : 'does not fit')}), ${result.performance.stepTimeSeconds.toFixed(2)} s per step, $${result.cost.usdPerMillionTokens.toFixed(2)} per million tokens.`;
  return {
    kind: planned.kind,
    effect: planned.effect,
    changesJob: planned.effect === 'changes-job',
    sentence,
    changes: changedFields(original.request, result.request),
    request: result.request,
    figures: {
      gpus: result.layout.gpus,
      deviceUsedBytes: worst.deviceUsedBytes,
      deviceUsedRangeBytes: worst.deviceUsedRangeBytes,
      capacityBytes: worst.capacityBytes,
      verdict: worst.verdict,
      stepTimeSeconds: result.performance.stepTimeSeconds,
      tokensPerSecond: result.performance.tokensPerSecond,
      clusterPerHour: result.cost.clusterPerHour,
      usdPerMillionTokens: result.cost.usdPerMillionTokens,
      totalUsd: result.cost.totalUsd,
    },
  };
}

/**
 * The ranking rule: advice that fits at the top of its range (`fits`) before advice that fits
 * only at the estimate (`tight`); then what keeps the training the same, then what approximates
 * it, then what changes the job; then the lower price per token (the same job's cost), then the
 * shorter step.
 */
export function compareAdvice(a: Omit<Advice, 'rank'>, b: Omit<Advice, 'rank'>): number {
  const verdict = (x: Omit<Advice, 'rank'>) => (x.figures.verdict === 'fits' ? 0 : 1);
  return (
    verdict(a) - verdict(b) ||
    ADVICE_EFFECTS.indexOf(a.effect) - ADVICE_EFFECTS.indexOf(b.effect) ||
    a.figures.usdPerMillionTokens - b.figures.usdPerMillionTokens ||
    a.figures.stepTimeSeconds - b.figures.stepTimeSeconds
  );
}

/** Why some advice could not be given, for the plan's warnings. */
function offloadNote(result: PlanResult, catalog: Catalog): string[] {
  const gpu = catalog.findGpu(result.request.cluster.gpu);
  if (gpu?.hostMemoryBytes) return [];
  return [
    `advice leaves out CPU offload: the GPU catalog gives no host memory per node for '${result.request.cluster.gpu}' to check it against`,
  ];
}

/** Changes that make a training plan fit, ranked by compareAdvice; empty when it fits. */
export function adviseOn(
  input: PlanRequestInput,
  original: PlanResult,
  catalog: Catalog,
): { advice: Advice[]; notes: string[] } {
  return walkedThrough(adviceWalk(input, original, catalog));
}

/** adviseOn as a walk (engine plan-walk.ts): it hands out the first change of every scan at
 * once (each scan plans its first), then each plan before it plans it, and up to `lookahead` of
 * its searches' finalists at once. */
function* adviceWalk(
  input: PlanRequestInput,
  original: PlanResult,
  catalog: Catalog,
  lookahead = 1,
): PlanWalk<{ advice: Advice[]; notes: string[] }> {
  const { perGpu } = original.memory;
  // Without error bands (a catalog built by hand) the plan has no verdict: its fits flag stands in.
  const verdict = perGpu.verdict ?? (perGpu.fits ? 'fits' : 'does not fit');
  if (original.request.workload !== 'training' || verdict === 'fits')
    return { advice: [], notes: [] };
  const confident = (r: PlanResult) => r.memory.perGpu.verdict === 'fits';
  const target: Target = {
    fits: verdict === 'tight' ? confident : (r) => r.memory.perGpu.fits,
    confident,
  };
  const replanner = new Replanner(input, catalog);
  const kinds = changeScans(original);
  // Every scan plans its first change, whatever the others find.
  const firstChanges = kinds.slice(0, MAX_REPLANS).map((scan) => scan.steps[0].changes);
  yield firstChanges.map((changes) => withChanges(input, changes));
  const scans: { meeting: Planned | null; strongest: Planned | null }[] = [];
  for (const scan of kinds) scans.push(yield* runScan(scan, replanner, target, catalog));
  const singles = scans.flatMap((s) => (s.strongest ? [s.strongest] : []));
  const states = yield* stack(singles, replanner, target, original);
  const gpus = yield* unlessRefusedWalk(moreGpus(input, original, catalog, lookahead));
  const shorter = yield* shorterSequence(original, states, replanner, target, catalog);
  const planned = [
    ...scans.map((s) => s.meeting),
    stackAdvice(states, target),
    gpus && target.fits(gpus.result) ? gpus : null,
    shorter,
  ].filter((p): p is Planned => p !== null);
  const seen = new Set<string>();
  const advice = planned
    .map((p) => adviceOf(original, p))
    .filter((a) => !seen.has(JSON.stringify(a.request)) && seen.add(JSON.stringify(a.request)))
    .sort(compareAdvice)
    .map((a, i) => ({ rank: i + 1, ...a }));
  return { advice, notes: offloadNote(original, catalog) };
}

/** POST /plans/estimate, POST /plans and `shardplan plan`: the plan, with advice when it does
 * not fit or is tight (what could not be advised joins the warnings). */
export function estimateWithAdvice(input: PlanRequestInput, catalog: Catalog): PlanResult {
  return walkedThrough(estimateWithAdviceWalk(input, catalog));
}

/** estimateWithAdvice with the plan's ranks, then its advice's plans, simulated on the
 * simulation threads (simulateAhead) before they are planned: the same answer. */
export function estimateWithAdviceAhead(
  input: PlanRequestInput,
  catalog: Catalog,
): Promise<PlanResult> {
  return walkedOnThreads((lookahead) => estimateWithAdviceWalk(input, catalog, lookahead), catalog);
}

export function* estimateWithAdviceWalk(
  input: PlanRequestInput,
  catalog: Catalog,
  lookahead = 1,
): PlanWalk<PlanResult> {
  yield [input];
  const result = estimatePlan(input, catalog);
  const { advice, notes } = yield* adviceWalk(input, result, catalog, lookahead);
  return { ...result, advice, warnings: [...result.warnings, ...notes] };
}
