// @ts-check
// The form's values <-> a PlanRequest, and the bodies of search and save built from it. Pure:
// no DOM here, so the rules are specified in test/web/request.spec.ts.

/** @typedef {import('../../src/engine').PlanRequestInput} PlanRequestInput */
/** @typedef {Record<string, unknown>} Json */

/**
 * One form field as read: its dotted request path, its text, and whether it holds a number.
 * @typedef {{ name: string, value: string, numeric: boolean }} FieldValue
 */

/**
 * Sets `path` (dotted) in `target`, creating the objects on the way.
 * @param {Json} target
 * @param {string} path
 * @param {unknown} value
 */
export function setPath(target, path, value) {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = /** @type {Json} */ (node[key]);
  }
  node[keys[keys.length - 1]] = value;
}

/**
 * The value at `path` (dotted), or undefined where the path stops.
 * @param {unknown} source
 * @param {string} path
 * @returns {unknown}
 */
export function getPath(source, path) {
  return path
    .split('.')
    .reduce(
      (/** @type {unknown} */ node, key) =>
        node === undefined || node === null ? undefined : /** @type {Json} */ (node)[key],
      source,
    );
}

/**
 * Whether a field applies to the workload and method: hidden ones are left out of the request.
 * @param {string} name
 * @param {string} workload
 * @param {string} method
 */
export function fieldApplies(name, workload, method) {
  if (name.startsWith('inference.')) return workload === 'inference';
  if (name.startsWith('training.lora.')) return workload === 'training' && method !== 'full';
  const trainingOnly =
    name.startsWith('training.') ||
    name === 'parallelism.zeroStage' ||
    name.startsWith('parallelism.offload.');
  return trainingOnly ? workload === 'training' : true;
}

/**
 * One field's text as the request carries it: numbers as numbers, LoRA targets as a list.
 * @param {FieldValue} field
 * @returns {unknown}
 */
function fieldValue(field) {
  const raw = field.value.trim();
  if (field.numeric) return Number(raw);
  // Switches (sequence parallel) are selects of 'true' and 'false'; no request text takes those.
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (field.name === 'training.lora.targetModules')
    return raw === 'all-linear' ? raw : raw.split(',');
  return raw;
}

/**
 * The request the fields describe; empty and non-applying fields are left out.
 * @param {FieldValue[]} fields
 * @returns {PlanRequestInput}
 */
export function buildRequest(fields) {
  const workload = fields.find((f) => f.name === 'workload')?.value ?? 'training';
  const method = fields.find((f) => f.name === 'training.method')?.value ?? 'full';
  /** @type {Json} */
  const request = {};
  for (const field of fields) {
    if (field.value.trim() === '' || !fieldApplies(field.name, workload, method)) continue;
    setPath(request, field.name, fieldValue(field));
  }
  return /** @type {PlanRequestInput} */ (/** @type {unknown} */ (request));
}

/**
 * Comma-separated tags as a list, blanks dropped.
 * @param {string} text
 */
export function parseTags(text) {
  return text
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
}

/**
 * The body of POST /plans: the request with the name and tags typed beside it.
 * @param {PlanRequestInput} request
 * @param {string} name
 * @param {string} tagsText
 */
export function saveBody(request, name, tagsText) {
  const tags = parseTags(tagsText);
  return {
    ...request,
    ...(name.trim() ? { name: name.trim() } : {}),
    ...(tags.length > 0 ? { tags } : {}),
  };
}

/**
 * The body of POST /plans/search for the form's request: the model, cluster, training and runtime
 * as given; the API chooses the layout, ZeRO stage, recomputation and micro-batch itself.
 * @param {PlanRequestInput} request
 * @param {string} objective
 * @param {number} top
 */
export function searchBody(request, objective, top) {
  const training = { ...request.training };
  delete training.microBatchSize;
  delete training.activationCheckpointing;
  return {
    model: request.model,
    cluster: request.cluster,
    training,
    runtime: request.runtime,
    objective,
    top,
  };
}

/**
 * The body of POST /plans/gpus-needed for the form's request: the job and the GPU type, in nodes
 * of the form's GPUs per node when it names more than one; the API chooses the count and layout.
 * @param {PlanRequestInput} request
 */
export function gpusNeededBody(request) {
  const { model, training, runtime } = searchBody(request, '', 0);
  const perNode = request.cluster.gpusPerNode;
  return {
    model,
    cluster: {
      gpu: request.cluster.gpu,
      ...(perNode && perNode > 1 ? { gpusPerNode: perNode } : {}),
    },
    training,
    runtime,
  };
}

/**
 * The request a shared link (#plan=...) carries, or null when there is none or it is broken.
 * @param {string} hash
 * @returns {Json | null}
 */
export function requestFromHash(hash) {
  const match = /^#plan=(.+)$/.exec(hash);
  if (!match) return null;
  try {
    const value = JSON.parse(decodeURIComponent(match[1]));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** @typedef {import('../../src/application/vocabulary').Vocabulary} Vocabulary */

/**
 * A request holding every default the API fills in, for the form to start from. Of the runtime
 * only the preset: the knobs it sets (the loss among them) stay the preset's until chosen; and
 * sequence parallelism unset, so that a search may turn it on with tensor parallelism.
 * @param {Vocabulary['defaults']} defaults
 * @returns {Json}
 */
export function defaultRequest(defaults) {
  const { sequenceParallel: _unset, ...parallelism } = defaults.parallelism;
  return {
    workload: defaults.workload,
    cluster: defaults.cluster,
    training: { ...defaults.training, lora: defaults.lora, qlora: defaults.qlora },
    parallelism,
    runtime: { preset: defaults.runtime.preset },
    inference: defaults.inference,
  };
}

/**
 * A request in a few words, to say which plan a panel was made for:
 * "llama-3-8b on 1 x 8 a100-80gb, ZeRO-3, sequence 4096".
 * @param {PlanRequestInput} request
 */
export function requestSummary(request) {
  const model = typeof request.model === 'string' ? request.model : 'an inline model';
  const { nodes = '?', gpusPerNode = '?', gpu } = request.cluster;
  const parts = [`${model} on ${nodes} x ${gpusPerNode} ${gpu}`];
  if (request.workload === 'inference') parts.push('serving');
  else {
    if (request.parallelism?.zeroStage !== undefined)
      parts.push(`ZeRO-${request.parallelism.zeroStage}`);
    if (request.training?.sequenceLength) parts.push(`sequence ${request.training.sequenceLength}`);
  }
  return parts.join(', ');
}
