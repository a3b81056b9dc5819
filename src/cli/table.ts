// Plain-text tables and the readable views of plans, comparisons, searches and saved plans. Figures
// are written by the web page's own formatters (public/js/format.js), so both say the same.
import {
  count as formatCount,
  gib as formatGiB,
  seconds as formatSeconds,
  usd as formatUsd,
} from '../../public/js/format.js';
import { CompareEntry } from '../engine';
import { MEMORY_COMPONENTS, PlanResult, RankMemory } from '../engine';

export type Align = 'left' | 'right';

/** A column-aligned table: header, a rule, then rows; numbers are right-aligned by the caller. */
export function renderTable(headers: string[], rows: string[][], align: Align[] = []): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        align[column] === 'right' ? cell.padStart(widths[column]) : cell.padEnd(widths[column]),
      )
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function fitsWord(fits: boolean): string {
  return fits ? 'fits' : 'DOES NOT FIT';
}

function layoutLine(result: PlanResult): string {
  const l = result.layout;
  const zero =
    result.request.workload === 'inference' ? '' : `, ZeRO-${result.request.parallelism.zeroStage}`;
  return `${l.gpus} x ${result.request.cluster.gpu} (DP ${l.dataParallel}, TP ${l.tensorParallel}, PP ${l.pipelineParallel}, CP ${l.contextParallel}${zero})`;
}

/** The breakdown of every rank as one table: a column per pipeline stage (plus shares for one). */
export function renderBreakdown(ranks: RankMemory[]): string {
  const components = MEMORY_COMPONENTS.filter((key) =>
    ranks.some((r) => r.breakdown[key] !== undefined),
  );
  // One rank: each component's share of the device's use says at a glance what to shrink.
  const share = ranks.length === 1;
  const headers = [
    'component',
    ...ranks.map((r, i) => (share ? 'per GPU' : `stage ${r.stage ?? i}`)),
    ...(share ? ['share'] : []),
  ];
  const rows = components.map((key) => [
    key,
    ...ranks.map((r) => formatGiB(r.breakdown[key] ?? 0)),
    ...(share
      ? [`${Math.round((100 * (ranks[0].breakdown[key] ?? 0)) / ranks[0].deviceUsedBytes)}%`]
      : []),
  ]);
  rows.push(['allocated peak', ...ranks.map((r) => formatGiB(r.allocatedPeakBytes))]);
  rows.push(['reserved peak', ...ranks.map((r) => formatGiB(r.reservedPeakBytes))]);
  rows.push(['device used', ...ranks.map((r) => formatGiB(r.deviceUsedBytes))]);
  rows.push(['headroom', ...ranks.map((r) => formatGiB(r.headroomBytes))]);
  const align: Align[] = ['left', ...ranks.map((): Align => 'right'), 'right'];
  return renderTable(headers, rows, align);
}

/** A person's view of one plan: verdict, breakdown per rank, speed, cost, warnings. */
export function renderPlan(result: PlanResult): string {
  const worst = result.memory.perGpu;
  const ranks = result.memory.ranks.length > 0 ? result.memory.ranks : [worst];
  const perf = result.performance;
  const lines = [
    `${result.model.name} (${formatCount(result.model.parameters.total)} parameters, ${formatCount(result.model.parameters.trainable)} trainable) on ${layoutLine(result)}`,
    `${fitsWord(worst.fits)}: ${formatGiB(worst.deviceUsedBytes)} of ${formatGiB(worst.capacityBytes)} per GPU, headroom ${formatGiB(worst.headroomBytes)}; ${worst.dominantComponent} dominates (peak in ${worst.peakPhase})`,
    '',
    renderBreakdown(ranks),
    '',
  ];
  if (result.inference) {
    lines.push(
      `max batch ${result.inference.maxBatchSize}, max context ${result.inference.maxContextLength} tokens; ` +
        `${formatCount(result.inference.tokensPerSecondPerGpu)} tok/s per GPU, ${formatUsd(result.inference.usdPerMillionOutputTokens)} per M output tokens`,
    );
  } else {
    lines.push(
      `step ${formatSeconds(perf.stepTimeSeconds)}, ${formatCount(perf.tokensPerSecond)} tok/s (${formatCount(perf.tokensPerSecondPerGpu)} per GPU, MFU ${(perf.mfu * 100).toFixed(0)}%); ` +
        `${formatUsd(result.cost.clusterPerHour)} per hour, ${formatUsd(result.cost.usdPerMillionTokens)} per M tokens`,
    );
  }
  if (result.memory.hostPerNodeBytes > 0)
    lines.push(`host memory per node: ${formatGiB(result.memory.hostPerNodeBytes)}`);
  if (result.warnings.length > 0)
    lines.push('', 'warnings:', ...result.warnings.map((w) => `  - ${w}`));
  return lines.join('\n');
}

