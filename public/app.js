// Shardplan's page: a form that builds a PlanRequest, and views over the API's answers.
// Plain browser JavaScript, no build step; Chart.js is served locally at vendor/chartjs/.
'use strict';

const API = 'api/v1';
const GIB = 1024 ** 3;

/** Breakdown components in stacking order (bottom first), with the colour each keeps everywhere. */
const COMPONENTS = [
  { key: 'weights', label: 'weights', color: '#4e79a7' },
  { key: 'gradients', label: 'gradients', color: '#f28e2b', trainingOnly: true },
  { key: 'optimizerStates', label: 'optimizer states', color: '#e15759', trainingOnly: true },
  { key: 'masterWeights', label: 'master weights', color: '#76b7b2', trainingOnly: true },
  { key: 'activations', label: 'activations', color: '#59a14f' },
  { key: 'logitsAndLoss', label: 'logits and loss', color: '#edc948' },
  { key: 'buffers', label: 'buffers', color: '#b07aa1' },
  { key: 'kvCache', label: 'KV cache', color: '#ff9da7', inferenceOnly: true },
  // reserved - allocated: what the caching allocator holds beyond live tensors.
  { key: 'allocatorReserve', label: 'allocator reserve', color: '#d3cec9' },
  { key: 'runtimeOverhead', label: 'CUDA context + NCCL', color: '#9c755f' },
];
const COMPONENT_LABELS = Object.fromEntries(COMPONENTS.map((c) => [c.key, c.label]));

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** State the browser test and the console can read. */
const shardplan = {
  charts: {},
  lastInput: null,
  lastResult: null,
  compareRows: null,
  searchRows: [],
};
window.shardplan = shardplan;

// ---------- formatting ----------

function gib(bytes, digits) {
  if (bytes === undefined || bytes === null || Number.isNaN(bytes)) return '–';
  const value = bytes / GIB;
  const places = digits ?? (Math.abs(value) < 10 ? 2 : 1);
  return `${value.toFixed(places)} GiB`;
}

function count(n) {
  if (n === undefined || n === null) return '–';
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)} T`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n * 100) / 100);
}

function usd(n) {
  if (n === undefined || n === null) return '–';
  return n >= 100 ? `$${Math.round(n).toLocaleString('en-US')}` : `$${n.toFixed(2)}`;
}

function seconds(s) {
  if (s === undefined || s === null) return '–';
  if (s < 1) return `${(s * 1000).toFixed(1)} ms`;
  if (s < 120) return `${s.toFixed(2)} s`;
  return `${(s / 60).toFixed(1)} min`;
}

function percent(x) {
  return x === undefined || x === null ? '–' : `${(x * 100).toFixed(0)}%`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'className') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// ---------- API ----------

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(`${API}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  const payload = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) {
    throw new ApiError(
      response.status,
      typeof payload === 'object' ? payload : { detail: payload },
    );
  }
  return payload;
}

/** Lists come back as arrays or as pages ({ items, ... }); the page wants the array. */
function itemsOf(payload) {
  if (Array.isArray(payload)) return payload;
  for (const key of ['items', 'data', 'results', 'plans', 'rows', 'models', 'gpus']) {
    if (payload && Array.isArray(payload[key])) return payload[key];
  }
  return [];
}

// ---------- the form <-> PlanRequest ----------

const form = $('#plan-form');

/** Fields the request carries under dotted names; name and tags only travel when saving. */
function requestFields() {
  return $$('[name]', form).filter(
    (input) => input.name.includes('.') || ['model', 'workload'].includes(input.name),
  );
}

function setPath(target, path, value) {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key] ??= {};
  node[keys[keys.length - 1]] = value;
}

function getPath(source, path) {
  return path
    .split('.')
    .reduce((node, key) => (node === undefined || node === null ? undefined : node[key]), source);
}

/** Whether a field applies to the current workload and method (hidden ones are left out). */
function fieldApplies(name, workload, method) {
  if (name.startsWith('inference.')) return workload === 'inference';
  if (name.startsWith('training.lora.')) return workload === 'training' && method !== 'full';
  if (
    name.startsWith('training.') ||
    name === 'parallelism.zeroStage' ||
    name.startsWith('parallelism.offload.')
  ) {
    return workload === 'training';
  }
  return true;
}

