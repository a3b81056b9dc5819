// Plain-text tables and the readable views of plans, comparisons, searches and saved plans. Figures
// are written by the web page's own formatters (public/js/format.js), so both say the same.
import {
  count as formatCount,
  days as formatDays,
  gib as formatGiB,
  gibRange as formatGiBRange,
  seconds as formatSeconds,
  summaryLabel,
  summaryValue,
  usd as formatUsd,
} from '../../public/js/format.js';
import type { GpuCountAnswer, GpusNeededAnswer } from '../application/gpus-needed-answer';
import { Advice, CompareEntry } from '../engine';
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

/** The verdict as the first word of a plan: shouted where it needs acting on. */
function verdictWord(rank: RankMemory): string {
  if (rank.verdict === 'tight') return 'TIGHT (fits at the estimate, not at the top of its range)';
  return rank.verdict ? fitsWord(rank.verdict === 'fits') : fitsWord(rank.fits);
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
  if (ranks.every((r) => r.deviceUsedRangeBytes)) {
    rows.push(['80% range', ...ranks.map((r) => formatGiBRange(r.deviceUsedRangeBytes))]);
    rows.push(['verdict', ...ranks.map((r) => r.verdict ?? '')]);
  }
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
    `${verdictWord(worst)}: ${formatGiB(worst.deviceUsedBytes)}${worst.deviceUsedRangeBytes ? ` (80% range ${formatGiBRange(worst.deviceUsedRangeBytes)})` : ''} of ${formatGiB(worst.capacityBytes)} per GPU, headroom ${formatGiB(worst.headroomBytes)}; ${worst.dominantComponent} dominates (peak in ${worst.peakPhase})`,
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
  if (result.cost.gpuHours !== undefined) lines.push('', renderBudget(result));
  if (result.advice && result.advice.length > 0) lines.push('', renderAdvice(result.advice));
  if (result.warnings.length > 0)
    lines.push('', 'warnings:', ...result.warnings.map((w) => `  - ${w}`));
  return lines.join('\n');
}

/** The run's budget for training.tokensToTrain: GPU-hours, days and cost. */
export function renderBudget(result: PlanResult): string {
  const { cost, request, layout } = result;
  const row = [
    formatCount(request.training.tokensToTrain),
    `${layout.gpus} x ${request.cluster.gpu}`,
    formatCount(cost.gpuHours),
    formatDays(cost.wallClockDays),
    formatUsd(cost.totalUsd),
  ];
  const headers = ['tokens', 'cluster', 'GPU-hours', 'wall clock', 'cost'];
  return renderTable(headers, [row], ['right', 'left', 'right', 'right', 'right']);
}

/** Changes that make the plan fit, best first. */
export function renderAdvice(advice: Advice[]): string {
  const lines = advice.map(
    (a) => `  ${a.rank}. ${a.changesJob ? '[changes the job] ' : ''}${a.sentence}`,
  );
  return [
    'to make it fit (best first: fits before tight, same training first, then price):',
    ...lines,
  ].join('\n');
}

/** The fewest and the cheapest GPU counts for a job, and the sizes searched. */
export function renderGpusNeeded(answer: GpusNeededAnswer): string {
  if (!answer.fewest) {
    return `no layout fits on up to ${answer.maxGpus} x ${answer.gpu}: raise --max-gpus, or change the job`;
  }
  const row = (name: string, a: GpuCountAnswer) => [
    name,
    String(a.gpus),
    a.label,
    formatGiB(a.figures.deviceUsedBytes),
    formatGiBRange(a.figures.deviceUsedRangeBytes),
    formatSeconds(a.figures.stepTimeSeconds),
    formatUsd(a.figures.usdPerMillionTokens),
  ];
  const rows = [
    row('fewest', answer.fewest),
    ...(answer.cheapest ? [row('cheapest', answer.cheapest)] : []),
  ];
  const headers = ['', 'GPUs', 'layout', 'per GPU', '80% range', 'step', '$ / M tok'];
  const searched = [...new Set(answer.tried.map((t) => t.gpus))]
    .map(
      (gpus) => `${gpus}${answer.tried.some((t) => t.gpus === gpus && t.fits) ? ' fits' : ' no'}`,
    )
    .join(', ');
  return [
    `${answer.gpu}: the fewest GPUs on which a layout fits with room for the top of its 80% range, and the cheapest`,
    renderTable(headers, rows, ['left', 'right', 'left', 'right', 'right', 'right', 'right']),
    `searched: ${searched}`,
  ].join('\n');
}

/** Counts and totals over saved plans, one per line. */
export function renderSummary(summary: object): string {
  const rows = Object.entries(summary).map(([key, value]) => [
    summaryLabel(key),
    summaryValue(key, value),
  ]);
  return renderTable(['', 'total'], rows, ['left', 'right']);
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
  const headers = ['id', 'name', 'tags', 'model', 'GPUs', 'per GPU', 'verdict', 'created'];
  const body = plans.map((p) => [
    p.id,
    p.name ?? '',
    p.tags.join(','),
    p.model.id,
    `${p.layout.gpus} x ${p.request.cluster.gpu}`,
    formatGiB(p.memory.perGpu.deviceUsedBytes),
    p.memory.perGpu.verdict ?? (p.memory.perGpu.fits ? 'fits' : 'does not fit'),
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
