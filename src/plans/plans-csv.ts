// Saved plans as CSV for spreadsheets: one row per plan, the figures people compare.
import { PlanRequest, PlanResult } from '../engine';
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

type Cell = string | number | boolean | undefined;

/** A training setting, left empty for serving plans, which have none. */
function training(read: (request: PlanRequest) => Cell): (plan: SavedPlanRecord) => Cell {
  return (plan) =>
    plan.result.request.workload === 'inference' ? undefined : read(plan.result.request);
}

/** One end of the 80% range of device used, in GiB; empty for plans saved without one. */
function rangeGiB(plan: SavedPlanRecord, end: 0 | 1): string | undefined {
  const bytes = plan.result.memory.perGpu.deviceUsedRangeBytes?.[end];
  return bytes === undefined ? undefined : (bytes / GIB).toFixed(2);
}

const COLUMNS: [string, (plan: SavedPlanRecord) => Cell][] = [
  ['id', (plan) => plan.id],
  ['name', (plan) => plan.name],
  ['createdAt', (plan) => plan.createdAt],
  ['tags', (plan) => plan.tags.join(';')],
  ['model', (plan) => plan.modelId],
  ['gpu', (plan) => plan.gpuId],
  ['gpus', (plan) => plan.result.layout.gpus],
  ['layout', (plan) => layoutText(plan.result.layout)],
  // The layout in full: how the job runs as well as where.
  ['workload', (plan) => plan.result.request.workload],
  ['method', training((r) => r.training.method)],
  ['precision', training((r) => r.training.precision)],
  ['optimizer', training((r) => r.training.optimizer)],
  ['zeroStage', training((r) => r.parallelism.zeroStage)],
  ['activationCheckpointing', training((r) => r.training.activationCheckpointing)],
  ['microBatchSize', training((r) => r.training.microBatchSize)],
  ['gradientAccumulationSteps', training((r) => r.training.gradientAccumulationSteps)],
  ['sequenceLength', training((r) => r.training.sequenceLength)],
  ['sequenceParallel', training((r) => r.parallelism.sequenceParallel)],
  ['offloadOptimizer', training((r) => r.parallelism.offload.optimizer)],
  ['offloadParameters', training((r) => r.parallelism.offload.parameters)],
  ['crossEntropy', training((r) => r.runtime.crossEntropy)],
  ['preset', (plan) => plan.result.request.runtime.preset],
  ['tokensToTrain', training((r) => r.training.tokensToTrain)],
  ['fits', (plan) => plan.result.memory.perGpu.fits],
  ['verdict', (plan) => plan.result.memory.perGpu.verdict],
  ['deviceUsedBytes', (plan) => plan.result.memory.perGpu.deviceUsedBytes],
  ['capacityBytes', (plan) => plan.result.memory.perGpu.capacityBytes],
  ['allocatedPeakGiB', (plan) => (plan.result.memory.perGpu.allocatedPeakBytes / GIB).toFixed(2)],
  ['deviceUsedGiB', (plan) => (plan.result.memory.perGpu.deviceUsedBytes / GIB).toFixed(2)],
  ['deviceUsedLowGiB', (plan) => rangeGiB(plan, 0)],
  ['deviceUsedHighGiB', (plan) => rangeGiB(plan, 1)],
  ['stepTimeSeconds', (plan) => plan.result.performance.stepTimeSeconds],
  ['tokensPerSecond', (plan) => plan.result.performance.tokensPerSecond],
  ['usdPerMillionTokens', (plan) => plan.result.cost.usdPerMillionTokens],
  ['gpuHours', (plan) => plan.result.cost.gpuHours],
  ['totalUsd', (plan) => plan.result.cost.totalUsd],
];

/** RFC 4180 quoting; a leading = + - @ is defused so spreadsheets do not run it as a formula. */
function cell(value: Cell): string {
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