function readForm() {
  const workload = form.elements['workload'].value;
  const method = form.elements['training.method'].value;
  const input = {};
  for (const field of requestFields()) {
    if (!fieldApplies(field.name, workload, method)) continue;
    const raw = field.value.trim();
    if (raw === '') continue;
    let value = raw;
    if (field.type === 'number' || field.name === 'parallelism.zeroStage') value = Number(raw);
    if (field.name === 'training.lora.targetModules')
      value = raw === 'all-linear' ? raw : raw.split(',');
    setPath(input, field.name, value);
  }
  return input;
}

function ensureOption(select, value) {
  if (![...select.options].some((o) => o.value === value))
    select.append(el('option', { value }, value));
}

/** Puts a request (normalized or as typed) back into the form. */
function fillForm(request) {
  for (const field of requestFields()) {
    let value = getPath(request, field.name);
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) value = value.join(',');
    if (typeof value === 'object') continue; // an inline model has no select entry
    value = String(value);
    if (field.tagName === 'SELECT') ensureOption(field, value);
    field.value = value;
  }
  if (request.name) form.elements['name'].value = request.name;
  if (Array.isArray(request.tags)) form.elements['tags'].value = request.tags.join(', ');
  syncVisibility();
}

function syncVisibility() {
  const workload = form.elements['workload'].value;
  const method = form.elements['training.method'].value;
  document.body.dataset.workload = workload;
  $$('.lora-only').forEach((node) => (node.hidden = workload !== 'training' || method === 'full'));
  $$('.training-only').forEach((node) => (node.hidden = workload !== 'training'));
  $$('.inference-only').forEach((node) => (node.hidden = workload !== 'inference'));

  const gpus =
    Number(form.elements['cluster.nodes'].value) *
    Number(form.elements['cluster.gpusPerNode'].value);
  const model = [
    'parallelism.tensorParallel',
    'parallelism.pipelineParallel',
    'parallelism.contextParallel',
  ]
    .map((name) => Number(form.elements[name].value) || 1)
    .reduce((a, b) => a * b, 1);
  const hint = $('#data-parallel-hint');
  hint.textContent =
    gpus > 0 && gpus % model === 0
      ? `${gpus} GPUs: data-parallel degree ${gpus / model} (GPUs / tensor x pipeline x context)`
      : `${gpus || '?'} GPUs is not a multiple of tensor x pipeline x context (${model})`;
}

// ---------- field errors ----------

function clearErrors() {
  $$('.field-error', form).forEach((node) => node.remove());
  $$('.has-error', form).forEach((node) => node.classList.remove('has-error'));
  const box = $('#form-error');
  box.hidden = true;
  box.replaceChildren();
}

/** The element a field path names, or its nearest named parent (`training.lora.rank` -> `training.lora`). */
function fieldElement(path) {
  const parts = String(path || '').split('.');
  while (parts.length > 0) {
    const node = form.querySelector(`[data-field="${CSS.escape(parts.join('.'))}"]`);
    if (node && !node.closest('[hidden]')) return node;
    parts.pop();
  }
  return null;
}

function showProblem(error) {
  clearErrors();
  const problem = error instanceof ApiError ? error.problem : { detail: error.message };
  const fieldErrors = Array.isArray(problem.errors) ? problem.errors : [];
  const unplaced = [];
  for (const { field, message } of fieldErrors) {
    const target = fieldElement(field);
    if (!target) {
      unplaced.push(field ? `${field}: ${message}` : message);
      continue;
    }
    target.classList.add('has-error');
    target.append(
      el(
        'small',
        { className: 'field-error', 'data-testid': 'field-error', 'data-error-for': field },
        message,
      ),
    );
  }
  if (fieldErrors.length === 0) unplaced.push(problem.detail || problem.title || error.message);
  if (unplaced.length > 0) {
    const box = $('#form-error');
    box.append(
      el('strong', {}, problem.title || 'The planner could not do that'),
      el(
        'ul',
        {},
        unplaced.map((m) => el('li', {}, m)),
      ),
    );
    box.hidden = false;
  }
}

// ---------- charts ----------

/** Draws a dashed horizontal line at the card's capacity (GiB), labelled, over the bars. */
const capacityLinePlugin = {
  id: 'capacityLine',
  afterDatasetsDraw(chart, _args, options) {
    if (!options || typeof options.value !== 'number') return;
    const { ctx, chartArea, scales } = chart;
    const y = scales.y.getPixelForValue(options.value);
    ctx.save();
    ctx.strokeStyle = '#c0392b';
    ctx.lineWidth = 2;
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(chartArea.left, y);
    ctx.lineTo(chartArea.right, y);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = '#c0392b';
    ctx.font = '600 12px system-ui, sans-serif';
    ctx.textAlign = 'right';
    ctx.fillText(
      options.label || `capacity ${options.value.toFixed(1)} GiB`,
      chartArea.right - 4,
      y - 6,
    );
    ctx.restore();
  },
};

