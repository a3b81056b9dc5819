// @ts-check
// The plan form: its selects filled from the vocabulary and the catalogs, its fields read into a
// request and written back from one, and the API's field errors shown beside the fields they name.
import { ApiError } from './api.js';
import { $, $$, el } from './dom.js';
import { count, gib } from './format.js';
import { buildRequest, getPath } from './request.js';

/** @typedef {import('./request.js').Vocabulary} Vocabulary */
/** @typedef {import('./request.js').PlanRequestInput} PlanRequestInput */
/** @typedef {HTMLInputElement | HTMLSelectElement} Field */

/** Words for values where the value alone says too little; others are shown as they are. */
const OPTION_WORDS = /** @type {Record<string, Record<string, string>>} */ ({
  method: { full: 'full fine-tune / pre-train', lora: 'LoRA', qlora: 'QLoRA (4-bit base)' },
  preference: {
    none: 'next-token loss',
    dpo: "DPO (TRL's DPOTrainer, a reference model)",
    reward: "reward model (TRL's RewardTrainer)",
    kto: "KTO (TRL's KTOTrainer, a reference model)",
  },
  precision: { 'bf16-mixed': 'bf16 mixed (fp32 master + states)', 'bf16-pure': 'bf16 pure' },
  optimizer: {
    adamw: 'AdamW',
    'adamw-8bit': 'AdamW 8-bit',
    'paged-adamw-8bit': 'paged AdamW 8-bit',
  },
  activationCheckpointing: { selective: 'selective (attention)', full: 'full (every layer)' },
  zeroStage: {
    0: '0: plain DDP',
    1: '1: shard optimizer states',
    2: '2: + gradients',
    3: '3: + parameters (FSDP full shard)',
  },
  preset: { none: 'none (plain PyTorch + ZeRO)', 'hf-transformers': 'Hugging Face Trainer' },
  offload: { cpu: 'CPU' },
  crossEntropy: { fused: 'fused (no logits kept)' },
  objective: { cost: 'cost per token', fewestGpus: 'fewest GPUs' },
});

/** @type {HTMLFormElement} */
export const form = $('#plan-form');

/** Fields the request carries (dotted names, model and workload); name and tags go only with a save. */
function requestFields() {
  return /** @type {Field[]} */ ($$('[name]', form)).filter(
    (field) => field.name.includes('.') || ['model', 'workload'].includes(field.name),
  );
}

/**
 * A form control by its name.
 * @param {string} name
 */
function field(name) {
  return /** @type {Field} */ (form.elements.namedItem(name));
}

/**
 * Fills every select marked data-enum with the vocabulary's values for it, in its order.
 * @param {Vocabulary} vocabulary
 */
export function fillEnumSelects(vocabulary) {
  for (const select of /** @type {HTMLSelectElement[]} */ ($$('select[data-enum]'))) {
    const name = /** @type {keyof Vocabulary['enums']} */ (select.dataset.enum);
    const values = /** @type {readonly (string | number)[]} */ (vocabulary.enums[name]);
    const words = OPTION_WORDS[name] ?? {};
    select.dataset.numeric = String(typeof values[0] === 'number');
    // A select that may be left to the preset starts with an empty choice that sends nothing.
    const unset = select.dataset.defaultLabel;
    select.replaceChildren(
      ...(unset ? [el('option', { value: '' }, unset)] : []),
      ...values.map((v) => el('option', { value: v }, words[v] ?? String(v))),
    );
  }
}

/**
 * Fills the model and GPU selects from the catalogs.
 * @param {(import('../../src/engine/vocabulary').ModelArchitecture & { parameters: { total: number } })[]} models
 * @param {import('../../src/engine/vocabulary').GpuSpec[]} gpus
 */
export function fillCatalogSelects(models, gpus) {
  $('#model').replaceChildren(
    ...models.map((m) => el('option', { value: m.id }, `${m.name} (${count(m.parameters.total)})`)),
  );
  $('#gpu').replaceChildren(
    ...gpus.map((g) =>
      el('option', { value: g.id, 'data-name': g.name }, `${g.name} (${gib(g.memoryBytes, 0)})`),
    ),
  );
}

/**
 * The GPU's name as the catalog gives it, for titles.
 * @param {string} id
 */
