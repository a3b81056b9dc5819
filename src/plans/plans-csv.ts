// Saved plans as CSV for spreadsheets: one row per plan, the figures people compare.
import { PlanResult } from '../engine';
import { SavedPlanRecord } from './saved-plan';

const GIB = 1024 ** 3;

/** "dp8 tp1 pp1 cp1", with the expert degree when there is one. */
function layoutText(layout: PlanResult['layout']): string {
  const degrees = [
    `dp${layout.dataParallel}`,
    `tp${layout.tensorParallel}`,
    `pp${layout.pipelineParallel}`,
    `cp${layout.contextParallel}`,
  ];
  if (layout.expertParallel > 1) degrees.push(`ep${layout.expertParallel}`);
  return degrees.join(' ');
}

const COLUMNS: [string, (plan: SavedPlanRecord) => string | number | boolean | undefined][] = [
  ['id', (plan) => plan.id],
  ['name', (plan) => plan.name],
  ['createdAt', (plan) => plan.createdAt],
  ['tags', (plan) => plan.tags.join(';')],
  ['model', (plan) => plan.modelId],
  ['gpu', (plan) => plan.gpuId],
  ['gpus', (plan) => plan.result.layout.gpus],
  ['layout', (plan) => layoutText(plan.result.layout)],
  ['fits', (plan) => plan.result.memory.perGpu.fits],
  ['deviceUsedBytes', (plan) => plan.result.memory.perGpu.deviceUsedBytes],
  ['capacityBytes', (plan) => plan.result.memory.perGpu.capacityBytes],
  ['allocatedPeakGiB', (plan) => (plan.result.memory.perGpu.allocatedPeakBytes / GIB).toFixed(2)],
  ['deviceUsedGiB', (plan) => (plan.result.memory.perGpu.deviceUsedBytes / GIB).toFixed(2)],
  ['stepTimeSeconds', (plan) => plan.result.performance.stepTimeSeconds],
  ['tokensPerSecond', (plan) => plan.result.performance.tokensPerSecond],
  ['usdPerMillionTokens', (plan) => plan.result.cost.usdPerMillionTokens],
  ['gpuHours', (plan) => plan.result.cost.gpuHours],
  ['totalUsd', (plan) => plan.result.cost.totalUsd],
];

/** RFC 4180 quoting; a leading = + - @ is defused so spreadsheets do not run it as a formula. */
function cell(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function plansToCsv(plans: SavedPlanRecord[]): string {
  const header = COLUMNS.map(([name]) => name).join(',');
  const rows = plans.map((plan) => COLUMNS.map(([, value]) => cell(value(plan))).join(','));
  return [header, ...rows].join('\r\n') + '\r\n';
}
