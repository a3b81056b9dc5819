// The calibration rows as the error bands read them: each scored row planned, its signed error
// (predicted / measured - 1) on device memory where the row measured it, its source and kind.
import { readFileSync } from 'fs';
import { join } from 'path';
import { estimatePlan } from '../src/application/estimate';
import { Catalog } from '../src/catalog/catalog';
import { CalibrationError, CalibrationOrigin, PlanRequestInput } from '../src/engine';
import { predictedStatistic } from './accuracy-report';
import { CalibrationRow, loadCalibrationRows, repositoryRoot } from './calibration-rows';
import { loadMeasuredH100Rows } from './measured-h100';

export const ERROR_BANDS_FILE = join('data', 'calibration', 'error-bands.json');
/** The one command that writes ERROR_BANDS_FILE again after the engine changes. */
export const ERROR_BANDS_COMMAND = 'npm run calibration:bands';

/** A calibration error with the row it came from, for reports. */
export type RowError = CalibrationError & { id: string | number; statistic: string };

/** Published rows are grouped by their source; our harness by its measurement group, each a
 * campaign about one term of the memory model (tools/measure/matrix.py), so that leaving a group
 * out leaves out every run of its term. */
function sourceOf(row: CalibrationRow, origin: CalibrationOrigin): string {
  return origin === 'harness' ? `harness group ${row.group ?? '?'}` : row.source;
}

function errorsOf(rows: CalibrationRow[], origin: CalibrationOrigin, catalog: Catalog): RowError[] {
  return rows.flatMap((row) => {
    if (row.use !== 'score') return [];
    const result = estimatePlan(row.request as PlanRequestInput, catalog);
    const predicted = predictedStatistic(result, row.statistic);
    return [
      {
        id: row.id,
        source: sourceOf(row, origin),
        origin,
        category: row.category,
        statistic: row.statistic,
        error: predicted / row.measuredBytes - 1,
      },
    ];
  });
}

/**
 * Every scored calibration row's error. A plan is judged on device used, so our harness rows are
 * read on the statistic that is device used (nvidia-smi after the last step); a published row on
 * the statistic its source reports (allocated, active, reserved or device), which is the only
 * figure it has: the spread of the planner's error is taken to carry over to device used.
 */
export function calibrationErrors(catalog: Catalog): RowError[] {
  return [
    ...errorsOf(loadMeasuredH100Rows('device'), 'harness', catalog),
    ...errorsOf(loadCalibrationRows(), 'published', catalog),
  ];
}

export function errorBandsPath(): string {
  return join(repositoryRoot(), ERROR_BANDS_FILE);
}

/** The committed bands file as JSON. */
export function readErrorBandsFile(): Record<string, unknown> {
  return JSON.parse(readFileSync(errorBandsPath(), 'utf8')) as Record<string, unknown>;
}