/** Per-component GiB of one rank, with the allocator's reserve and the runtime outside it. */
function segments(rank) {
  const breakdown = rank.breakdown || {};
  const reserve = Math.max(0, (rank.reservedPeakBytes ?? 0) - (rank.allocatedPeakBytes ?? 0));
  return Object.fromEntries(
    COMPONENTS.map(({ key }) => [
      key,
      (key === 'allocatorReserve' ? reserve : (breakdown[key] ?? 0)) / GIB,
    ]),
  );
}

function shownComponents(workload) {
  const inference = workload === 'inference';
  return COMPONENTS.filter((c) => (inference ? !c.trainingOnly : !c.inferenceOnly));
}

function shortRankLabel(rank, index, total) {
  if (total === 1) return 'every GPU';
  return `stage ${rank.stage ?? index}`;
}

function baseChartOptions(capacityGiB, maxStackGiB, title) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: 'nearest', intersect: true },
    scales: {
      x: { stacked: true, grid: { display: false } },
      y: {
        stacked: true,
        beginAtZero: true,
        suggestedMax: Math.max(capacityGiB, maxStackGiB) * 1.08,
        title: { display: true, text: 'GiB per GPU' },
      },
    },
    plugins: {
      title: { display: Boolean(title), text: title },
      legend: { position: 'bottom', labels: { boxWidth: 12 } },
      tooltip: {
        callbacks: {
          label: (item) => `${item.dataset.label}: ${item.parsed.y.toFixed(2)} GiB`,
        },
      },
      capacityLine: { value: capacityGiB, label: `capacity ${capacityGiB.toFixed(1)} GiB` },
    },
  };
}

function drawChart(name, canvas, config) {
  if (typeof window.Chart !== 'function') {
    canvas.replaceWith(
      el(
        'p',
        { className: 'hint' },
        'The chart library did not load (vendor/chartjs/chart.umd.js).',
      ),
    );
    return;
  }
  shardplan.charts[name]?.destroy();
  shardplan.charts[name] = new window.Chart(canvas, { ...config, plugins: [capacityLinePlugin] });
}

function drawPlanChart(result) {
  const ranks = result.memory.ranks?.length ? result.memory.ranks : [result.memory.perGpu];
  const capacityGiB = result.memory.perGpu.capacityBytes / GIB;
  const perRank = ranks.map(segments);
  const components = shownComponents(result.request?.workload);
  const datasets = components.map((c) => ({
    label: c.label,
    componentKey: c.key,
    backgroundColor: c.color,
    data: perRank.map((s) => s[c.key]),
    stack: 'memory',
    maxBarThickness: 140,
  }));
  const tallest = Math.max(...ranks.map((r) => r.deviceUsedBytes / GIB));
  drawChart('plan', $('#plan-chart'), {
    type: 'bar',
    data: { labels: ranks.map((r, i) => shortRankLabel(r, i, ranks.length)), datasets },
    options: baseChartOptions(
      capacityGiB,
      tallest,
      ranks.length > 1 ? 'memory per GPU, one bar per pipeline stage' : 'memory per GPU',
    ),
  });
}

function drawCompareChart(rows) {
  const planned = rows.filter((row) => row.result);
  if (planned.length === 0) return;
  const capacityGiB = planned[0].result.memory.perGpu.capacityBytes / GIB;
  const stages = Math.max(...planned.map((row) => row.result.memory.ranks?.length || 1));
  const components = shownComponents(planned[0].result.request?.workload);
  const datasets = [];
  for (let stage = 0; stage < stages; stage += 1) {
    for (const c of components) {
      datasets.push({
        label: c.label,
        componentKey: c.key,
        backgroundColor: c.color,
        borderColor: '#ffffff',
        borderWidth: stages > 1 ? { left: 1, right: 1 } : 0,
        stack: `stage ${stage}`,
        maxBarThickness: 90,
        data: rows.map((row) => {
          if (!row.result) return null;
          const ranks = row.result.memory.ranks?.length
            ? row.result.memory.ranks
            : [row.result.memory.perGpu];
          return ranks[stage] ? segments(ranks[stage])[c.key] : null;
        }),
      });
    }
  }
  const tallest = Math.max(...planned.map((row) => row.result.memory.perGpu.deviceUsedBytes / GIB));
  const options = baseChartOptions(
    capacityGiB,
    tallest,
    stages > 1 ? `one bar per pipeline stage (${stages})` : '',
  );
  // One legend entry per component, not one per stage.
  options.plugins.legend.labels.filter = (item, data) =>
    data.datasets[item.datasetIndex].stack === 'stage 0';
  drawChart('compare', $('#compare-chart'), {
    type: 'bar',
    data: { labels: rows.map((row) => variantLabel(row.label)), datasets },
    options,
  });
}

