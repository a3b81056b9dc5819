// @ts-check
// The comparison panel: ZeRO stages (or any varied knob) side by side, chart and table.
import { drawCompareChart } from './charts.js';
import { componentLabel } from './components.js';
import { $, el, fillTable, verdictBadge } from './dom.js';
import { gib, seconds, usd, variantLabel } from './format.js';

/** @typedef {import('../../src/engine').CompareEntry} CompareEntry */

/**
 * One compare row: its figures, or why it could not be planned.
 * @param {CompareEntry} row
 */
function compareRow(row) {
  const label = el('td', {}, variantLabel(row.label));
  if (!row.result) {
    const messages = (row.errors ?? []).map((e) => e.message).join('; ');
    return el(
      'tr',
      {},
      label,
      el('td', { colspan: 6, className: 'muted' }, messages || 'not possible'),
    );
  }
  const { perGpu } = row.result.memory;
  return el(
    'tr',
    { className: perGpu.fits ? '' : 'bad-row' },
    label,
    el('td', { className: 'num' }, gib(perGpu.deviceUsedBytes)),
    el('td', { className: 'num' }, gib(perGpu.headroomBytes)),
    el('td', {}, componentLabel(perGpu.dominantComponent)),
    el('td', { className: 'num' }, seconds(row.result.performance.stepTimeSeconds)),
    el('td', { className: 'num' }, usd(row.result.cost.usdPerMillionTokens)),
    el('td', {}, verdictBadge(perGpu.verdict, perGpu.fits)),
  );
}

/**
 * Shows a comparison in its panel.
 * @param {CompareEntry[]} rows
 * @param {readonly string[]} order the vocabulary's component order
 */
export function renderComparison(rows, order) {
  $('#compare').hidden = false;
  drawCompareChart($('#compare-chart'), rows, variantLabel, order);
  const titles = ['', 'per-GPU peak', 'headroom', 'dominant', 'step time', '$ / M tokens', ''];
  fillTable(
    $('#compare-table'),
    el(
      'tr',
      {},
      titles.map((t) => el('th', {}, t)),
    ),
    rows.map(compareRow),
  );
}
