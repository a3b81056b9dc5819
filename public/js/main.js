// @ts-check
// Shardplan's page: the form builds a PlanRequest; the panels show what the API answers for it.
// Native ES modules, no build step; `tsc -p tsconfig.web.json` (in npm run lint) checks the types.
import { renderGpusNeeded } from './advice-view.js';
import { api, ApiError } from './api.js';
import { charts } from './charts.js';
import { renderComparison } from './compare-view.js';
import { $ } from './dom.js';
import {
  clearErrors,
  fillCatalogSelects,
  fillEnumSelects,
  fillForm,
  form,
  gpuName,
  readForm,
  saveLabels,
  showProblem,
  syncVisibility,
} from './form.js';
import { renderPlan } from './plan-view.js';
import {
  defaultRequest,
  gpusNeededBody,
  requestFromHash,
  requestSummary,
  saveBody,
  searchBody,
} from './request.js';
import { refreshSaved } from './saved-view.js';
import { renderSearch, searchState, showSearching } from './search-view.js';

/** @typedef {import('./request.js').Vocabulary} Vocabulary */
/** @typedef {import('./request.js').PlanRequestInput} PlanRequestInput */
/** @typedef {import('../../src/engine/vocabulary').PlanResult} PlanResult */
/** @typedef {import('../../src/plans/saved-plan').SavedPlan} SavedPlan */

/** The page opens on the README's example: Llama-3-8B on one node of eight A100 80GB. */
const START = { model: 'llama-3-8b', cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 } };
/** Typing pauses this long before the plan is asked for again, so a number typed is planned once. */
const ESTIMATE_DELAY_MS = 350;
/** The same for the tag filter of the saved plans. */
const TAG_FILTER_DELAY_MS = 250;
/** Ranked layouts a search returns: a screenful of the table. */
const SEARCH_TOP = 20;

/** What the page shows and what it was made for; window.shardplan lets tests and the console read it. */
const state = {
  charts,
  /** @type {Vocabulary | null} */ vocabulary: null,
  /** @type {PlanRequestInput | null} */ lastInput: null,
  /** @type {PlanResult | null} */ lastResult: null,
  /** @type {import('../../src/engine').CompareEntry[] | null} */ compareRows: null,
  /** @type {import('../../src/application/gpus-needed-answer').GpusNeededAnswer | null} */ gpusAnswer:
    null,
  get searchRows() {
    return searchState.rows;
  },
  /** The request each panel was made for (a JSON key), to tell whether it still fits the form. */
  madeFor: /** @type {Record<string, string>} */ ({}),
};
/** @type {any} */ (window).shardplan = state;

/** The component order the charts stack by. */
function order() {
  return state.vocabulary?.memoryComponents ?? [];
}

/** The key of what a search panel depends on: the request less what the search chooses. */
function searchKey(/** @type {PlanRequestInput} */ request) {
  return JSON.stringify(searchBody(request, '', 0));
}

/**
 * Labels each panel made for another request than `current` as belonging to an earlier plan.
 * @param {PlanRequestInput} current
 */
function labelEarlierPanels(current) {
  const keys = { compare: JSON.stringify(current), 'search-panel': searchKey(current) };
  for (const [panel, key] of Object.entries(keys)) {
    const earlier = state.madeFor[panel] !== undefined && state.madeFor[panel] !== key;
    const note = $(`#${panel} .stale-note`);
    $(`#${panel}`).classList.toggle('stale', earlier);
    note.hidden = !earlier;
    note.textContent = earlier
      ? `Made for an earlier plan (${state.madeFor[`${panel}:summary`]}); run it again for this one.`
      : '';
  }
}

/**
 * Remembers which request a panel now shows.
 * @param {string} panel
 * @param {string} key
 * @param {PlanRequestInput} request
 */
function madeFor(panel, key, request) {
  state.madeFor[panel] = key;
  state.madeFor[`${panel}:summary`] = requestSummary(request);
}

/**
 * Shows a plan (estimated, saved or chosen from a search) for the form's current request.
 * @param {PlanResult} result
 */
function showPlan(result) {
  state.lastResult = result;
  renderPlan(result, { gpuName, order: order(), apply: applyRequest });
  // The GPU count sits under the plan: shown only while the form asks for the job it answered.
  $('#gpus-answer').hidden =
    state.madeFor['gpus-answer'] !== JSON.stringify(gpusNeededBody(readForm()));
  const note = $('#result .stale-note');
  note.hidden = true;
  $('#result').classList.remove('stale');
  labelEarlierPanels(readForm());
}

/** When the form's values cannot be planned, the plan shown is the last one that could. */
function labelPlanAsEarlier() {
  if (!state.lastResult) return;
  const note = $('#result .stale-note');
  note.textContent =
    "The form's current values could not be planned (see the form); this is the last plan that could.";
  note.hidden = false;
  $('#result').classList.add('stale');
}

let estimateSequence = 0;

