// The simulations a process keeps. A plan is a pure function of its inputs, so a repeated
// request (a compare row, a search candidate seen before, a refreshed page) costs a lookup, and
// pipeline ranks that a simulation cannot tell apart share one.
import { layerKind } from '../model/layers';
import { GpuSpec, ModelArchitecture, PlanLayout, PlanRequest } from '../vocabulary';
import { Moment } from './autograd/events';
import { layerIndices } from '../model/placement';
import { RankPlacement, RankSimulation, SimulationDepth, simulateRankOnce } from './rank';
import { scheduleShape, truncateSchedule } from './schedule';

// Simulations kept, the least recently used dropped first.
const REMEMBERED = 256;
const remembered = new Map<string, { simulation: RankSimulation; layers: number[] }>();

/** What a rank's simulation depends on besides the request: each chunk's layer kinds (a kind
 * builds the same tensors wherever it sits, as truncation.ts relies on too), its ends and
 * neighbours, and the rank's part of the schedule. Pipeline ranks alike in these share one
 * simulation: the middle stages of a pipeline run with fewer micro-batches than stages keep the
 * same micro-batches in flight. */
function rankShape(request: PlanRequest, arch: ModelArchitecture, placement: RankPlacement) {
  const shape = scheduleShape(request, placement.chunks.length);
  return {
    chunks: placement.chunks.map((span) => ({
      kinds: layerIndices(span).map((layer) => layerKind(arch, layer).key),
      receives: span.stage > 0,
      sends: span.stage < placement.virtualStages - 1,
      hasEmbedding: span.hasEmbedding,
      hasHead: span.hasHead,
    })),
    schedule: truncateSchedule(shape, placement.rank),
  };
}

/** A remembered simulation as the rank at `to` sees it: the moments it names moved from the
 * layers it was simulated with to the rank's own, position by position. */
function onLayers(simulation: RankSimulation, from: number[], to: number[]): RankSimulation {
  const moved = (moment: Moment): Moment => {
    const at = moment.layer >= 0 ? from.indexOf(moment.layer) : -1;
    return at >= 0 ? { ...moment, layer: to[at] } : moment;
  };
  const { peak, outOfMemoryAt } = simulation;
  return {
    ...simulation,
    peak: { ...peak, moment: moved(peak.moment) },
    outOfMemoryAt: outOfMemoryAt && moved(outOfMemoryAt),
    notes: [...simulation.notes],
  };
}

/** One rank's simulation as plain data, keyed by everything that shapes it: what another
 * thread needs to run it (runRankSimulationJob) and this one to remember the result. */
export interface RankSimulationJob {
  key: string;
  request: PlanRequest;
  arch: ModelArchitecture;
  gpu: GpuSpec;
  layout: PlanLayout;
  placement: RankPlacement;
  allocatorBudgetBytes: number;
  depth: SimulationDepth;
}

export function rankSimulationJob(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  layout: PlanLayout,
  placement: RankPlacement,
  allocatorBudgetBytes: number,
  depth: SimulationDepth = 'full',
): RankSimulationJob {
  const { name: _name, tags: _tags, training, ...shaping } = request;
  const { tokensToTrain: _tokens, ...trainingShape } = training;
  const key = JSON.stringify([
    shaping,
    trainingShape,
    arch,
    gpu.id,
    gpu.computeCapability,
    gpu.multiprocessors,
    layout,
    rankShape(request, arch, placement),
    allocatorBudgetBytes,
    depth,
  ]);
  return { key, request, arch, gpu, layout, placement, allocatorBudgetBytes, depth };
}

/** Runs a job's simulation, without its timeline: what a simulation thread sends back. */
export function runRankSimulationJob(job: RankSimulationJob): RankSimulation {
  const { request, arch, gpu, layout, placement, allocatorBudgetBytes, depth } = job;
  const { log: _log, ...simulation } = simulateRankOnce(
    request,
    arch,
    gpu,
    layout,
    placement,
    allocatorBudgetBytes,
    depth,
  );
  return simulation;
}

/** Whether the job's simulation is remembered: simulateRank would answer it at once. */
export function isRankSimulationRemembered(job: RankSimulationJob): boolean {
  return remembered.has(job.key);
}

/** Keeps a job's simulation, run here or by another thread, for simulateRank to answer from. */
export function rememberRankSimulation(job: RankSimulationJob, simulation: RankSimulation): void {
  remembered.delete(job.key);
  remembered.set(job.key, { simulation, layers: job.placement.chunks.flatMap(layerIndices) });
  if (remembered.size > REMEMBERED) remembered.delete(remembered.keys().next().value!);
}

/** One rank's simulation, remembered by everything that shapes it. */
export function simulateRank(job: RankSimulationJob): RankSimulation {
  const layers = job.placement.chunks.flatMap(layerIndices);
  const known = remembered.get(job.key);
  if (known) {
    remembered.delete(job.key); // most recently used last
    remembered.set(job.key, known);
    return onLayers(known.simulation, known.layers, layers);
  }
  const simulation = runRankSimulationJob(job);
  rememberRankSimulation(job, simulation);
  return onLayers(simulation, layers, layers);
}
