// Scores the planner against measured runs: each row's matching statistic, signed error, summary.
import { Catalog } from '../src/catalog/catalog';
import { estimatePlan } from '../src/application/estimate';
import { PlanRequestInput } from '../src/engine';
import { PlanResult } from '../src/engine';
import { CalibrationRow, UnderPredictionNote } from './calibration-rows';

export interface RowScore {
  id: string | number;
  source: string;
  category: string;
  statistic: string;
  heldOut: boolean;
  measuredBytes: number;
  predictedBytes: number;
  /** (predicted - measured) / measured. */
  signedError: number;
  fits: boolean;
  /** The planner's reserved peak, to read rows whose source does not state its statistic. */
  reservedBytes: number;
  underPrediction?: UnderPredictionNote;
}

export interface ErrorSummary {
  rows: number;
  medianAbsError: number;
  p90AbsError: number;
  /** Rows predicted more than 10% below the measurement. */
  underPredicted: number;
}

export interface AccuracyReport {
  scored: RowScore[];
  failed: { id: string | number; error: string }[];
  fitChecks: { id: string | number; expectFits: boolean; fits: boolean; deviceUsedBytes: number }[];
  overall: ErrorSummary;
  tuning: ErrorSummary;
  heldOut: ErrorSummary;
  byCategory: Record<string, ErrorSummary>;
}

/** The planner's figure for the statistic a source reports. */
export function predictedStatistic(result: PlanResult, statistic: string): number {
  const rank = result.memory.perGpu;
  switch (statistic) {
    case 'reserved':
      return rank.reservedPeakBytes;
    case 'device':
      return rank.deviceUsedBytes;
    case 'allocated':
    case 'active': // peak active bytes equal allocated bytes at the peak: both count live blocks
    default:
      return rank.allocatedPeakBytes;
  }
}

/** The q-quantile of ascending values, interpolated between neighbours. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

export function summarise(scores: RowScore[]): ErrorSummary {
  const abs = scores.map((s) => Math.abs(s.signedError)).sort((a, b) => a - b);
  return {
    rows: scores.length,
    medianAbsError: quantile(abs, 0.5),
    p90AbsError: quantile(abs, 0.9),
    underPredicted: scores.filter((s) => s.signedError < -0.1).length,
  };
}

export function scoreCalibration(rows: CalibrationRow[], catalog: Catalog): AccuracyReport {
  const scored: RowScore[] = [];
  const failed: AccuracyReport['failed'] = [];
  const fitChecks: AccuracyReport['fitChecks'] = [];
  for (const row of rows) {
    if (row.use === 'excluded' || !row.request) continue;
    let result: PlanResult;
    try {
      result = estimatePlan(row.request as PlanRequestInput, catalog);
    } catch (error) {
      failed.push({ id: row.id, error: (error as Error).message });
      continue;
    }
    if (row.use === 'fit-only') {
      fitChecks.push({
        id: row.id,
        expectFits: row.expectFits,
        fits: result.memory.perGpu.fits,
        deviceUsedBytes: result.memory.perGpu.deviceUsedBytes,
      });
      continue;
    }
    const predictedBytes = predictedStatistic(result, row.statistic);
    scored.push({
      id: row.id,
      source: row.source,
      category: row.category,
      statistic: row.statistic,
      heldOut: row.heldOut,
      measuredBytes: row.measuredBytes,
      predictedBytes,
      signedError: (predictedBytes - row.measuredBytes) / row.measuredBytes,
      fits: result.memory.perGpu.fits,
      reservedBytes: result.memory.perGpu.reservedPeakBytes,
      underPrediction: row.underPrediction,
    });
  }
  const byCategory: Record<string, ErrorSummary> = {};
  for (const category of [...new Set(scored.map((s) => s.category))].sort()) {
    byCategory[category] = summarise(scored.filter((s) => s.category === category));
  }
  return {
    scored,
    failed,
    fitChecks,
    overall: summarise(scored),
    tuning: summarise(scored.filter((s) => !s.heldOut)),
    heldOut: summarise(scored.filter((s) => s.heldOut)),
    byCategory,
  };
}