export function gpuName(id) {
  const option = form.querySelector(`#gpu option[value="${CSS.escape(id)}"]`);
  return option instanceof HTMLElement ? (option.dataset.name ?? id) : id;
}

/** The request the form describes. */
export function readForm() {
  return buildRequest(
    requestFields().map((f) => ({
      name: f.name,
      value: f.value,
      numeric: f.type === 'number' || f.dataset.numeric === 'true',
    })),
  );
}

/**
 * Puts a request (as typed, normalized or partial) into the form; fields it lacks keep their value.
 * @param {unknown} request
 */
export function fillForm(request) {
  for (const f of requestFields()) {
    let value = getPath(request, f.name);
    if (Array.isArray(value)) value = value.join(',');
    if (value === undefined || value === null || typeof value === 'object') continue;
    const text = String(value);
    if (f instanceof HTMLSelectElement && ![...f.options].some((o) => o.value === text))
      f.append(el('option', { value: text }, text));
    f.value = text;
  }
  const labels = /** @type {{ name?: unknown, tags?: unknown }} */ (request);
  if (typeof labels.name === 'string') field('name').value = labels.name;
  if (Array.isArray(labels.tags)) field('tags').value = labels.tags.join(', ');
  syncVisibility();
}

/** Shows the fields of the chosen workload and method, and the data-parallel degree the split leaves. */
export function syncVisibility() {
  const workload = field('workload').value;
  const method = field('training.method').value;
  document.body.dataset.workload = workload;
  $$('.lora-only').forEach((node) => (node.hidden = workload !== 'training' || method === 'full'));
  $$('.training-only').forEach((node) => (node.hidden = workload !== 'training'));
  $$('.inference-only').forEach((node) => (node.hidden = workload !== 'inference'));
  const gpus = Number(field('cluster.nodes').value) * Number(field('cluster.gpusPerNode').value);
  const split = ['tensorParallel', 'pipelineParallel', 'contextParallel']
    .map((name) => Number(field(`parallelism.${name}`).value) || 1)
    .reduce((a, b) => a * b, 1);
  $('#data-parallel-hint').textContent =
    gpus > 0 && gpus % split === 0
      ? `${gpus} GPUs: data-parallel degree ${gpus / split} (GPUs / tensor x pipeline x context)`
      : `${gpus || '?'} GPUs is not a multiple of tensor x pipeline x context (${split})`;
}

/** The name and tags typed for a save. */
export function saveLabels() {
  return { name: field('name').value, tags: field('tags').value };
}

export function clearErrors() {
  $$('.field-error', form).forEach((node) => node.remove());
  $$('.has-error', form).forEach((node) => node.classList.remove('has-error'));
  const box = $('#form-error');
  box.hidden = true;
  box.replaceChildren();
}

/**
 * The visible element a field path names, or its nearest named parent
 * (`training.lora.rank` -> `training.lora`).
 * @param {string} path
 */
function fieldElement(path) {
  const parts = path.split('.');
  for (; parts.length > 0; parts.pop()) {
    const node = form.querySelector(`[data-field="${CSS.escape(parts.join('.'))}"]`);
    if (node && !node.closest('[hidden]')) return node;
  }
  return null;
}

/**
 * Shows an API problem: each field error beside its field, the rest in the box above the form.
 * @param {unknown} error
 */
export function showProblem(error) {
  clearErrors();
  const problem =
    error instanceof ApiError ? error.problem : { detail: /** @type {Error} */ (error).message };
  const fieldErrors = problem.errors ?? [];
  const unplaced = [];
  for (const { field: path, message } of fieldErrors) {
    const target = fieldElement(path);
    if (!target) {
      unplaced.push(path ? `${path}: ${message}` : message);
      continue;
    }
    target.classList.add('has-error');
    const attrs = {
      className: 'field-error',
      'data-testid': 'field-error',
      'data-error-for': path,
    };
    target.append(el('small', attrs, message));
  }
  if (fieldErrors.length === 0) unplaced.push(problem.detail ?? problem.title ?? 'unknown error');
  if (unplaced.length === 0) return;
  const box = $('#form-error');
  const title = problem.title ?? 'The planner could not do that';
  box.append(
    el('strong', {}, title),
    el(
      'ul',
      {},
      unplaced.map((m) => el('li', {}, m)),
    ),
  );
  box.hidden = false;
}