// ---------- the plan view ----------

function stat(label, value, testid, extra) {
  return el(
    'div',
    { className: 'stat' },
    el('dt', {}, label),
    el('dd', { 'data-testid': testid }, value, extra ? el('small', {}, extra) : null),
  );
}

function gpuName(id) {
  const option = $(`#gpu option[value="${CSS.escape(id)}"]`);
  return option ? option.dataset.name || option.textContent : id;
}

function renderResult(result) {
  shardplan.lastResult = result;
  const { perGpu } = result.memory;
  const layout = result.layout;
  const request = result.request || {};
  $('#placeholder').hidden = true;
  $('#result').hidden = false;

  $('#result-title').textContent =
    `${result.model.name || result.model.id} on ${layout.gpus} x ${gpuName(request.cluster?.gpu)}`;
  const badge = $('#fits-badge');
  badge.textContent = perGpu.fits ? 'fits' : 'does not fit';
  badge.className = `badge ${perGpu.fits ? 'ok' : 'bad'}`;

  const perf = result.performance || {};
  const cost = result.cost || {};
  const stats = [
    stat('Per-GPU peak', gib(perGpu.deviceUsedBytes), 'peak', `of ${gib(perGpu.capacityBytes)}`),
    stat(
      'Headroom',
      gib(perGpu.headroomBytes),
      'headroom',
      perGpu.headroomBytes < 0 ? 'short' : 'free',
    ),
    stat(
      'Dominant',
      COMPONENT_LABELS[perGpu.dominantComponent] || perGpu.dominantComponent,
      'dominant',
      perGpu.peakPhase ? `peak in ${perGpu.peakPhase}` : null,
    ),
    stat(
      'Layout',
      `DP ${layout.dataParallel} · TP ${layout.tensorParallel} · PP ${layout.pipelineParallel} · CP ${layout.contextParallel}`,
      'layout',
      request.parallelism && request.workload !== 'inference'
        ? `ZeRO-${request.parallelism.zeroStage}`
        : null,
    ),
    stat(
      'Parameters',
      count(result.model.parameters.total),
      'parameters',
      `${count(result.model.parameters.trainable)} trainable`,
    ),
  ];
  if (result.inference) {
    stats.push(
      stat('Max batch', String(result.inference.maxBatchSize), 'max-batch'),
      stat('Max context', count(result.inference.maxContextLength), 'max-context', 'tokens'),
      stat('First token', seconds(perf.timeToFirstTokenSeconds), 'ttft'),
      stat('Per output token', seconds(perf.timePerOutputTokenSeconds), 'tpot'),
      stat('$ / M output tokens', usd(result.inference.usdPerMillionOutputTokens), 'usd-per-mtok'),
    );
  } else {
    stats.push(
      stat('Step time', seconds(perf.stepTimeSeconds), 'step-time', `MFU ${percent(perf.mfu)}`),
      stat(
        'Throughput',
        `${count(perf.tokensPerSecond)} tok/s`,
        'tokens-per-second',
        `${count(perf.tokensPerSecondPerGpu)} per GPU`,
      ),
      stat(
        '$ / M tokens',
        usd(cost.usdPerMillionTokens),
        'usd-per-mtok',
        `${usd(cost.clusterPerHour)} per hour`,
      ),
    );
  }
  if (result.memory.hostPerNodeBytes > 0)
    stats.push(stat('Host RAM per node', gib(result.memory.hostPerNodeBytes), 'host'));
  $('#stats').replaceChildren(...stats);

  drawPlanChart(result);
  renderRanksTable(result);
  $('#warnings').replaceChildren(
    ...(result.warnings?.length
      ? result.warnings.map((w) => el('li', {}, w))
      : [el('li', { className: 'muted' }, 'none')]),
  );
  $('#assumptions').replaceChildren(...(result.assumptions || []).map((a) => el('li', {}, a)));
}

