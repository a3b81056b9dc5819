// One plan: catalog ids resolved, defaults filled, the engine run. What HTTP and the CLI call.
import { Catalog, resolveGpu, resolveModelWithNotes } from '../catalog/catalog';
import {
  isRankSimulationRemembered,
  normalizeRequest,
  planFromRequest,
  PlanRequestInput,
  PlanResult,
  PlanWalk,
  RankSimulationJob,
  rankSimulationJobs,
  rememberRankSimulation,
  trainedArchitecture,
  walkedAhead,
  walkedThrough,
  withUncertainty,
} from '../engine';
import { sharedSimulationThreads, SimulationThreads } from './simulation-threads';

// Simulations run ahead at once, at most: half of what the engine remembers, so none is
// forgotten before the plans that asked for it read it.
const MAX_SIMULATED_AHEAD = 128;

/** The request normalized against its catalog model and GPU, and how the model was read. */
function resolved(input: PlanRequestInput, catalog: Catalog) {
  const model = resolveModelWithNotes(catalog, input.model);
  // A reward model is the checkpoint with a one-label classifier head (trainedArchitecture).
  const arch = trainedArchitecture(input.training?.preference, model.arch);
  const { notes } = model;
  const gpu = resolveGpu(catalog, input.cluster.gpu);
  return { arch, gpu, notes, request: normalizeRequest(input, gpu, arch) };
}

/** Resolves catalog ids, fills defaults and plans; how the model was read joins the
 * assumptions (the catalog entry a variant's name stands for, families assumed, parts not yet
 * planned); each rank gets its 80% range and verdict from the catalog's error bands. */
export function estimatePlan(input: PlanRequestInput, catalog: Catalog): PlanResult {
  const { arch, gpu, notes, request } = resolved(input, catalog);
  const planned = planFromRequest(request, arch, gpu);
  const result = catalog.errorBands ? withUncertainty(planned, catalog.errorBands) : planned;
  return { ...result, assumptions: [...result.assumptions, ...notes] };
}

/** The rank simulations planning `input` runs that nothing remembers yet; none for a request
 * the catalog or the engine refuses (planning it reports why). */
function simulationsToRun(input: PlanRequestInput, catalog: Catalog): RankSimulationJob[] {
  try {
    const { arch, gpu, request } = resolved(input, catalog);
    return rankSimulationJobs(request, arch, gpu).filter((job) => !isRankSimulationRemembered(job));
  } catch {
    return [];
  }
}

/** Simulates on the simulation threads, side by side, every rank that planning `inputs` would
 * simulate one after another, and remembers each, so that estimatePlan then finds them all.
 * Without threads, or where a thread fails, planning simulates as before. */
export async function simulateAhead(
  inputs: PlanRequestInput[],
  catalog: Catalog,
  threads: SimulationThreads | undefined = sharedSimulationThreads(),
): Promise<void> {
  if (!threads) return;
  const jobs = new Map<string, RankSimulationJob>();
  for (const input of inputs) {
    for (const job of simulationsToRun(input, catalog)) jobs.set(job.key, job);
  }
  const ahead = [...jobs.values()].slice(0, MAX_SIMULATED_AHEAD);
  if (ahead.length === 0) return;
  // Planning simulates again what a thread failed at, and raises what it raised.
  const settled = await Promise.allSettled(ahead.map((job) => threads.run(job)));
  settled.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') rememberRankSimulation(ahead[i], outcome.value);
  });
}

/** A walk's answer (engine plan-walk.ts), each batch it hands out simulated on the simulation
 * threads before it plans them; `walkOf` makes the walk for a lookahead of one plan per thread.
 * Without threads the walk runs through, one plan at a time. */
export async function walkedOnThreads<T>(
  walkOf: (lookahead: number) => PlanWalk<T>,
  catalog: Catalog,
): Promise<T> {
  const threads = sharedSimulationThreads();
  if (!threads) return walkedThrough(walkOf(1));
  // An empty batch is a pause: the thread serves what waits (setImmediate runs after I/O).
  const pause = () => new Promise<void>((resolve) => setImmediate(resolve));
  return walkedAhead(walkOf(threads.size), (inputs) =>
    inputs.length === 0 ? pause() : simulateAhead(inputs, catalog, threads),
  );
}
