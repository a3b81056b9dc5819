// Which search candidates get the full timeline: screened and ordered by the memory bound
// (bound.ts), planned in full only where they can still reach the top, and ranked from the full
// plans alone, so no returned figure comes from the bound.
import { BOUND_TOLERANCE, BoundFigures, MemoryBound } from './bound';
import type { SearchCandidate, SearchCounts, SearchFigures, SearchObjective } from './search';
import { PlanRequestInput } from '../request/normalize';
import { PlansAhead, PlanWalk, walkedThrough } from './plan-walk';
import {
  FieldError,
  OffloadTarget,
  PlanRequest,
  PlanResult,
  PlanValidationError,
  RankMemory,
  Recompute,
} from '../vocabulary';

/** One layout to try, with the figures that do not need its memory plan. */
export interface Candidate {
  /** Nodes, GPUs per node and the parallel degrees: candidates of one split share it. */
  split: string;
  pipelineParallel: number;
  zeroStage: 0 | 1 | 2 | 3;
  offload: OffloadTarget;
  recompute: Recompute;
  microBatch: number;
  accumulation: number;
  label: string;
  input: PlanRequestInput;
  request: PlanRequest;
  figures: Pick<
    SearchFigures,
    'gpus' | 'tokensPerSecond' | 'usdPerMillionTokens' | 'headroomBytes'
  >;
  bound?: BoundFigures;
}

export type Finalist = Omit<SearchCandidate, 'rank'>;

/** What ranking reads: figures known before planning, and headroom once planned. */
interface Ranked {
  figures: Pick<
    SearchFigures,
    'gpus' | 'tokensPerSecond' | 'usdPerMillionTokens' | 'headroomBytes'
  >;
  label: string;
}

