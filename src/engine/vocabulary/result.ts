// A PlanResult: per-rank memory, layout, speed and cost, as the API contract names them.
import { AdviceEffect, AdviceKind, CalibrationCategory, Phase, Verdict } from './enums';
import { PlanRequest } from './request';

/** Bytes of each component at the moment of the rank's peak. */
export interface MemoryBreakdown {
  weights: number;
  gradients: number;
  optimizerStates: number;
  masterWeights: number;
  activations: number;
  logitsAndLoss: number;
  buffers: number;
  runtimeOverhead: number;
  /** Inference only. */
  kvCache?: number;
}

export interface PeakMoment {
  phase: Phase;
  layer: number;
  microBatch: number;
  what: string;
}

export interface RankMemory {
  /** e.g. "pipeline stage 0 of 2 (layers 0-39, embedding)". */
  label: string;
  stage: number;
  layers: number;
  allocatedPeakBytes: number;
  reservedPeakBytes: number;
  deviceUsedBytes: number;
  capacityBytes: number;
  headroomBytes: number;
  fits: boolean;
  /** Phase whose total is the peak. */
  peakPhase: Phase;
  /** When the allocated peak happens: the phase, the layer (-1 outside the layers), the
   * micro-batch and what runs (layer, loss, embedding, optimizer step). Training only. */
  peakMoment?: PeakMoment;
  /** The largest component of the breakdown. */
  dominantComponent: keyof MemoryBreakdown;
  breakdown: MemoryBreakdown;
  /** Every phase's allocated total, so users see why the peak is where it is. */
  phaseTotals: Record<Phase, number>;
  /** Weights + full local gradients + optimizer states + master copy, whatever the phase:
   * the ZeRO paper's model-state figure for this rank. */
  modelStateBytes: number;
  breakdownGiB: Record<string, number>;
  /** Times the simulated caching allocator had to empty its cache to find room on the card
   * (torch.cuda.memory_stats()['num_alloc_retries']): each is a stall. Training only. */
  allocatorRetries?: number;
  /** Where the simulated run raises "CUDA out of memory" though the allocator emptied its cache;
   * absent when it runs through. Training only. */
  outOfMemoryAt?: PeakMoment;
  /** The 80% interval [low, high] of the device memory a run of this rank uses, bytes, from the
   * calibration errors of the plan's kind (src/engine/uncertainty). */
  deviceUsedRangeBytes?: [number, number];
  /** `fits` under the top of the range, `tight` only at the estimate, or `does not fit`. */
  verdict?: Verdict;
}

/** The calibration errors a plan's range was read from. */
export interface AppliedErrorBand {
  /** The calibration category of the plan; `pooled` where no category applies (serving). */
  category: CalibrationCategory | 'pooled';
  /** Share of runs the range is meant to hold: 0.8. */
  coverage: number;
  /** Signed errors (predicted / measured - 1) at the band's ends: measured = predicted / (1 + error). */
  lowError: number;
  highError: number;
  /** Calibration rows of the plan's category behind the band (the rest of the pool weighs in too). */
  rows: number;
}

/** What a changed plan comes to, for advice. */
export interface AdviceFigures {
  gpus: number;
  deviceUsedBytes: number;
  deviceUsedRangeBytes?: [number, number];
  capacityBytes: number;
  verdict?: Verdict;
  stepTimeSeconds: number;
  tokensPerSecond: number;
  clusterPerHour: number;
  usdPerMillionTokens: number;
  /** With training.tokensToTrain: the run's cost. */
  totalUsd?: number;
}

/** One change that makes a plan fit, planned. */
export interface Advice {
  rank: number;
  kind: AdviceKind;
  effect: AdviceEffect;
  /** True when what is trained changes (a shorter sequence), not only how. */
  changesJob: boolean;
  sentence: string;
  /** The fields changed, by dotted path, with their new values. */
  changes: Record<string, unknown>;
  /** The normalized request: sent to POST /plans/estimate it plans these figures again. */
  request: PlanRequest;
  figures: AdviceFigures;
}

export interface PlanLayout {
  gpus: number;
  nodes: number;
  gpusPerNode: number;
  dataParallel: number;
  tensorParallel: number;
  pipelineParallel: number;
  contextParallel: number;
  expertParallel: number;
}

export interface PlanPerformance {
  tokensPerStep: number;
  flopsPerToken: number;
  stepTimeSeconds: number;
  tokensPerSecond: number;
  tokensPerSecondPerGpu: number;
  mfu: number;
  /** Seconds of communication not hidden behind compute, per step. */
  exposedCommunicationSeconds: number;
  /** Seconds per step the offloaded optimizer runs on the host CPUs (0 without offload). */
  hostOptimizerSeconds: number;
  /** Fraction of the step the pipeline idles. */
  pipelineBubbleFraction: number;
  /** Inference only. */
  timeToFirstTokenSeconds?: number;
  timePerOutputTokenSeconds?: number;
}

export interface PlanCost {
  pricePerGpuHour: number;
  clusterPerHour: number;
  usdPerMillionTokens: number;
  priceSource?: string;
  gpuHours?: number;
  wallClockDays?: number;
  totalUsd?: number;
}

export interface PlanResult {
  engineVersion: string;
  request: PlanRequest;
  model: {
    id: string;
    name: string;
    parameters: { total: number; trainable: number; active: number };
  };
  layout: PlanLayout;
  memory: {
    perGpu: RankMemory;
    ranks: RankMemory[];
    hostPerNodeBytes: number;
    /** How the ranks' deviceUsedRangeBytes were read. */
    errorBand?: AppliedErrorBand;
  };
  performance: PlanPerformance;
  cost: PlanCost;
  /** Inference only: largest batch and longest context that fit. */
  inference?: {
    maxBatchSize: number;
    maxContextLength: number;
    kvCacheBytesPerToken: number;
    tokensPerSecondPerGpu: number;
    usdPerMillionOutputTokens: number;
  };
  warnings: string[];
  assumptions: string[];
  /** For a plan that does not fit or is tight: changes that make it fit, best first. */
  advice?: Advice[];
}
