// A PlanResult: per-rank memory, layout, speed and cost, as the API contract names them.
import { Phase } from './enums';
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
}