function renderRanksTable(result) {
  const ranks = result.memory.ranks?.length ? result.memory.ranks : [result.memory.perGpu];
  const head = el(
    'tr',
    {},
    ['rank', 'device used', 'allocated', 'reserved', 'headroom', 'peak phase', 'dominant', ''].map(
      (h) => el('th', {}, h),
    ),
  );
  const rows = ranks.map((rank) =>
    el(
      'tr',
      { className: rank.fits ? '' : 'bad-row' },
      el('td', {}, rank.label),
      el('td', { className: 'num' }, gib(rank.deviceUsedBytes)),
      el('td', { className: 'num' }, gib(rank.allocatedPeakBytes)),
      el('td', { className: 'num' }, gib(rank.reservedPeakBytes)),
      el('td', { className: 'num' }, gib(rank.headroomBytes)),
      el('td', {}, rank.peakPhase || ''),
      el('td', {}, COMPONENT_LABELS[rank.dominantComponent] || rank.dominantComponent || ''),
      el(
        'td',
        {},
        el(
          'span',
          { className: `badge small ${rank.fits ? 'ok' : 'bad'}` },
          rank.fits ? 'fits' : 'over',
        ),
      ),
    ),
  );
  $('#ranks-table').replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
}

// ---------- estimate ----------

let estimateSequence = 0;

async function estimate() {
  const sequence = ++estimateSequence;
  const input = readForm();
  form.classList.add('busy');
  try {
    const result = await api('/plans/estimate', { method: 'POST', body: input });
    if (sequence !== estimateSequence) return;
    clearErrors();
    shardplan.lastInput = input;
    renderResult(result);
    history.replaceState(null, '', `#plan=${encodeURIComponent(JSON.stringify(input))}`);
  } catch (error) {
    if (sequence === estimateSequence) showProblem(error);
  } finally {
    if (sequence === estimateSequence) form.classList.remove('busy');
  }
}

let estimateTimer;
function scheduleEstimate() {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(() => void estimate(), 350);
}

// ---------- compare ----------

async function compareZero() {
  const button = $('#compare-zero');
  button.disabled = true;
  try {
    const { rows } = await api('/plans/compare', {
      method: 'POST',
      body: { base: readForm(), vary: 'zeroStage' },
    });
    clearErrors();
    shardplan.compareRows = rows;
    $('#compare').hidden = false;
    drawCompareChart(rows);
    renderCompareTable(rows);
    $('#compare').scrollIntoView({ behavior: 'smooth', block: 'start' });
  } catch (error) {
    showProblem(error);
  } finally {
    button.disabled = false;
  }
}

/** 'zeroStage 3' as people write it: ZeRO-3. */
function variantLabel(label) {
  const zero = /^zeroStage (\d)$/.exec(label);
  return zero ? `ZeRO-${zero[1]}` : label;
}

function renderCompareTable(rows) {
  const head = el(
    'tr',
    {},
    ['', 'per-GPU peak', 'headroom', 'dominant', 'step time', '$ / M tokens', ''].map((h) =>
      el('th', {}, h),
    ),
  );
  const body = rows.map((row) => {
    if (!row.result) {
      const messages = (row.errors || row.error?.errors || []).map((e) => e.message).join('; ');
      return el(
        'tr',
        {},
        el('td', {}, variantLabel(row.label)),
        el('td', { colspan: 6, className: 'muted' }, messages || 'not possible'),
      );
    }
    const { perGpu } = row.result.memory;
    return el(
      'tr',
      { className: perGpu.fits ? '' : 'bad-row' },
      el('td', {}, variantLabel(row.label)),
      el('td', { className: 'num' }, gib(perGpu.deviceUsedBytes)),
      el('td', { className: 'num' }, gib(perGpu.headroomBytes)),
      el('td', {}, COMPONENT_LABELS[perGpu.dominantComponent] || perGpu.dominantComponent),
      el('td', { className: 'num' }, seconds(row.result.performance?.stepTimeSeconds)),
      el('td', { className: 'num' }, usd(row.result.cost?.usdPerMillionTokens)),
      el(
        'td',
        {},
        el(
          'span',
          { className: `badge small ${perGpu.fits ? 'ok' : 'bad'}` },
          perGpu.fits ? 'fits' : 'over',
        ),
      ),
    );
  });
  $('#compare-table').replaceChildren(el('thead', {}, head), el('tbody', {}, body));
}

// ---------- search ----------

