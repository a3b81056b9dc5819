// Saved plans as CSV for spreadsheets: one row per plan, the figures people compare.
import type { PlanResult } from '../engine';
import { SavedPlanRecord } from './saved-plan';

const GIB = 1024 ** 3;

/** The values of a saved plan the CSV shows, each read from this path of its PlanResult. */
export const CSV_FIGURE_PATHS = {
  gpus: ['layout', 'gpus'],
  dataParallel: ['layout', 'dataParallel'],
  tensorParallel: ['layout', 'tensorParallel'],
  pipelineParallel: ['layout', 'pipelineParallel'],
  contextParallel: ['layout', 'contextParallel'],
  expertParallel: ['layout', 'expertParallel'],
  // The layout in full: how the job runs as well as where.
  workload: ['request', 'workload'],
  method: ['request', 'training', 'method'],
  precision: ['request', 'training', 'precision'],
  optimizer: ['request', 'training', 'optimizer'],
  zeroStage: ['request', 'parallelism', 'zeroStage'],
  activationCheckpointing: ['request', 'training', 'activationCheckpointing'],
  microBatchSize: ['request', 'training', 'microBatchSize'],
  gradientAccumulationSteps: ['request', 'training', 'gradientAccumulationSteps'],
  sequenceLength: ['request', 'training', 'sequenceLength'],
  sequenceParallel: ['request', 'parallelism', 'sequenceParallel'],
  offloadOptimizer: ['request', 'parallelism', 'offload', 'optimizer'],
  offloadParameters: ['request', 'parallelism', 'offload', 'parameters'],
  crossEntropy: ['request', 'runtime', 'crossEntropy'],
  preset: ['request', 'runtime', 'preset'],
  tokensToTrain: ['request', 'training', 'tokensToTrain'],
  verdict: ['memory', 'perGpu', 'verdict'],
  deviceUsedBytes: ['memory', 'perGpu', 'deviceUsedBytes'],
  capacityBytes: ['memory', 'perGpu', 'capacityBytes'],
  allocatedPeakBytes: ['memory', 'perGpu', 'allocatedPeakBytes'],
  deviceUsedLowBytes: ['memory', 'perGpu', 'deviceUsedRangeBytes', '0'],
  deviceUsedHighBytes: ['memory', 'perGpu', 'deviceUsedRangeBytes', '1'],
  stepTimeSeconds: ['performance', 'stepTimeSeconds'],
  tokensPerSecond: ['performance', 'tokensPerSecond'],
  usdPerMillionTokens: ['cost', 'usdPerMillionTokens'],
} as const;

export type CsvFigure = keyof typeof CSV_FIGURE_PATHS;

/** One value of a row; null where the plan has none (a plan saved before the 80% range). */
export type CsvValue = string | number | boolean | null;

export type CsvFigures = Record<CsvFigure, CsvValue>;

/** One plan as the export reads it: its labels, columns and the figures above. */
export type PlanCsvRow = {
  id: string;
  name: string;
  createdAt: string;
  tags: string[];
  modelId: string;
  gpuId: string;
  fits: boolean;
  gpuHours: number | null;
  totalUsd: number | null;
} & CsvFigures;

/** The values of a result the export shows, stored beside it when the plan is saved. */
export function csvFigures(result: PlanResult): CsvFigures {
  return Object.fromEntries(
    Object.entries(CSV_FIGURE_PATHS).map(([figure, path]) => [
      figure,
      path.reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], result) ?? null,
    ]),
  ) as CsvFigures;
}

/** The CSV row of a whole saved record (what the export reads from the stored columns). */
export function csvRowOf(plan: SavedPlanRecord): PlanCsvRow {
  const cost: PlanResult['cost'] = plan.result.cost;
  return {
    id: plan.id,
    name: plan.name,
    createdAt: plan.createdAt,
    tags: plan.tags,
    modelId: plan.modelId,
    gpuId: plan.gpuId,
    fits: plan.result.memory.perGpu.fits,
    gpuHours: cost.gpuHours ?? null,
    totalUsd: cost.totalUsd ?? null,
    ...csvFigures(plan.result),
  };
}

/** "dp8 tp1 pp1 cp1", with the expert degree when there is one. */
function layoutText(row: PlanCsvRow): string {
  const degrees = [
    `dp${row.dataParallel}`,
    `tp${row.tensorParallel}`,
    `pp${row.pipelineParallel}`,
    `cp${row.contextParallel}`,
  ];
  if (Number(row.expertParallel) > 1) degrees.push(`ep${row.expertParallel}`);
  return degrees.join(' ');
}

/** A training setting, left empty for serving plans, which have none. */
function training(figure: CsvFigure): (row: PlanCsvRow) => CsvValue {
  return (row) => (row.workload === 'inference' ? null : row[figure]);
}

/** Bytes in GiB to two decimals; empty where the plan has no such figure. */
function gib(figure: CsvFigure): (row: PlanCsvRow) => CsvValue {
  return (row) => {
    const bytes = row[figure];
    return typeof bytes === 'number' ? (bytes / GIB).toFixed(2) : null;
  };
}

const COLUMNS: [string, (row: PlanCsvRow) => CsvValue][] = [
  ['id', (row) => row.id],
  ['name', (row) => row.name],
  ['createdAt', (row) => row.createdAt],
  ['tags', (row) => row.tags.join(';')],
  ['model', (row) => row.modelId],
  ['gpu', (row) => row.gpuId],
  ['gpus', (row) => row.gpus],
  ['layout', layoutText],
  ['workload', (row) => row.workload],
  ['method', training('method')],
  ['precision', training('precision')],
  ['optimizer', training('optimizer')],
  ['zeroStage', training('zeroStage')],
  ['activationCheckpointing', training('activationCheckpointing')],
  ['microBatchSize', training('microBatchSize')],
  ['gradientAccumulationSteps', training('gradientAccumulationSteps')],
  ['sequenceLength', training('sequenceLength')],
  ['sequenceParallel', training('sequenceParallel')],
  ['offloadOptimizer', training('offloadOptimizer')],
  ['offloadParameters', training('offloadParameters')],
  ['crossEntropy', training('crossEntropy')],
  ['preset', (row) => row.preset],
  ['tokensToTrain', training('tokensToTrain')],
  ['fits', (row) => row.fits],
  ['verdict', (row) => row.verdict],
  ['deviceUsedBytes', (row) => row.deviceUsedBytes],
  ['capacityBytes', (row) => row.capacityBytes],
  ['allocatedPeakGiB', gib('allocatedPeakBytes')],
  ['deviceUsedGiB', gib('deviceUsedBytes')],
  ['deviceUsedLowGiB', gib('deviceUsedLowBytes')],
  ['deviceUsedHighGiB', gib('deviceUsedHighBytes')],
  ['stepTimeSeconds', (row) => row.stepTimeSeconds],
  ['tokensPerSecond', (row) => row.tokensPerSecond],
  ['usdPerMillionTokens', (row) => row.usdPerMillionTokens],
  ['gpuHours', (row) => row.gpuHours],
  ['totalUsd', (row) => row.totalUsd],
];

/** RFC 4180 quoting; a leading = + - @ is defused so spreadsheets do not run it as a formula. */
function cell(value: CsvValue): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The header record, CRLF-terminated. */
export const CSV_HEADER = COLUMNS.map(([name]) => name).join(',') + '\r\n';

/** One plan's record, CRLF-terminated. */
export function csvRecord(row: PlanCsvRow): string {
  return COLUMNS.map(([, value]) => cell(value(row))).join(',') + '\r\n';
}
