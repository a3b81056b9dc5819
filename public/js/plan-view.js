// @ts-check
// The plan panel: verdict, figures, the stacked bars per rank, the ranks table, warnings.
import { drawPlanChart, ranksOf } from './charts.js';
import { componentLabel } from './components.js';
import { renderAdvice } from './advice-view.js';
import { $, el, fillTable, verdictBadge } from './dom.js';
import { count, degreesText, gib, gibRange, percent, seconds, usd } from './format.js';

/** @typedef {import('../../src/engine/vocabulary').PlanResult} PlanResult */

/**
 * One figure of the stats list, with an optional note under it.
 * @param {string} label
 * @param {string} value
 * @param {string} testid
 * @param {string | null} [note]
 */
function stat(label, value, testid, note) {
  return el(
    'div',
    { className: 'stat' },
    el('dt', {}, label),
    el('dd', { 'data-testid': testid }, value, note ? el('small', {}, note) : null),
  );
}

/** @param {PlanResult} result */
function memoryStats(result) {
  const { perGpu } = result.memory;
  const request = result.request;
  const zero = request.workload === 'inference' ? null : `ZeRO-${request.parallelism.zeroStage}`;
  const parameters = result.model.parameters;
  return [
    stat('Per-GPU peak', gib(perGpu.deviceUsedBytes), 'peak', `of ${gib(perGpu.capacityBytes)}`),
    stat(
      '80% range',
      gibRange(perGpu.deviceUsedRangeBytes),
      'range',
      perGpu.deviceUsedRangeBytes ? 'what 4 runs in 5 measure' : null,
    ),
    stat(
      'Headroom',
      gib(perGpu.headroomBytes),
      'headroom',
      perGpu.headroomBytes < 0 ? 'short' : 'free',
    ),
    stat(
      'Dominant',
      componentLabel(perGpu.dominantComponent),
      'dominant',
      `peak in ${perGpu.peakPhase}`,
    ),
    stat('Layout', degreesText(result.layout), 'layout', zero),
    stat(
      'Parameters',
      count(parameters.total),
      'parameters',
      `${count(parameters.trainable)} trainable`,
    ),
  ];
}

/** @param {PlanResult} result */
function speedStats(result) {
  const perf = result.performance;
  const serving = result.inference;
  if (serving) {
    return [
      stat('Max batch', String(serving.maxBatchSize), 'max-batch'),
      stat('Max context', count(serving.maxContextLength), 'max-context', 'tokens'),
      stat('First token', seconds(perf.timeToFirstTokenSeconds), 'ttft'),
      stat('Per output token', seconds(perf.timePerOutputTokenSeconds), 'tpot'),
      stat('$ / M output tokens', usd(serving.usdPerMillionOutputTokens), 'usd-per-mtok'),
    ];
  }
  const perGpu = `${count(perf.tokensPerSecondPerGpu)} per GPU`;
  const perHour = `${usd(result.cost.clusterPerHour)} per hour`;
  return [
    stat('Step time', seconds(perf.stepTimeSeconds), 'step-time', `MFU ${percent(perf.mfu)}`),
    stat('Throughput', `${count(perf.tokensPerSecond)} tok/s`, 'tokens-per-second', perGpu),
    stat('$ / M tokens', usd(result.cost.usdPerMillionTokens), 'usd-per-mtok', perHour),
  ];
}

/** @param {PlanResult} result */
function renderRanksTable(result) {
  const titles = [
    'rank',
    'device used',
    '80% range',
    'allocated',
    'reserved',
    'headroom',
    'peak phase',
    'dominant',
    '',
  ];
  const rows = ranksOf(result).map((rank) =>
    el(
      'tr',
      { className: rank.fits ? '' : 'bad-row' },
      el('td', {}, rank.label),
      el('td', { className: 'num' }, gib(rank.deviceUsedBytes)),
      el('td', { className: 'num' }, gibRange(rank.deviceUsedRangeBytes)),
      ...[rank.allocatedPeakBytes, rank.reservedPeakBytes, rank.headroomBytes].map((bytes) =>
        el('td', { className: 'num' }, gib(bytes)),
      ),
      el('td', {}, rank.peakPhase),
      el('td', {}, componentLabel(rank.dominantComponent)),
      el('td', {}, verdictBadge(rank.verdict, rank.fits)),
    ),
  );
  fillTable(
    $('#ranks-table'),
    el(
      'tr',
      {},
      titles.map((t) => el('th', {}, t)),
    ),
    rows,
  );
}

/**
 * Shows a plan in the result panel; `apply` puts a piece of advice's request into the form.
 * @param {PlanResult} result
 * @param {{ gpuName: (id: string) => string, order: readonly string[], apply: (request: import('../../src/engine').PlanRequest) => void }} context
 */
export function renderPlan(result, context) {
  const { perGpu } = result.memory;
  $('#placeholder').hidden = true;
  $('#result').hidden = false;
  const gpu = context.gpuName(result.request.cluster.gpu);
  $('#result-title').textContent =
    `${result.model.name || result.model.id} on ${result.layout.gpus} x ${gpu}`;
  $('#fits-badge').replaceWith(
    Object.assign(verdictBadge(perGpu.verdict, perGpu.fits, false), { id: 'fits-badge' }),
  );
  $('#fits-badge').dataset.testid = 'fits-badge';
  const host = result.memory.hostPerNodeBytes;
  const hostStat = host > 0 ? [stat('Host RAM per node', gib(host), 'host')] : [];
  $('#stats').replaceChildren(...memoryStats(result), ...speedStats(result), ...hostStat);
  drawPlanChart($('#plan-chart'), result, context.order);
  renderRanksTable(result);
  renderAdvice(result, context.apply);
  const warnings = result.warnings.map((w) => el('li', {}, w));
  $('#warnings').replaceChildren(
    ...(warnings.length ? warnings : [el('li', { className: 'muted' }, 'none')]),
  );
  $('#assumptions').replaceChildren(...result.assumptions.map((a) => el('li', {}, a)));
}
