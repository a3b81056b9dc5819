// @ts-check
// The saved plans panel: the list (filtered by tag), the tag's totals, open and delete.
import { api, apiUrl } from './api.js';
import { $, el, fillTable, verdictBadge } from './dom.js';
import { gib, summaryLabel, summaryValue } from './format.js';

/** @typedef {import('../../src/plans/saved-plan').SavedPlan} SavedPlan */
/** @typedef {{ open: (id: string) => void, remove: (plan: SavedPlan) => void, filter: (tag: string) => void }} SavedActions */

/** How many saved plans the list shows at once. */
const PAGE = 50;

/**
 * One saved plan's row.
 * @param {SavedPlan} plan
 * @param {SavedActions} actions
 */
function savedRow(plan, actions) {
  const { perGpu } = plan.memory;
  const tags = plan.tags.map((t) =>
    el('span', { className: 'tag', onclick: () => actions.filter(t) }, t),
  );
  const open = el(
    'button',
    { type: 'button', 'data-testid': 'open-plan', onclick: () => actions.open(plan.id) },
    'Open',
  );
  const remove = el(
    'button',
    {
      type: 'button',
      className: 'danger',
      'data-testid': 'delete-plan',
      onclick: () => actions.remove(plan),
    },
    'Delete',
  );
  return el(
    'tr',
    { 'data-testid': 'saved-plan', 'data-plan-id': plan.id },
    el('td', {}, el('strong', {}, plan.name)),
    el('td', {}, tags),
    el('td', {}, plan.model.id),
    el('td', {}, `${plan.layout.gpus} x ${plan.request.cluster.gpu}`),
    el('td', { className: 'num' }, gib(perGpu.deviceUsedBytes)),
    el('td', {}, verdictBadge(perGpu.verdict, perGpu.fits)),
    el('td', { className: 'muted' }, new Date(plan.createdAt).toLocaleString()),
    el('td', { className: 'row-actions' }, open, remove),
  );
}

/**
 * The tag's totals, each figure in its unit.
 * @param {Record<string, unknown>} summary
 */
function renderSummary(summary) {
  const figures = Object.entries(summary).filter(([key]) => key !== 'tag');
  $('#tag-summary').replaceChildren(
    ...figures.map(([key, value]) =>
      el(
        'div',
        { className: 'stat' },
        el('dt', {}, summaryLabel(key)),
        el('dd', { 'data-summary': key }, summaryValue(key, value)),
      ),
    ),
  );
}

/**
 * Reads and shows the saved plans with `tag` (all when empty) and their totals.
 * @param {string} tag
 * @param {SavedActions} actions
 */
export async function refreshSaved(tag, actions) {
  const query = tag ? `?tag=${encodeURIComponent(tag)}` : '';
  /** @type {HTMLAnchorElement} */ ($('#export-csv')).href = apiUrl(`/plans/export.csv${query}`);
  const table = /** @type {HTMLTableElement} */ ($('#plans-table'));
  try {
    const [page, summary] = await Promise.all([
      api(`/plans${query}${query ? '&' : '?'}limit=${PAGE}`),
      api(`/plans/summary${query}`),
    ]);
    const plans = /** @type {SavedPlan[]} */ (page.items);
    const empty = tag ? `No plans tagged "${tag}".` : 'No saved plans yet.';
    const rows = plans.length
      ? plans.map((plan) => savedRow(plan, actions))
      : [el('tr', {}, el('td', { colspan: 8, className: 'muted' }, empty))];
    const titles = ['name', 'tags', 'model', 'GPUs', 'per-GPU peak', '', 'created', ''];
    fillTable(
      table,
      el(
        'tr',
        {},
        titles.map((t) => el('th', {}, t)),
      ),
      rows,
    );
    renderSummary(summary);
  } catch (error) {
    const message = `Could not list plans: ${/** @type {Error} */ (error).message}`;
    table.replaceChildren(el('tbody', {}, el('tr', {}, el('td', { className: 'muted' }, message))));
  }
}