async function estimate() {
  const sequence = ++estimateSequence;
  const input = readForm();
  form.classList.add('busy');
  try {
    const result = await api('/plans/estimate', { method: 'POST', body: input });
    if (sequence !== estimateSequence) return;
    clearErrors();
    state.lastInput = input;
    showPlan(result);
    history.replaceState(null, '', `#plan=${encodeURIComponent(JSON.stringify(input))}`);
  } catch (error) {
    if (sequence !== estimateSequence) return;
    showProblem(error);
    if (error instanceof ApiError && error.status < 500) labelPlanAsEarlier();
  } finally {
    if (sequence === estimateSequence) form.classList.remove('busy');
  }
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let estimateTimer;
function scheduleEstimate() {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(() => void estimate(), ESTIMATE_DELAY_MS);
}

/**
 * Runs `task` with `button` disabled, showing a problem in the form when it fails.
 * @param {string} button
 * @param {() => Promise<void>} task
 */
async function withButton(button, task) {
  const node = /** @type {HTMLButtonElement} */ ($(button));
  node.disabled = true;
  try {
    await task();
  } catch (error) {
    showProblem(error);
  } finally {
    node.disabled = false;
  }
}

const compareZero = () =>
  withButton('#compare-zero', async () => {
    const base = readForm();
    const { rows } = await api('/plans/compare', {
      method: 'POST',
      body: { base, vary: 'zeroStage' },
    });
    clearErrors();
    state.compareRows = rows;
    madeFor('compare', JSON.stringify(base), base);
    renderComparison(rows, order());
    labelEarlierPanels(base);
    $('#compare').scrollIntoView({ behavior: 'smooth', block: 'start' });
  });

/**
 * Puts a request (a piece of advice, a GPU count's layout) into the form and plans it.
 * @param {import('../../src/engine').PlanRequest} request
 */
function applyRequest(request) {
  fillForm(request);
  clearTimeout(estimateTimer);
  void estimate();
  $('#result').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

const howManyGpus = () =>
  withButton('#gpus-needed', async () => {
    const body = gpusNeededBody(readForm());
    $('#gpus-summary').textContent = 'Searching cluster sizes...';
    const answer = await api('/plans/gpus-needed', { method: 'POST', body });
    clearErrors();
    state.gpusAnswer = answer;
    state.madeFor['gpus-answer'] = JSON.stringify(body);
    renderGpusNeeded(answer, applyRequest);
    $('#gpus-answer').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  });

const search = () =>
  withButton('#search', async () => {
    const request = readForm();
    const objective = /** @type {HTMLSelectElement} */ ($('#search-objective')).value;
    showSearching();
    try {
      const answer = await api('/plans/search', {
        method: 'POST',
        body: searchBody(request, objective, SEARCH_TOP),
      });
      clearErrors();
      madeFor('search-panel', searchKey(request), request);
      renderSearch(answer, (row) => openResult(row.result));
      labelEarlierPanels(request);
    } catch (error) {
      $('#search-summary').textContent = 'The search failed; see the form.';
      throw error;
    }
  });

/**
 * Puts a plan's request into the form and shows the plan.
 * @param {PlanResult | SavedPlan} result
 */
function openResult(result) {
  fillForm(
    'id' in result ? { ...result.request, name: result.name, tags: result.tags } : result.request,
  );
  showPlan(result);
  $('#result').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

function currentTag() {
  return /** @type {HTMLInputElement} */ ($('#tag-filter')).value.trim();
}

/** What the saved plans' rows can do. */
const savedActions = {
  /** @param {string} id */
  open: (id) => void api(`/plans/${encodeURIComponent(id)}`).then(openResult, showProblem),
  /** @param {SavedPlan} plan */
  remove: (plan) => void deleteSaved(plan),
  /** @param {string} tag */
  filter: (tag) => {
    /** @type {HTMLInputElement} */ ($('#tag-filter')).value = tag;
    void refreshSaved(tag, savedActions);
  },
};

/** @param {SavedPlan} plan */
async function deleteSaved(plan) {
  if (!window.confirm(`Delete the plan "${plan.name}"?`)) return;
  await api(`/plans/${encodeURIComponent(plan.id)}`, { method: 'DELETE' }).catch(showProblem);
  await refreshSaved(currentTag(), savedActions);
}

async function savePlan() {
  const status = $('#save-status');
  const { name, tags } = saveLabels();
  status.textContent = 'Saving...';
  try {
    const saved = await api('/plans', { method: 'POST', body: saveBody(readForm(), name, tags) });
    clearErrors();
    showPlan(saved);
    status.textContent = `Saved as "${saved.name}".`;
    await refreshSaved(currentTag(), savedActions);
  } catch (error) {
    status.textContent = '';
    showProblem(error);
  }
}

function listen() {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(estimateTimer);
    void estimate();
  });
  form.addEventListener('change', (event) => {
    syncVisibility();
    const target = /** @type {HTMLElement} */ (event.target);
    if (!target.closest('.save-box, .search-box')) scheduleEstimate();
  });
  form.addEventListener('input', (event) => {
    if (/** @type {HTMLInputElement} */ (event.target).type !== 'number') return;
    syncVisibility();
    scheduleEstimate();
  });
  $('#compare-zero').addEventListener('click', () => void compareZero());
  $('#gpus-needed').addEventListener('click', () => void howManyGpus());
  $('#search').addEventListener('click', () => void search());
  $('#save').addEventListener('click', () => void savePlan());
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let tagTimer;
  $('#tag-filter').addEventListener('input', () => {
    clearTimeout(tagTimer);
    tagTimer = setTimeout(() => void refreshSaved(currentTag(), savedActions), TAG_FILTER_DELAY_MS);
  });
}

/** Fills the form from the vocabulary's defaults, the example, then a shared link's request. */
async function loadForm() {
  const [vocabulary, models, gpus] = await Promise.all([
    api('/vocabulary'),
    api('/models'),
    api('/gpus'),
  ]);
  state.vocabulary = vocabulary;
  fillEnumSelects(vocabulary);
  fillCatalogSelects(models, gpus);
  fillForm(defaultRequest(vocabulary.defaults));
  fillForm(START);
  const shared = requestFromHash(location.hash);
  if (shared) fillForm(shared);
}

async function start() {
  listen();
  try {
    await loadForm();
  } catch (error) {
    showProblem(error);
    return;
  }
  document.body.dataset.ready = 'true';
  await Promise.all([estimate(), refreshSaved(currentTag(), savedActions)]);
}

void start();
