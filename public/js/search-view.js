// @ts-check
// The search panel: ranked layouts that fit, sortable by any column, each row openable as the plan.
import { $, el, fillTable } from './dom.js';
import { count, degreesText, gib, rejectionText, usd } from './format.js';

/** @typedef {import('../../src/engine').SearchCandidate} SearchCandidate */
/** @typedef {import('../../src/engine').SearchResult & { warnings: string[] }} SearchAnswer */
/** @typedef {SearchCandidate & { order: number }} SearchRow */
/**
 * A column: how a row's value is read, shown and compared.
 * @typedef {{ key: string, title: string, value: (row: SearchRow) => number | string, show: (value: any) => string, numeric?: boolean }} Column
 */

/** @type {Column[]} */
const COLUMNS = [
  { key: 'rank', title: '#', value: (c) => c.order + 1, show: String, numeric: true },
  {
    key: 'layout',
    title: 'layout',
    value: (c) => `${c.result.layout.gpus} GPUs: ${degreesText(c.result.layout)}`,
    show: String,
  },
  { key: 'zero', title: 'ZeRO', value: (c) => c.figures.zeroStage, show: String, numeric: true },
  {
    key: 'checkpointing',
    title: 'checkpointing',
    value: (c) => c.figures.activationCheckpointing,
    show: String,
  },
  {
    key: 'microBatch',
    title: 'micro-batch',
    value: (c) => c.figures.microBatchSize,
    show: String,
    numeric: true,
  },
  {
    key: 'peak',
    title: 'per-GPU peak',
    value: (c) => c.figures.deviceUsedBytes,
    show: gib,
    numeric: true,
  },
  {
    key: 'headroom',
    title: 'headroom',
    value: (c) => c.figures.headroomBytes,
    show: gib,
    numeric: true,
  },
  {
    key: 'throughput',
    title: 'tokens/s',
    value: (c) => c.figures.tokensPerSecond,
    show: count,
    numeric: true,
  },
  {
    key: 'cost',
    title: '$ / M tokens',
    value: (c) => c.figures.usdPerMillionTokens,
    show: usd,
    numeric: true,
  },
];

/** The rows shown and how they are sorted; read by the browser test through window.shardplan. */
export const searchState = {
  rows: /** @type {SearchRow[]} */ ([]),
  sort: { key: 'rank', ascending: true },
};

/** What a click on a row does: set by renderSearch. @type {(row: SearchRow) => void} */
let openRow = () => undefined;

/**
 * What the search found, in a sentence.
 * @param {SearchAnswer} answer
 */
function summary(answer) {
  const { counts } = answer;
  const reasons = rejectionText(counts.rejected);
  const nothing = reasons && answer.results.length === 0 ? `Nothing fits: ${reasons}. ` : '';
  const notes = answer.warnings.map((warning) => `Note: ${warning}. `).join('');
  return (
    `${nothing}${counts.feasible} of ${counts.evaluated} planned layouts fit ` +
    `(${counts.candidates} in the search space, ${counts.pruned} pruned); the best ${answer.results.length}. ` +
    notes +
    'Click a column to sort, a row to open it as the plan.'
  );
}

/** @param {Column} column */
function headerCell(column) {
  const { key, ascending } = searchState.sort;
  const sorted = column.key === key;
  const className = `sortable${column.numeric ? ' num' : ''}${sorted ? (ascending ? ' asc' : ' desc') : ''}`;
  const onclick = () => {
    searchState.sort = { key: column.key, ascending: sorted ? !ascending : true };
    renderRows();
  };
  const ariaSort = sorted ? (ascending ? 'ascending' : 'descending') : 'none';
  return el(
    'th',
    { className, 'data-sort': column.key, 'aria-sort': ariaSort, onclick },
    column.title,
  );
}

/** Draws the rows in the current sort order. */
function renderRows() {
  const column = COLUMNS.find((c) => c.key === searchState.sort.key) ?? COLUMNS[0];
  const direction = searchState.sort.ascending ? 1 : -1;
  const rows = [...searchState.rows].sort((a, b) => {
    const x = column.value(a);
    const y = column.value(b);
    const order =
      typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return direction * order;
  });
  const body = rows.map((row) =>
    el(
      'tr',
      {
        className: 'clickable',
        'data-testid': 'search-row',
        title: 'open as the plan',
        onclick: () => openRow(row),
      },
      COLUMNS.map((c) => el('td', { className: c.numeric ? 'num' : '' }, c.show(c.value(row)))),
    ),
  );
  fillTable($('#search-table'), el('tr', {}, COLUMNS.map(headerCell)), body);
}

/** Shows the panel while the search runs. */
export function showSearching() {
  $('#search-panel').hidden = false;
  $('#search-summary').textContent = 'Searching layouts...';
  $('#search-table').replaceChildren();
}

/**
 * Shows a search's answer; `open` puts a chosen row into the form and the plan panel.
 * @param {SearchAnswer} answer
 * @param {(row: SearchRow) => void} open
 */
export function renderSearch(answer, open) {
  searchState.rows = answer.results.map((candidate, order) => ({ ...candidate, order }));
  searchState.sort = { key: 'rank', ascending: true };
  $('#search-summary').textContent = summary(answer);
  openRow = open;
  renderRows();
}
