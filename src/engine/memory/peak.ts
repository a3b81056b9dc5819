// The peak is the largest phase total, not the sum of every component's maximum (section 5).
import { StageActivations } from './activations';
import { PhaseBuffers } from './buffers';
import { LogitsMemory } from './logits';
import { ModelStates } from './model-states';
import { reservedBytes } from './runtime';
import { MemoryBreakdown, Phase, RankMemory } from '../vocabulary';

export interface RankComponents {
  label: string;
  stage: number;
  layers: number;
  states: ModelStates;
  activations: StageActivations;
  logits: LogitsMemory | null;
  buffers: PhaseBuffers;
  /** Gradient bytes alive before backward (accumulation, or a framework's preallocated buffer). */
  persistentGradients: number;
  /** Autograd's transient gradient tensors of the layer being differentiated. */
  backwardWorkspace: number;
  /** Recomputed layer under full checkpointing (rebuilt during backward). */
  recomputedLayer: number;
  /** The head's weight gradient made in the head's backward when it trains and none persists. */
  headGradient: number;
  /** Whether that gradient stays for the rest of backward (accumulated, or tied to the embedding). */
  headGradientStays: boolean;
  /** Extra buffers while a tied embedding's gradient is summed with the head's, at backward's end. */
  tiedGradientSum: number;
  /** The previous micro-batch's tensors the loop still references through this forward. */
  previousStep: { activations: number; logits: number };
  runtimeOverhead: number;
  fragmentation: number;
  capacityBytes: number;
  safetyMarginBytes: number;
}

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

/** Each phase's components at its own high point, and the bytes the allocator holds (live
 * and cached) while the loss runs on a rank with the head (0 elsewhere). */
export function phaseBreakdowns(c: RankComponents): {
  phases: Record<Phase, MemoryBreakdown>;
  headReserved: number;
} {
  const { states, activations, logits, buffers, persistentGradients } = c;
  const base = {
    weights: states.weights,
    optimizerStates: states.optimizerStates,
    masterWeights: states.masterWeights,
    runtimeOverhead: c.runtimeOverhead,
  };
  const parallelBuffers = activations.contextParallelBuffers + activations.expertParallelBuffers;

  // End of forward: every saved activation plus the loss being computed, beside whatever the
  // loop still holds of the previous micro-batch until the new loss replaces it.
  const forward: MemoryBreakdown = {
    ...base,
    gradients: persistentGradients,
    activations: activations.saved + c.previousStep.activations,
    logitsAndLoss: (logits ? logits.saved + logits.forwardTransient : 0) + c.previousStep.logits,
    buffers: buffers.forward + parallelBuffers,
  };
  // Backward through the loss: the logits' gradients beside everything the loss saved.
  const lossBackward: MemoryBreakdown = {
    ...base,
    gradients: persistentGradients,
    activations: activations.saved,
    logitsAndLoss: logits ? logits.saved + logits.backwardTransient : 0,
    buffers: buffers.backward + buffers.lossBackward + parallelBuffers,
  };
  // Backward through the head: its weight gradient beside what the loss still holds then.
  const headBackward: MemoryBreakdown = {
    ...lossBackward,
    gradients: persistentGradients + c.headGradient,
    logitsAndLoss: logits ? logits.headBackward : 0,
    buffers: lossBackward.buffers + buffers.headReduce,
  };
  // Backward through the last layer: the logits are gone unless the loop holds them; the
  // checkpointed layer is rebuilt and autograd's gradient tensors of its widest op are live.
  const layerBackward: MemoryBreakdown = {
    ...base,
    gradients: persistentGradients + (c.headGradientStays ? c.headGradient : 0),
    activations: activations.saved + c.backwardWorkspace + c.recomputedLayer,
    logitsAndLoss: logits ? logits.retained : 0,
    buffers: buffers.backward + buffers.layerBackward + parallelBuffers,
  };
  // A later layer's backward: the layers behind it have freed their saved tensors and left
  // their sharded gradients; FSDP still holds the previous layer's reduce-scatter input. Its
  // worst case is the second layer in backward without recompute, the last one with it.
  const laterLayers: MemoryBreakdown = {
    ...layerBackward,
    activations:
      Math.max(0, activations.saved - activations.lastLayerSaved) +
      c.backwardWorkspace +
      c.recomputedLayer,
    buffers: buffers.backward + buffers.laterLayerBackward + parallelBuffers,
  };
  const lastLayer: MemoryBreakdown = {
    ...laterLayers,
    gradients:
      Math.max(states.gradients, persistentGradients) + (c.headGradientStays ? c.headGradient : 0),
    activations:
      Math.min(activations.saved, activations.lastLayerSaved) +
      c.backwardWorkspace +
      c.recomputedLayer,
  };
  // End of backward: all gradients produced; only other in-flight micro-batches' activations.
  const backwardEnd: MemoryBreakdown = {
    ...base,
    gradients: Math.max(states.gradients, persistentGradients) + c.tiedGradientSum,
    activations: Math.max(0, activations.saved - activations.perMicroBatch) + c.backwardWorkspace,
    logitsAndLoss: 0,
    buffers: buffers.backward - buffers.savedForBackward + buffers.backwardEnd,
  };
  const backward = [
    lossBackward,
    headBackward,
    layerBackward,
    ...(buffers.laterLayerBackward > 0 ? [laterLayers, lastLayer] : []),
    backwardEnd,
  ].reduce((a, b) => (allocatedTotal(b) > allocatedTotal(a) ? b : a));
  // The caching allocator keeps the layers' freed working set (blocks far smaller than the
  // logits) cached while the loss allocates its own, so reserved holds both at the head; the
  // loss's freed buffers likewise stay cached under the head's new weight gradient.
  const headReserved = logits
    ? Math.max(allocatedTotal(forward), allocatedTotal(lossBackward) + c.headGradient) +
      c.backwardWorkspace +
      c.recomputedLayer
    : 0;
  // Optimizer step: weights, gradients, states and the step's temporaries.
  const optimizer: MemoryBreakdown = {
    ...base,
    gradients: states.gradients,
    activations: 0,
    logitsAndLoss: 0,
    buffers: buffers.optimizer,
  };
  return { phases: { forward, backward, optimizer }, headReserved };
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
  headReserved = 0,
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
  const reservedPeakBytes = reservedBytes(
    Math.max(allocatedPeakBytes, headReserved),
    fragmentation,
  );
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

/** The rank's memory from its components. */
export function rankPeak(c: RankComponents, optimizerInBackward: boolean): RankMemory {
  const { phases, headReserved } = phaseBreakdowns(c);
  if (optimizerInBackward) {
    // The step runs inside backward: no separate phase with every gradient alive.
    phases.optimizer = { ...phases.backward };
  }
  const s = c.states;
  const modelStateBytes =
    s.weights + s.gradients + s.optimizerStates + s.pagedOptimizerStates + s.masterWeights;
  return summariseRank(
    c.label,
    c.stage,
    c.layers,
    phases,
    c.fragmentation,
    c.capacityBytes,
    c.safetyMarginBytes,
    modelStateBytes,
    headReserved,
  );
}
