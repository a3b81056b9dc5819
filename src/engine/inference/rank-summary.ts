// A serving rank's memory from its phase breakdowns: the peak is the largest phase total (not
// the sum of each component's maximum), reserved the allocated peak plus the allocator's share.
// Training plans read theirs off a simulated timeline instead (memory/rank-memory.ts).
import { reservedBytes } from '../memory/runtime';
import { MemoryBreakdown, Phase, RankMemory } from '../vocabulary';

const GIB = 1024 ** 3;

/** Allocated bytes of a breakdown: every component but what lives outside the allocator. */
export function allocatedTotal(b: MemoryBreakdown): number {
  return (
    b.weights +
    b.gradients +
    b.optimizerStates +
    b.masterWeights +
    b.activations +
    b.logitsAndLoss +
    b.buffers +
    (b.kvCache ?? 0)
  );
}

function gib(bytes: number): number {
  return Math.round((bytes / GIB) * 1000) / 1000;
}

function roundBreakdown(b: MemoryBreakdown): MemoryBreakdown {
  const out = { ...b };
  for (const key of Object.keys(out) as (keyof MemoryBreakdown)[]) {
    out[key] = Math.round(out[key] as number);
  }
  return out;
}

/** Summarises one rank: its peak phase, allocated / reserved / device used, and fit. */
export function summariseRank(
  label: string,
  stage: number,
  layers: number,
  phases: Record<Phase, MemoryBreakdown>,
  fragmentation: number,
  capacityBytes: number,
  safetyMarginBytes: number,
  modelStateBytes: number,
): RankMemory {
  let peakPhase: Phase = 'forward';
  const phaseTotals = {} as Record<Phase, number>;
  for (const phase of Object.keys(phases) as Phase[]) {
    const rounded = roundBreakdown(phases[phase]);
    phases[phase] = rounded;
    phaseTotals[phase] = allocatedTotal(rounded);
    if (phaseTotals[phase] > phaseTotals[peakPhase]) peakPhase = phase;
  }
  const breakdown = phases[peakPhase];
  const allocatedPeakBytes = phaseTotals[peakPhase];
  const reservedPeakBytes = reservedBytes(allocatedPeakBytes, fragmentation);
  const deviceUsedBytes = reservedPeakBytes + breakdown.runtimeOverhead;
  const usable = capacityBytes - safetyMarginBytes;
  let dominantComponent: keyof MemoryBreakdown = 'weights';
  for (const key of Object.keys(breakdown) as (keyof MemoryBreakdown)[]) {
    if ((breakdown[key] ?? 0) > (breakdown[dominantComponent] ?? 0)) dominantComponent = key;
  }
  const breakdownGiB: Record<string, number> = {};
  for (const [key, value] of Object.entries(breakdown)) breakdownGiB[key] = gib(value as number);
  return {
    label,
    stage,
    layers,
    allocatedPeakBytes,
    reservedPeakBytes,
    deviceUsedBytes,
    capacityBytes,
    headroomBytes: usable - deviceUsedBytes,
    fits: deviceUsedBytes <= usable,
    peakPhase,
    dominantComponent,
    breakdown,
    phaseTotals,
    modelStateBytes: Math.round(modelStateBytes),
    breakdownGiB,
  };
}
