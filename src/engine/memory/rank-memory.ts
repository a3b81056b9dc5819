// A rank's memory as the plan reports it: the timeline's allocated peak and what is live then,
// the caching allocator's reserved peak, and what lives outside the allocator (device used).
import { MEMORY_COMPONENTS, MemoryBreakdown, PeakMoment, Phase, RankMemory } from '../vocabulary';
import { Moment } from './autograd/events';
import { RankSimulation } from './rank';

const GIB = 1024 ** 3;

export interface RankFigures {
  label: string;
  stage: number;
  layers: number;
  /** CUDA context, NCCL buffers and paged optimizer states: device memory outside the allocator. */
  outsideAllocator: number;
  capacityBytes: number;
  safetyMarginBytes: number;
  /** The rank's weights, gradients, optimizer states and master copy (ZeRO's model states). */
  modelStateBytes: number;
}

function gib(bytes: number): number {
  return Math.round((bytes / GIB) * 1000) / 1000;
}

function dominant(breakdown: MemoryBreakdown): keyof MemoryBreakdown {
  let best: keyof MemoryBreakdown = 'weights';
  for (const key of MEMORY_COMPONENTS)
    if ((breakdown[key] ?? 0) > (breakdown[best] ?? 0)) best = key;
  return best;
}

/** A timeline moment as the plan names it (the model's build counts as forward). */
function peakMomentOf(moment: Moment): PeakMoment {
  const phase: Phase = moment.phase === 'build' ? 'forward' : moment.phase;
  return { phase, layer: moment.layer, microBatch: moment.microBatch, what: moment.what };
}

/** Builds the reported rank from its simulation. */
export function rankMemory(sim: RankSimulation, figures: RankFigures): RankMemory {
  const { peak } = sim;
  const breakdown: MemoryBreakdown = {
    ...peak.breakdown,
    runtimeOverhead: figures.outsideAllocator,
  };
  for (const key of Object.keys(breakdown) as (keyof MemoryBreakdown)[]) {
    breakdown[key] = Math.round(breakdown[key] ?? 0);
  }
  const allocatedPeakBytes = Math.round(peak.allocatedPeakBytes);
  const reservedPeakBytes = Math.max(Math.round(sim.reservedPeakBytes), allocatedPeakBytes);
  const deviceUsedBytes = reservedPeakBytes + figures.outsideAllocator;
  const usable = figures.capacityBytes - figures.safetyMarginBytes;
  const peakMoment = peakMomentOf(peak.moment);
  const dying = sim.outOfMemoryAt;
  const breakdownGiB: Record<string, number> = {};
  for (const [key, value] of Object.entries(breakdown)) breakdownGiB[key] = gib(value as number);
  return {
    label: figures.label,
    stage: figures.stage,
    layers: figures.layers,
    allocatedPeakBytes,
    reservedPeakBytes,
    deviceUsedBytes,
    capacityBytes: figures.capacityBytes,
    headroomBytes: usable - deviceUsedBytes,
    fits: deviceUsedBytes <= usable,
    peakPhase: peakMoment.phase,
    peakMoment,
    dominantComponent: dominant(breakdown),
    breakdown,
    phaseTotals: {
      forward: Math.round(peak.phaseTotals.forward),
      backward: Math.round(peak.phaseTotals.backward),
      optimizer: Math.round(peak.phaseTotals.optimizer),
    },
    modelStateBytes: Math.round(figures.modelStateBytes),
    breakdownGiB,
    allocatorRetries: sim.allocatorRetries,
    ...(dying ? { outOfMemoryAt: peakMomentOf(dying) } : {}),
  };
}