/** The columns of the search table: how each is read from a candidate and shown. */
const SEARCH_COLUMNS = [
  { key: 'rank', title: '#', value: (_c, i) => i + 1, show: String, numeric: true },
  { key: 'layout', title: 'layout', value: (c) => layoutText(c.result.layout), show: String },
  {
    key: 'zero',
    title: 'ZeRO',
    value: (c) => c.result.request?.parallelism?.zeroStage ?? '',
    show: String,
    numeric: true,
  },
  {
    key: 'checkpointing',
    title: 'checkpointing',
    value: (c) => c.result.request?.training?.activationCheckpointing ?? '',
    show: String,
  },
  {
    key: 'microBatch',
    title: 'micro-batch',
    value: (c) => c.result.request?.training?.microBatchSize ?? '',
    show: String,
    numeric: true,
  },
  {
    key: 'peak',
    title: 'per-GPU peak',
    value: (c) => c.result.memory.perGpu.deviceUsedBytes,
    show: (v) => gib(v),
    numeric: true,
  },
  {
    key: 'headroom',
    title: 'headroom',
    value: (c) => c.result.memory.perGpu.headroomBytes,
    show: (v) => gib(v),
    numeric: true,
  },
  {
    key: 'throughput',
    title: 'tokens/s',
    value: (c) => c.result.performance?.tokensPerSecond ?? 0,
    show: count,
    numeric: true,
  },
  {
    key: 'cost',
    title: '$ / M tokens',
    value: (c) => c.result.cost?.usdPerMillionTokens ?? 0,
    show: usd,
    numeric: true,
  },
];

function layoutText(layout) {
  return `${layout.gpus} GPUs: DP ${layout.dataParallel} · TP ${layout.tensorParallel} · PP ${layout.pipelineParallel} · CP ${layout.contextParallel}`;
}

/** A search candidate as { result }: the API may return PlanResults or { result, ... } wrappers. */
function candidateOf(item) {
  if (item && item.result && item.result.memory) return item;
  if (item && item.memory) return { result: item };
  return null;
}

let searchSort = { key: 'rank', ascending: true };

/** Why layouts were turned down, largest reason first: "76 out of memory (every rank ...: 19)". */
function rejectionText(rejected) {
  if (!rejected) return '';
  const top = (byKey) =>
    Object.entries(byKey || {})
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([key, n]) => `${key}: ${n}`)
      .join(', ');
  const parts = [];
  if (rejected.outOfMemory)
    parts.push(`${rejected.outOfMemory} out of memory (${top(rejected.outOfMemoryByRank)})`);
  if (rejected.invalidSplit)
    parts.push(`${rejected.invalidSplit} impossible splits (${top(rejected.invalidSplitByField)})`);
  return parts.join('; ');
}

/** The form as a search (POST /plans/search): the parallel layout, ZeRO stage, recomputation and
 * micro-batch are what the search chooses, so they are left out. */
function searchInput() {
  const input = readForm();
  const training = { ...input.training };
  delete training.microBatchSize;
  delete training.activationCheckpointing;
  return {
    model: input.model,
    cluster: input.cluster,
    training,
    runtime: input.runtime,
    objective: $('#search-objective').value,
    top: 20,
  };
}

async function search() {
  const button = $('#search');
  button.disabled = true;
  $('#search-panel').hidden = false;
  $('#search-summary').textContent = 'Searching layouts...';
  $('#search-table').replaceChildren();
  try {
    const payload = await api('/plans/search', { method: 'POST', body: searchInput() });
    clearErrors();
    const candidates = itemsOf(payload).map(candidateOf).filter(Boolean);
    shardplan.searchRows = candidates.map((c, i) => ({ ...c, order: i }));
    const counts = payload && payload.counts;
    const reasons = counts ? rejectionText(counts.rejected) : '';
    $('#search-summary').textContent =
      (reasons && candidates.length === 0 ? `Nothing fits: ${reasons}. ` : '') +
      (counts
        ? `${counts.feasible} of ${counts.evaluated} planned layouts fit (${counts.candidates} in the search space, ${counts.pruned} pruned); the best ${candidates.length}`
        : `${candidates.length} layouts fit`) +
      '. Click a column to sort, a row to open it as the plan.';
    searchSort = { key: 'rank', ascending: true };
    renderSearchTable();
  } catch (error) {
    $('#search-summary').textContent = 'The search failed; see the form.';
    showProblem(error);
  } finally {
    button.disabled = false;
  }
}