/** Variants side by side, one row each. */
export function renderCompare(rows: CompareEntry[]): string {
  const headers = ['variant', 'per GPU', 'headroom', 'fits', 'dominant', 'step', '$ / M tok'];
  const body = rows.map((row) => {
    if (!row.result)
      return [
        row.label,
        '-',
        '-',
        'invalid',
        (row.errors ?? []).map((e) => e.message).join('; '),
        '',
        '',
      ];
    const w = row.result.memory.perGpu;
    return [
      row.label,
      formatGiB(w.deviceUsedBytes),
      formatGiB(w.headroomBytes),
      w.fits ? 'yes' : 'no',
      w.dominantComponent,
      formatSeconds(row.result.performance.stepTimeSeconds),
      formatUsd(row.result.cost.usdPerMillionTokens),
    ];
  });
  return renderTable(headers, body, ['left', 'right', 'right', 'left', 'left', 'right', 'right']);
}

/** Ranked feasible layouts of a search. */
export function renderSearch(results: PlanResult[]): string {
  if (results.length === 0) return 'no layout fits';
  const headers = [
    '#',
    'GPUs',
    'DP',
    'TP',
    'PP',
    'CP',
    'ZeRO',
    'ckpt',
    'mb',
    'per GPU',
    'headroom',
    'tok/s',
    '$ / M tok',
  ];
  const body = results.map((r, i) => [
    String(i + 1),
    String(r.layout.gpus),
    String(r.layout.dataParallel),
    String(r.layout.tensorParallel),
    String(r.layout.pipelineParallel),
    String(r.layout.contextParallel),
    String(r.request.parallelism.zeroStage),
    r.request.training.activationCheckpointing,
    String(r.request.training.microBatchSize),
    formatGiB(r.memory.perGpu.deviceUsedBytes),
    formatGiB(r.memory.perGpu.headroomBytes),
    formatCount(r.performance.tokensPerSecond),
    formatUsd(r.cost.usdPerMillionTokens),
  ]);
  const right: Align[] = [
    'right',
    'right',
    'right',
    'right',
    'right',
    'right',
    'right',
    'left',
    'right',
    'right',
    'right',
    'right',
    'right',
  ];
  return renderTable(headers, body, right);
}

export interface SavedPlanView extends PlanResult {
  id: string;
  name?: string;
  tags: string[];
  createdAt: string;
}

/** Saved plans, newest first, as the server lists them. */
export function renderSavedPlans(plans: SavedPlanView[]): string {
  if (plans.length === 0) return 'no saved plans';
  const headers = ['id', 'name', 'tags', 'model', 'GPUs', 'per GPU', 'fits', 'created'];
  const body = plans.map((p) => [
    p.id,
    p.name ?? '',
    p.tags.join(','),
    p.model.id,
    `${p.layout.gpus} x ${p.request.cluster.gpu}`,
    formatGiB(p.memory.perGpu.deviceUsedBytes),
    p.memory.perGpu.fits ? 'yes' : 'no',
    p.createdAt.slice(0, 19).replace('T', ' '),
  ]);
  return renderTable(headers, body, [
    'left',
    'left',
    'left',
    'left',
    'left',
    'right',
    'left',
    'left',
  ]);
}

/** Field errors the way the API words them, one per line, for stderr. */
export function renderFieldErrors(errors: { field: string; message: string }[]): string {
  return errors.map((e) => (e.field ? `  ${e.field}: ${e.message}` : `  ${e.message}`)).join('\n');
}
