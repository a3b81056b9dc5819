// @ts-check
// Under a plan: the advice that makes it fit, best first, and the answer to "how many GPUs?".
import { $, el, fillTable, verdictBadge } from './dom.js';
import { gib, gibRange, usd } from './format.js';

/** @typedef {import('../../src/engine').PlanResult} PlanResult */
/** @typedef {import('../../src/engine').PlanRequest} PlanRequest */
/** @typedef {import('../../src/engine').Advice} Advice */
/** @typedef {import('../../src/application/gpus-needed-answer').GpusNeededAnswer} GpusNeededAnswer */
/** @typedef {import('../../src/application/gpus-needed-answer').GpuCountAnswer} GpuCountAnswer */

/**
 * One piece of advice: its sentence, its verdict and range, and a button that applies it.
 * @param {Advice} advice
 * @param {(request: PlanRequest) => void} apply
 */
function adviceItem(advice, apply) {
  const { figures } = advice;
  return el(
    'li',
    { 'data-testid': 'advice-item', 'data-kind': advice.kind },
    advice.changesJob ? el('span', { className: 'job' }, 'Changes the job. ') : null,
    advice.sentence,
    el(
      'div',
      { className: 'figures' },
      verdictBadge(figures.verdict, true),
      el('span', {}, `80% range ${gibRange(figures.deviceUsedRangeBytes)}`),
      el('span', {}, `${figures.gpus} GPU${figures.gpus === 1 ? '' : 's'}`),
      el(
        'button',
        { type: 'button', 'data-testid': 'apply-advice', onclick: () => apply(advice.request) },
        'Apply',
      ),
    ),
  );
}

/**
 * Shows the plan's advice; hidden for a plan that fits with room for its range.
 * @param {PlanResult} result
 * @param {(request: PlanRequest) => void} apply
 */
export function renderAdvice(result, apply) {
  const advice = result.advice ?? [];
  const verdict = result.memory.perGpu.verdict;
  $('#advice').hidden = advice.length === 0 && (verdict === 'fits' || verdict === undefined);
  $('#advice-note').textContent =
    advice.length === 0
      ? 'No change the planner tries makes this plan fit; ask how many GPUs it needs.'
      : 'Best first: room for the top of the range before a tight fit, the same training before approximations and shorter sequences, then the lower price per token.';
  $('#advice-list').replaceChildren(...advice.map((a) => adviceItem(a, apply)));
}

/**
 * A row of the GPU-count table: the fewest or the cheapest cluster, openable as the plan.
 * @param {string} which
 * @param {GpuCountAnswer} answer
 * @param {(request: PlanRequest) => void} open
 */
function countRow(which, answer, open) {
  const { figures } = answer;
  return el(
    'tr',
    { 'data-testid': `gpus-${which}` },
    el('td', {}, which),
    el('td', { className: 'num' }, `${answer.gpus} (${answer.nodes} × ${answer.gpusPerNode})`),
    el('td', {}, answer.label),
    el('td', { className: 'num' }, gib(figures.deviceUsedBytes)),
    el('td', { className: 'num' }, gibRange(figures.deviceUsedRangeBytes)),
    el('td', { className: 'num' }, usd(figures.usdPerMillionTokens)),
    el('td', {}, el('button', { type: 'button', onclick: () => open(answer.request) }, 'Open')),
  );
}

/**
 * Shows how many GPUs of the type the job needs: the fewest and the cheapest.
 * @param {GpusNeededAnswer} answer
 * @param {(request: PlanRequest) => void} open
 */
export function renderGpusNeeded(answer, open) {
  $('#gpus-answer').hidden = false;
  const searched = [...new Set(answer.tried.map((t) => t.gpus))].join(', ');
  $('#gpus-summary').textContent = answer.fewest
    ? `${answer.fewest.gpus} × ${answer.gpu} at the fewest, with room for the top of the 80% range (searched ${searched} GPUs).`
    : `No layout fits on up to ${answer.maxGpus} × ${answer.gpu}.`;
  const titles = ['', 'GPUs', 'layout', 'per GPU', '80% range', '$ / M tokens', ''];
  const rows = [
    ...(answer.fewest ? [countRow('fewest', answer.fewest, open)] : []),
    ...(answer.cheapest ? [countRow('cheapest', answer.cheapest, open)] : []),
  ];
  fillTable(
    $('#gpus-table'),
    el(
      'tr',
      {},
      titles.map((t) => el('th', {}, t)),
    ),
    rows,
  );
}