function renderSearchTable() {
  const column = SEARCH_COLUMNS.find((c) => c.key === searchSort.key);
  const rows = [...shardplan.searchRows].sort((a, b) => {
    const x = column.value(a, a.order);
    const y = column.value(b, b.order);
    const order =
      typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return searchSort.ascending ? order : -order;
  });
  const head = el(
    'tr',
    {},
    SEARCH_COLUMNS.map((c) =>
      el(
        'th',
        {
          className: `sortable${c.numeric ? ' num' : ''}${c.key === searchSort.key ? (searchSort.ascending ? ' asc' : ' desc') : ''}`,
          'data-sort': c.key,
          'aria-sort':
            c.key === searchSort.key ? (searchSort.ascending ? 'ascending' : 'descending') : 'none',
          onclick: () => {
            searchSort = {
              key: c.key,
              ascending: c.key === searchSort.key ? !searchSort.ascending : true,
            };
            renderSearchTable();
          },
        },
        c.title,
      ),
    ),
  );
  const body = rows.map((candidate) =>
    el(
      'tr',
      {
        className: 'clickable',
        'data-testid': 'search-row',
        title: 'open as the plan',
        onclick: () => openCandidate(candidate),
      },
      SEARCH_COLUMNS.map((c) =>
        el(
          'td',
          { className: c.numeric ? 'num' : '' },
          c.show(c.value(candidate, candidate.order)),
        ),
      ),
    ),
  );
  $('#search-table').replaceChildren(el('thead', {}, head), el('tbody', {}, body));
}

