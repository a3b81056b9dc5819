// Typed access to data/calibration/published.json: the published runs the planner is scored on.
import { existsSync, readFileSync } from 'fs';
import { dirname, join } from 'path';
import type { PlanRequestInput } from '../src/engine';

export type CalibrationCategory = 'full' | 'lora' | 'qlora' | 'multi-gpu';
/** score: compare a statistic; fit-only: check fits/does not fit; excluded: kept, never used. */
export type CalibrationUse = 'score' | 'fit-only' | 'excluded';
/** Which figure the source reports: torch allocated/reserved/active peaks, or nvidia-smi usage. */
export type CalibrationStatistic = 'allocated' | 'reserved' | 'active' | 'device';
/** How far the mapping can be trusted; `tolerance` is the matching relative band. */
export type CalibrationTier = 'clean' | 'documented' | 'loose';

interface CalibrationRowFields {
  /** The `id` of the row in measured.csv; `h100-<run_id>` for our own runs (measured-h100.csv). */
  id: number | string;
  source: string;
  /** Our own runs: the measurement group of tools/measure/matrix.py (A-E, V, W; X sharded). */
  group?: string;
  category: CalibrationCategory;
  use: CalibrationUse;
  /** Why the row is not scored (fit-only and excluded rows). */
  excludedReason?: string;
  /** fit-only rows: whether the run fitted on its cards (false for out-of-memory reports). */
  expectFits?: boolean;
  statistic?: CalibrationStatistic;
  /** The reported figure in bytes, where the source gives one. */
  measuredBytes?: number;
  /** Bytes per reported unit (1e9, 2^30, 2^20) where measuredBytes = value x unitBytes. */
  unitBytes?: number;
  unitNote: string;
  /** The CSV's memory_value, memory_unit and memory_metric, verbatim. */
  reported: { value: string; unit: string; metric: string };
  tier?: CalibrationTier;
  tolerance?: number;
  /** Held out of tuning (see scripts/pick-held-out.ts); only scored rows are. */
  heldOut: boolean;
  request?: PlanRequestInput;
  /** Every assumption made to map the source onto the request. */
  assumptions: string[];
  /** Why the planner falls more than 10% below this row: a known problem with the source, or a
   * gap in the planner that is not yet explained. */
  underPrediction?: UnderPredictionNote;
}

export interface UnderPredictionNote {
  kind: 'source' | 'planner';
  note: string;
}

/** A measurement the planner's figure for `statistic` is compared with. */
export interface ScoredCalibrationRow extends CalibrationRowFields {
  use: 'score';
  statistic: CalibrationStatistic;
  measuredBytes: number;
  tier: CalibrationTier;
  tolerance: number;
  request: PlanRequestInput;
}

/** A run whose only trustworthy fact is that it fitted (or ran out of memory). */
export interface FitOnlyCalibrationRow extends CalibrationRowFields {
  use: 'fit-only';
  excludedReason: string;
  expectFits: boolean;
  request: PlanRequestInput;
}

/** Kept so nothing is silently dropped, never used: estimates, claims, unmappable runs. */
export interface ExcludedCalibrationRow extends CalibrationRowFields {
  use: 'excluded';
  excludedReason: string;
}

export type CalibrationRow = ScoredCalibrationRow | FitOnlyCalibrationRow | ExcludedCalibrationRow;

export const CALIBRATION_FILE = join('data', 'calibration', 'published.json');

/** The repository root: the nearest directory above `from` holding package.json. */
export function repositoryRoot(from: string = __dirname): string {
  let directory = from;
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`no package.json above ${from}`);
    directory = parent;
  }
  return directory;
}

export function calibrationPath(): string {
  return join(repositoryRoot(), CALIBRATION_FILE);
}

/** A row of published.json: its id is the measured.csv row's number. */
export type PublishedCalibrationRow = CalibrationRow & { id: number };

export function loadCalibrationRows(): PublishedCalibrationRow[] {
  return JSON.parse(readFileSync(calibrationPath(), 'utf8')) as PublishedCalibrationRow[];
}
