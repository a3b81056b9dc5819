// The answer of POST /plans/gpus-needed, as types only: the web page and the CLI read it.
import type { PlanRequest, SearchCandidate, SearchObjective } from '../engine';

/** A cluster size with the layout chosen on it. */
export interface GpuCountAnswer {
  gpus: number;
  nodes: number;
  gpusPerNode: number;
  label: string;
  /** The normalized request: POST /plans/estimate plans it again. */
  request: PlanRequest;
  figures: SearchCandidate['figures'] & {
    deviceUsedRangeBytes?: [number, number];
    verdict?: string;
  };
}

export interface GpusNeededAnswer {
  gpu: string;
  /** The largest cluster tried. */
  maxGpus: number;
  /** Null when no layout fits on up to maxGpus GPUs. */
  fewest: GpuCountAnswer | null;
  cheapest: GpuCountAnswer | null;
  /** Each cluster size searched, for the fewest GPUs or the lowest cost: whether a layout fits
   * (at the top of its range), or only at the estimate (tight), and how many were planned. */
  tried: {
    gpus: number;
    objective: SearchObjective;
    fits: boolean;
    tight: boolean;
    planned: number;
  }[];
  warnings: string[];
}
