// Saved plans as CSV for spreadsheets: one row per plan, the figures people compare.
import type { PlanResult } from '../engine';
import { SavedPlanRecord } from './saved-plan';

const GIB = 1024 ** 3;

/** The figures of a saved plan the CSV shows, each read from this path of its PlanResult. */
export const CSV_FIGURE_PATHS = {
  gpus: ['layout', 'gpus'],
  dataParallel: ['layout', 'dataParallel'],
  tensorParallel: ['layout', 'tensorParallel'],
  pipelineParallel: ['layout', 'pipelineParallel'],
  contextParallel: ['layout', 'contextParallel'],
  expertParallel: ['layout', 'expertParallel'],
  deviceUsedBytes: ['memory', 'perGpu', 'deviceUsedBytes'],
  capacityBytes: ['memory', 'perGpu', 'capacityBytes'],
  allocatedPeakBytes: ['memory', 'perGpu', 'allocatedPeakBytes'],
  stepTimeSeconds: ['performance', 'stepTimeSeconds'],
  tokensPerSecond: ['performance', 'tokensPerSecond'],
  usdPerMillionTokens: ['cost', 'usdPerMillionTokens'],
} as const;

export type CsvFigure = keyof typeof CSV_FIGURE_PATHS;

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
} & Record<CsvFigure, number>;

/** The figures of a result the export shows, stored beside it when the plan is saved. */
export function csvFigures(result: PlanResult): Record<CsvFigure, number> {
  return Object.fromEntries(
    Object.entries(CSV_FIGURE_PATHS).map(([figure, path]) => [
      figure,
      path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], result),
    ]),
  ) as Record<CsvFigure, number>;
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
  if (row.expertParallel > 1) degrees.push(`ep${row.expertParallel}`);
  return degrees.join(' ');
}

const COLUMNS: [string, (row: PlanCsvRow) => string | number | boolean | null][] = [
  ['id', (row) => row.id],
  ['name', (row) => row.name],
  ['createdAt', (row) => row.createdAt],
  ['tags', (row) => row.tags.join(';')],
  ['model', (row) => row.modelId],
  ['gpu', (row) => row.gpuId],
  ['gpus', (row) => row.gpus],
  ['layout', layoutText],
  ['fits', (row) => row.fits],
  ['deviceUsedBytes', (row) => row.deviceUsedBytes],
  ['capacityBytes', (row) => row.capacityBytes],
  ['allocatedPeakGiB', (row) => (row.allocatedPeakBytes / GIB).toFixed(2)],
  ['deviceUsedGiB', (row) => (row.deviceUsedBytes / GIB).toFixed(2)],
  ['stepTimeSeconds', (row) => row.stepTimeSeconds],
  ['tokensPerSecond', (row) => row.tokensPerSecond],
  ['usdPerMillionTokens', (row) => row.usdPerMillionTokens],
  ['gpuHours', (row) => row.gpuHours],
  ['totalUsd', (row) => row.totalUsd],
];

/** RFC 4180 quoting; a leading = + - @ is defused so spreadsheets do not run it as a formula. */
function cell(value: string | number | boolean | null): string {
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