function openCandidate(candidate) {
  const request = candidate.result.request;
  if (request) fillForm(request);
  renderResult(candidate.result);
  $('#result').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

// ---------- saved plans ----------

function currentTag() {
  return $('#tag-filter').value.trim();
}

async function savePlan() {
  const status = $('#save-status');
  const body = readForm();
  const name = form.elements['name'].value.trim();
  const tags = form.elements['tags'].value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (name) body.name = name;
  if (tags.length) body.tags = tags;
  status.textContent = 'Saving...';
  try {
    const saved = await api('/plans', { method: 'POST', body });
    clearErrors();
    renderResult(saved);
    status.textContent = `Saved as "${saved.name || saved.id}".`;
    await refreshSaved();
  } catch (error) {
    status.textContent = '';
    showProblem(error);
  }
}

function savedRow(plan) {
  const perGpu = plan.memory?.perGpu || {};
  const request = plan.request || {};
  const fits = perGpu.fits ?? plan.fits;
  return el(
    'tr',
    { 'data-testid': 'saved-plan', 'data-plan-id': plan.id },
    el('td', {}, el('strong', {}, plan.name || '(unnamed)')),
    el(
      'td',
      {},
      (plan.tags || []).map((t) =>
        el('span', { className: 'tag', onclick: () => filterByTag(t) }, t),
      ),
    ),
    el('td', {}, plan.model?.id ?? (typeof request.model === 'string' ? request.model : 'inline')),
    el('td', {}, `${plan.layout?.gpus ?? '?'} x ${request.cluster?.gpu ?? plan.gpu ?? ''}`),
    el('td', { className: 'num' }, gib(perGpu.deviceUsedBytes ?? plan.deviceUsedBytes)),
    el(
      'td',
      {},
      el('span', { className: `badge small ${fits ? 'ok' : 'bad'}` }, fits ? 'fits' : 'over'),
    ),
    el(
      'td',
      { className: 'muted' },
      plan.createdAt ? new Date(plan.createdAt).toLocaleString() : '',
    ),
    el(
      'td',
      { className: 'row-actions' },
      el(
        'button',
        { type: 'button', 'data-testid': 'open-plan', onclick: () => void openSaved(plan.id) },
        'Open',
      ),
      el(
        'button',
        {
          type: 'button',
          className: 'danger',
          'data-testid': 'delete-plan',
          onclick: () => void deleteSaved(plan),
        },
        'Delete',
      ),
    ),
  );
}

async function refreshSaved() {
  const tag = currentTag();
  const query = tag ? `?tag=${encodeURIComponent(tag)}` : '';
  $('#export-csv').href = `${API}/plans/export.csv${query}`;
  const table = $('#plans-table');
  try {
    const [page, summary] = await Promise.all([
      api(`/plans${query}${query ? '&' : '?'}limit=50`),
      api(`/plans/summary${query}`),
    ]);
    const plans = itemsOf(page);
    const head = el(
      'tr',
      {},
      ['name', 'tags', 'model', 'GPUs', 'per-GPU peak', '', 'created', ''].map((h) =>
        el('th', {}, h),
      ),
    );
    table.replaceChildren(
      el('thead', {}, head),
      el(
        'tbody',
        {},
        plans.length
          ? plans.map(savedRow)
          : [
              el(
                'tr',
                {},
                el(
                  'td',
                  { colspan: 8, className: 'muted' },
                  tag ? `No plans tagged "${tag}".` : 'No saved plans yet.',
                ),
              ),
            ],
      ),
    );
    renderSummary(summary);
  } catch (error) {
    table.replaceChildren(
      el(
        'tbody',
        {},
        el('tr', {}, el('td', { className: 'muted' }, `Could not list plans: ${error.message}`)),
      ),
    );
  }
}

/** Totals for the tag, whatever figures the summary carries (bytes in GiB, USD as money). */
function renderSummary(summary) {
  const entries = [];
  const walk = (value, path) => {
    if (value === null || value === undefined) return;
    if (typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
    } else if (
      typeof value === 'number' ||
      typeof value === 'string' ||
      typeof value === 'boolean'
    ) {
      entries.push([path, value]);
    }
  };
  walk(summary, '');
  const show = (key, value) => {
    if (typeof value !== 'number') return String(value);
    if (/bytes$/i.test(key)) return gib(value);
    if (/usd/i.test(key)) return usd(value);
    return count(value);
  };
  const words = (key) =>
    key
      .replace(/Bytes$/, '')
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .replace(/\./g, ' › ')
      .toLowerCase();
  $('#tag-summary').replaceChildren(
    ...entries
      .filter(([key]) => key !== 'tag')
      .map(([key, value]) =>
        el(
          'div',
          { className: 'stat' },
          el('dt', {}, words(key)),
          el('dd', { 'data-summary': key }, show(key, value)),
        ),
      ),
  );
}

function filterByTag(tag) {
  $('#tag-filter').value = tag;
  void refreshSaved();
}

async function openSaved(id) {
  try {
    const plan = await api(`/plans/${encodeURIComponent(id)}`);
    fillForm({ ...plan.request, name: plan.name, tags: plan.tags });
    renderResult(plan);
    $('#result').scrollIntoView({ behavior: 'smooth', block: 'start' });
  } catch (error) {
    showProblem(error);
  }
}

async function deleteSaved(plan) {
  if (!window.confirm(`Delete the plan "${plan.name || plan.id}"?`)) return;
  try {
    await api(`/plans/${encodeURIComponent(plan.id)}`, { method: 'DELETE' });
  } catch (error) {
    showProblem(error);
  }
  await refreshSaved();
}

// ---------- catalogs and start-up ----------

async function loadCatalogs() {
  const [models, gpus] = await Promise.all([api('/models'), api('/gpus')]);
  const modelSelect = $('#model');
  modelSelect.replaceChildren(
    ...itemsOf(models).map((m) => {
      const params = m.parameters?.total ?? m.parameters;
      const label = `${m.name || m.id}${typeof params === 'number' ? ` (${count(params)})` : ''}`;
      return el('option', { value: m.id }, label);
    }),
  );
  const gpuSelect = $('#gpu');
  gpuSelect.replaceChildren(
    ...itemsOf(gpus).map((g) =>
      el(
        'option',
        { value: g.id, 'data-name': g.name || g.id },
        `${g.name || g.id}${g.memoryBytes ? ` (${gib(g.memoryBytes, 0)})` : ''}`,
      ),
    ),
  );
  for (const [select, preferred] of [
    [modelSelect, 'llama-3-8b'],
    [gpuSelect, 'a100-80gb'],
  ]) {
    if ([...select.options].some((o) => o.value === preferred)) select.value = preferred;
  }
}

function requestFromHash() {
  const match = /^#plan=(.+)$/.exec(location.hash);
  if (!match) return null;
  try {
    return JSON.parse(decodeURIComponent(match[1]));
  } catch {
    return null;
  }
}

async function start() {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(estimateTimer);
    void estimate();
  });
  form.addEventListener('change', (event) => {
    syncVisibility();
    if (event.target.closest('.save-box, .search-box')) return;
    scheduleEstimate();
  });
  form.addEventListener('input', (event) => {
    if (event.target.type !== 'number') return;
    syncVisibility();
    scheduleEstimate();
  });
  $('#compare-zero').addEventListener('click', () => void compareZero());
  $('#search').addEventListener('click', () => void search());
  $('#save').addEventListener('click', () => void savePlan());
  let tagTimer;
  $('#tag-filter').addEventListener('input', () => {
    clearTimeout(tagTimer);
    tagTimer = setTimeout(() => void refreshSaved(), 250);
  });

  try {
    await loadCatalogs();
  } catch (error) {
    showProblem(error);
    return;
  }
  const fromHash = requestFromHash();
  if (fromHash) fillForm(fromHash);
  syncVisibility();
  document.body.dataset.ready = 'true';
  await Promise.all([estimate(), refreshSaved()]);
}

void start();