/** Negative when `a` ranks before `b`; ties fall to throughput, then the label. */
export function comparator(objective: SearchObjective) {
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

/** Whether the optimizer step alone (weights, gradients, states) overflows a rank: then no
 * recomputation or micro-batch can make this split, ZeRO stage and offload fit. Its allocated
 * total is what no run can go below (reserved never is less); a fraction for the allocator's
 * slack on top, as serving plans add, could turn away a split whose slack is smaller. */
export function statesOverflow(result: PlanResult): boolean {
  const { runtime } = result.request;
  if (runtime.optimizerInBackward) return false;
  return result.memory.ranks.some(
    (rank) =>
      rank.phaseTotals.optimizer + rank.breakdown.runtimeOverhead >
      rank.capacityBytes - runtime.safetyMarginBytes,
  );
}

function isLayoutField(error: FieldError): boolean {
  return (
    error.field === 'cluster' ||
    error.field.startsWith('cluster.') ||
    error.field.startsWith('parallelism.')
  );
}

/** A candidate's split, ZeRO stage and offload: what holds its model states. */
function groupOf(c: Candidate): string {
  return `${c.split}/${c.zeroStage}/${c.offload}`;
}

// Cheapest memory first, so a split whose model states alone overflow is dropped early.
export const RECOMPUTE_ORDER: Recompute[] = ['full', 'selective', 'none'];

// Candidates an exhaustive search bounds between pauses: its 5,184 candidates for 1,024 GPUs
// take about 0.75 s to bound, so a pause comes every 5 ms or so on average.
const BOUNDS_PER_PAUSE = 32;

/** What the lookahead makes of a candidate after the one about to be planned: planned next, or
 * skipped as the walk would skip it. */
type Screened = 'plan' | 'skip';

/** One search's walk over its candidates: the bound, the full plans and the ranked top. */
export class Finalists {
  readonly best: Finalist[] = [];
  /** False once the walk stopped at its plan budget with candidates it could not rule out. */
  complete = true;
  private readonly order: (a: Ranked, b: Ranked) => number;
  /** Bytes the bound may sit above a full plan (bound.ts BOUND_TOLERANCE). */
  private readonly tolerance: number;
  private readonly invalidSplits = new Set<string>();
  private readonly statesOverflowing = new Set<string>();
  /** Micro-batches known to overflow (planned, or bounded beyond the tolerance), per series. */
  private readonly overflowing = new Map<string, { microBatch: number; accumulation: number }[]>();
  /** Candidates already handed out in a PlansAhead. */
  private readonly handedOut = new Set<Candidate>();
  /** Plans handed out at once (1: each one alone, just before the walk plans it). */
  private lookahead = 1;

  constructor(
    private readonly objective: SearchObjective,
    private readonly top: number,
    private readonly plan: (request: PlanRequestInput) => PlanResult,
    /** Full plans the walk may run (search.ts MAX_SEARCH_PLANS). */
    private readonly planBudget: number,
    private readonly bound: MemoryBound,
    capacityBytes: number,
    private readonly counts: SearchCounts,
    private readonly rejectSplit: (field: string) => void,
    /** Offer only layouts whose verdict is `fits` (SearchInput.clearFitsOnly). */
    private readonly clearFitsOnly = false,
  ) {
    this.order = comparator(objective);
    this.tolerance = BOUND_TOLERANCE * capacityBytes;
  }

  /** Ranks the candidates; `exhaustive` bounds every one and skips none by the pruning rules. */
  rank(candidates: Candidate[], exhaustive: boolean): Finalist[] {
    return walkedThrough(this.walk(candidates, exhaustive));
  }

  /** The ranking as a walk (plan-walk.ts) that hands out up to `lookahead` plans at once before
   * planning the first of them. It hands out only plans it is sure to reach with the candidates
   * before them unchanged, and bounds only candidates it would bound anyway, so every count and
   * result is the same whatever the lookahead; a handed-out plan that a plan before it makes
   * the walk skip is wasted work. */
  *walk(candidates: Candidate[], exhaustive: boolean, lookahead = 1): PlanWalk<Finalist[]> {
    this.lookahead = lookahead;
    if (exhaustive) yield* this.boundEvery(candidates);
    if (this.objective === 'headroom') yield* this.byHeadroom(candidates, exhaustive);
    else yield* this.byFigures(candidates, exhaustive);
    if (this.counts.planned === 0) this.planClosest(candidates);
    this.counts.boundProbes = this.bound.probes;
    return this.best;
  }

  /** Bounds every candidate (an exhaustive search), handing out an empty batch after every
   * BOUNDS_PER_PAUSE of them: a caller running ahead lets its thread serve others there. */
  private *boundEvery(candidates: Candidate[]): Generator<PlansAhead> {
    for (const [index, candidate] of candidates.entries()) {
      this.boundOf(candidate);
      if ((index + 1) % BOUNDS_PER_PAUSE === 0) yield [];
    }
  }

  /** Hands out the candidate at `index`, which the walk plans now, with the ones after it that
   * it is sure to plan next: while the top and the budget cannot fill before them, each
   * screened as the walk screens it. A candidate's bound is computed only where the walk would
   * compute it: its split is not one already looked at here (a plan or a skip of the same split
   * could make the walk skip it unbounded). */
  private *handOut(
    list: Candidate[],
    index: number,
    screen: (c: Candidate) => Screened,
  ): Generator<PlansAhead> {
    if (this.handedOut.has(list[index])) return;
    const batch = [list[index]];
    const splits = new Set([list[index].split]);
    const room = () =>
      batch.length < this.lookahead &&
      this.best.length + batch.length < this.top &&
      this.counts.planned + batch.length < this.planBudget;
    for (let next = index + 1; next < list.length && room(); next++) {
      const candidate = list[next];
      if (!candidate.bound && splits.has(candidate.split)) break;
      const skipped = this.invalidSplits.has(candidate.split) || screen(candidate) === 'skip';
      splits.add(candidate.split);
      if (!skipped) batch.push(candidate);
    }
    batch.forEach((c) => this.handedOut.add(c));
    yield batch.map((c) => c.input);
  }

  /** Throughput, cost, fewest GPUs: known before planning, so candidates are planned best
   * first, those the bound says overflow skipped, until `top` fit. */
  private *byFigures(candidates: Candidate[], exhaustive: boolean): Generator<PlansAhead> {
    candidates.sort(this.order);
    // As the loop below screens a candidate, without counting: pruning only grows, and a bound
    // computed here is one the loop computes when it gets there.
    const screen = (c: Candidate): Screened =>
      (!exhaustive && this.prunes(c)) || this.overflowsBound(this.boundOf(c)) ? 'skip' : 'plan';
    for (const [index, candidate] of candidates.entries()) {
      if (this.best.length === this.top || this.budgetSpent()) {
        this.counts.notPlanned += candidates.length - index;
        return;
      }
      if (this.invalidSplits.has(candidate.split)) continue;
      if (!exhaustive && this.pruned(candidate)) continue;
      if (this.boundOverflows(candidate)) continue;
      yield* this.handOut(candidates, index, screen);
      this.planOne(candidate);
    }
  }

  /** Headroom is a memory figure: candidates are planned by the most headroom the bound allows
   * them (its estimate plus the tolerance), until that cannot beat the top's last planned one.
   * The pruned walk bounds small micro-batches first and skips larger ones of a series once a
   * smaller one overflows. */
  private *byHeadroom(candidates: Candidate[], exhaustive: boolean): Generator<PlansAhead> {
    const bounded = exhaustive
      ? candidates.filter((c) => !this.boundOverflows(c))
      : this.boundedCheapestFirst(candidates);
    const reach = (c: Candidate) => c.bound!.headroomBytes + this.tolerance;
    bounded.sort((a, b) => reach(b) - reach(a) || this.order(a, b));
    for (const [index, candidate] of bounded.entries()) {
      const last = this.best.length === this.top ? this.best[this.top - 1] : undefined;
      if ((last && reach(candidate) < last.figures.headroomBytes) || this.budgetSpent()) {
        this.counts.notPlanned += bounded.length - index;
        return;
      }
      if (this.invalidSplits.has(candidate.split)) continue;
      // Every candidate here is bounded and within the tolerance; the top cannot fill before
      // the ones handed out (handOut), so none of them stops the loop.
      yield* this.handOut(bounded, index, () => 'plan');
      this.planOne(candidate);
    }
  }

  /** Whether the walk has run its plan budget: the candidates left could still reach the top,
   * so the answer is then the best of those planned and says so (`complete`). */
  private budgetSpent(): boolean {
    if (this.counts.planned < this.planBudget) return false;
    this.complete = false;
    return true;
  }

  /** When the bound turned every candidate away, the one it puts closest to fitting is planned
   * in full, so the answer still says which rank overflows and what dominates it. */
  private planClosest(candidates: Candidate[]): void {
    const bounded = candidates.filter((c) => c.bound && !this.invalidSplits.has(c.split));
    if (bounded.length === 0) return;
    const closest = bounded.reduce((a, b) =>
      b.bound!.deviceUsedBytes < a.bound!.deviceUsedBytes ? b : a,
    );
    this.counts.rejected.boundOutOfMemory -= 1;
    this.planOne(closest);
  }

  private boundedCheapestFirst(candidates: Candidate[]): Candidate[] {
    candidates.sort(
      (a, b) =>
        a.microBatch - b.microBatch ||
        RECOMPUTE_ORDER.indexOf(a.recompute) - RECOMPUTE_ORDER.indexOf(b.recompute) ||
        b.zeroStage - a.zeroStage,
    );
    return candidates.filter((c) => !this.pruned(c) && !this.boundOverflows(c));
  }

  private boundOf(candidate: Candidate): BoundFigures {
    if (!candidate.bound) {
      candidate.bound = this.boundOrNone(candidate.request);
      this.counts.boundEvaluated += 1;
    }
    return candidate.bound;
  }

  /** The bound's figures, or none (the whole card free) where its probes cannot be laid out:
   * an expert-parallel candidate with one data-parallel rank under ZeRO-0 spreads its experts
   * over context ranks, and the probes have none. The full plan decides such a candidate. */
  private boundOrNone(request: PlanRequest): BoundFigures {
    try {
      return this.bound.estimate(request);
    } catch (error) {
      if (!(error instanceof PlanValidationError)) throw error;
      return { deviceUsedBytes: 0, headroomBytes: Infinity };
    }
  }

  private overflowsBound(bound: BoundFigures): boolean {
    return bound.headroomBytes + this.tolerance < 0;
  }

  /** Whether the bound overflows the card by more than its tolerance: then the full plan would
   * too, and so would every larger micro-batch of the series. */
  private boundOverflows(candidate: Candidate): boolean {
    if (!this.overflowsBound(this.boundOf(candidate))) return false;
    this.counts.rejected.boundOutOfMemory += 1;
    this.markOverflowing(candidate);
    return true;
  }

  private seriesOf(c: Candidate): string {
    return `${c.split}/${c.zeroStage}/${c.offload}/${c.recompute}`;
  }

  private markOverflowing(c: Candidate): void {
    const series = this.seriesOf(c);
    this.overflowing.set(series, [...(this.overflowing.get(series) ?? []), c]);
  }

  /** The pruning rules: the split, ZeRO stage and offload already overflowed in its optimizer
   * step, or a smaller micro-batch of the series overflowed (activations grow with the
   * micro-batch; only accumulation dropping to one micro-batch, when gradients stop persisting
   * between micro-batches, can make a larger one smaller). */
  private pruned(c: Candidate): boolean {
    if (!this.prunes(c)) return false;
    this.counts.pruned += 1;
    return true;
  }

  private prunes(c: Candidate): boolean {
    const smallerOverflowed = (this.overflowing.get(this.seriesOf(c)) ?? []).some(
      (o) => o.microBatch < c.microBatch && !(o.accumulation > 1 && c.accumulation === 1),
    );
    return smallerOverflowed || this.statesOverflowing.has(groupOf(c));
  }

  /** The full timeline plan of one finalist, counted and offered to the top. */
  private planOne(candidate: Candidate): void {
    let result: PlanResult;
    try {
      result = this.plan(candidate.input);
    } catch (error) {
      if (!(error instanceof PlanValidationError)) throw error;
      const layoutError = error.errors.find(isLayoutField);
      if (!layoutError) throw error;
      this.invalidSplits.add(candidate.split);
      this.rejectSplit(layoutError.field);
      return;
    }
    this.counts.evaluated += 1;
    this.counts.planned += 1;
    const worst = result.memory.perGpu;
    if (worst.fits) {
      this.counts.feasible += 1;
      if (worst.verdict === 'tight') this.counts.tight += 1;
      // A larger micro-batch of the series keeps more, so it cannot fit clearly either.
      if (worst.verdict === 'tight' && this.clearFitsOnly) return this.markOverflowing(candidate);
      const { label, bound } = candidate;
      this.offer({ label, request: result.request, result, figures: figuresOf(result), bound });
      return;
    }
    const rejected = this.counts.rejected;
    rejected.outOfMemory += 1;
    const kind = rankKind(worst, candidate.pipelineParallel);
    rejected.outOfMemoryByRank[kind] = (rejected.outOfMemoryByRank[kind] ?? 0) + 1;
    this.markOverflowing(candidate);
    if (statesOverflow(result)) this.statesOverflowing.add(groupOf(candidate));
  }

  private offer(finalist: Finalist): void {
    const { best, top, order } = this;
    if (best.length === top && order(finalist, best[top - 1]) >= 0) return;
    let i = best.length;
    while (i > 0 && order(finalist, best[i - 1]) < 0) i--;
    best.splice(i, 0, finalist);
    if (best.length > top) best.pop();
  }
}
