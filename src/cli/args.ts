// Command-line arguments -> a command and the PlanRequest the flags describe.
import {
  DEFAULT_CLUSTER,
  FieldError,
  FRAMEWORK_PRESETS,
  KV_CACHE_DTYPES,
  OFFLOAD_TARGETS,
  OPTIMIZERS,
  PRECISIONS,
  RECOMPUTE_MODES,
  SEARCH_OBJECTIVES,
  PREFERENCE_OBJECTIVES,
  TRAINING_METHODS,
  VARY_FIELDS,
  WEIGHT_PRECISIONS,
  WORKLOADS,
  ZERO_STAGES,
} from '../engine';

/** What `shardplan compare` varies when --vary is not given: the ZeRO stages, the API's shortcut. */
export const DEFAULT_VARY = 'zeroStage';

/** The values of a closed set as help text: `full | lora | qlora`. */
const oneOf = (values: readonly unknown[]) => values.join(' | ');

/** How one `--flag` reaches the request: the field path it sets and how its text is read. */
interface PlanFlag {
  field: string;
  kind: 'string' | 'integer' | 'number' | 'list' | 'boolean';
  help: string;
}

export const PLAN_FLAGS: Record<string, PlanFlag> = {
  model: { field: 'model', kind: 'string', help: 'catalog id or Hugging Face id, e.g. llama-3-8b' },
  gpu: { field: 'cluster.gpu', kind: 'string', help: 'GPU catalog id, e.g. a100-80gb' },
  nodes: {
    field: 'cluster.nodes',
    kind: 'integer',
    help: `nodes (default ${DEFAULT_CLUSTER.nodes})`,
  },
  'gpus-per-node': {
    field: 'cluster.gpusPerNode',
    kind: 'integer',
    help: `GPUs per node (default ${DEFAULT_CLUSTER.gpusPerNode})`,
  },
  workload: { field: 'workload', kind: 'string', help: oneOf(WORKLOADS) },
  method: { field: 'training.method', kind: 'string', help: oneOf(TRAINING_METHODS) },
  preference: {
    field: 'training.preference',
    kind: 'string',
    help: `preference training: ${oneOf(PREFERENCE_OBJECTIVES)} (dpo: TRL's DPOTrainer; reward: its RewardTrainer; kto: its KTOTrainer)`,
  },
  'precompute-ref': {
    field: 'training.dpo.precomputeReferenceLogProbs',
    kind: 'boolean',
    help: "DPO: the reference's log-probabilities come with the batch (precompute_ref_log_probs)",
  },
  'kto-precompute-ref': {
    field: 'training.kto.precomputeReferenceLogProbs',
    kind: 'boolean',
    help: "KTO: the reference's log-probabilities come with the batch (precompute_ref_log_probs)",
  },
  precision: {
    field: 'training.precision',
    kind: 'string',
    help: oneOf(PRECISIONS),
  },
  optimizer: {
    field: 'training.optimizer',
    kind: 'string',
    help: oneOf(OPTIMIZERS),
  },
  zero: {
    field: 'parallelism.zeroStage',
    kind: 'integer',
    help: `ZeRO stage: ${oneOf(ZERO_STAGES)}`,
  },
  tp: { field: 'parallelism.tensorParallel', kind: 'integer', help: 'tensor-parallel degree' },
  pp: { field: 'parallelism.pipelineParallel', kind: 'integer', help: 'pipeline-parallel degree' },
  cp: { field: 'parallelism.contextParallel', kind: 'integer', help: 'context-parallel degree' },
  ep: {
    field: 'parallelism.expertParallel',
    kind: 'integer',
    help: 'expert-parallel degree (MoE)',
  },
  seq: { field: 'training.sequenceLength', kind: 'integer', help: 'sequence length in tokens' },
  mb: { field: 'training.microBatchSize', kind: 'integer', help: 'micro-batch size per GPU' },
  'grad-accum': {
    field: 'training.gradientAccumulationSteps',
    kind: 'integer',
    help: 'gradient accumulation steps',
  },
  checkpointing: {
    field: 'training.activationCheckpointing',
    kind: 'string',
    help: `activation checkpointing: ${oneOf(RECOMPUTE_MODES)}`,
  },
  'lora-rank': { field: 'training.lora.rank', kind: 'integer', help: 'LoRA rank' },
  'lora-targets': {
    field: 'training.lora.targetModules',
    kind: 'list',
    help: "comma-separated modules or 'all-linear'",
  },
  'lora-dora': {
    field: 'training.lora.useDora',
    kind: 'boolean',
    help: "true | false: DoRA (PEFT's and torchtune's use_dora), a magnitude per output feature",
  },
  preset: {
    field: 'runtime.preset',
    kind: 'string',
    help: oneOf(FRAMEWORK_PRESETS),
  },
  'offload-optimizer': {
    field: 'parallelism.offload.optimizer',
    kind: 'string',
    help: `optimizer offload: ${oneOf(OFFLOAD_TARGETS)}`,
  },
  batch: { field: 'inference.batchSize', kind: 'integer', help: 'inference batch size' },
  prompt: { field: 'inference.promptLength', kind: 'integer', help: 'inference prompt length' },
  output: { field: 'inference.outputLength', kind: 'integer', help: 'inference output length' },
  'weight-precision': {
    field: 'inference.weightPrecision',
    kind: 'string',
    help: `inference weights: ${oneOf(WEIGHT_PRECISIONS)}`,
  },
  'kv-dtype': {
    field: 'inference.kvCacheDtype',
    kind: 'string',
    help: `KV-cache dtype: ${oneOf(KV_CACHE_DTYPES)}`,
  },
  'prefill-chunk': {
    field: 'inference.prefillChunkTokens',
    kind: 'integer',
    help: 'most prompt tokens per prefill forward (chunked prefill)',
  },
  'expandable-segments': {
    field: 'runtime.expandableSegments',
    kind: 'boolean',
    help: 'true | false: PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True for the allocator',
  },
  mfu: { field: 'runtime.mfu', kind: 'number', help: 'assumed model FLOPs utilisation, e.g. 0.4' },
  tokens: {
    field: 'training.tokensToTrain',
    kind: 'number',
    help: 'tokens the whole run trains on, e.g. 2e9: adds GPU-hours, days and cost',
  },
  name: { field: 'name', kind: 'string', help: 'plan name' },
  tags: { field: 'tags', kind: 'list', help: 'comma-separated tags' },
};

/** Flags that steer the tool itself rather than the request. */
export const TOOL_FLAGS: Record<string, { kind: 'string' | 'boolean'; help: string }> = {
  file: { kind: 'string', help: 'read the request from a JSON file (flags override its fields)' },
  'model-config': { kind: 'string', help: "plan with a model's config.json instead of --model" },
  json: { kind: 'boolean', help: 'print JSON instead of tables' },
  server: { kind: 'string', help: 'use a running Shardplan server, e.g. http://localhost:3000' },
  vary: {
    kind: 'string',
    help: `compare: the field to vary (default ${DEFAULT_VARY}): ${oneOf(VARY_FIELDS)}`,
  },
  gpus: { kind: 'string', help: 'search: total GPUs, in nodes of --gpus-per-node (default 8)' },
  objective: { kind: 'string', help: `search: ${oneOf(SEARCH_OBJECTIVES)}` },
  top: { kind: 'string', help: 'search: how many ranked layouts (default 10)' },
  'global-batch': { kind: 'string', help: 'search: sequences per optimizer step' },
  'max-mb': { kind: 'string', help: 'search: largest micro-batch tried (default 8)' },
  'allow-offload': { kind: 'boolean', help: 'search: also try optimizer offload to CPU' },
  exhaustive: {
    kind: 'boolean',
    help: 'search: bound every layout, no pruning rule (finalists still planned in full)',
  },
  tag: {
    kind: 'string',
    help: 'plans list, summary, export: only plans with this tag; plan --save: one more tag',
  },
  limit: { kind: 'string', help: 'plans list: how many rows' },
  save: { kind: 'boolean', help: 'plan: save it on the server (--server), with --name and --tag' },
  'fail-if-not-fit': {
    kind: 'boolean',
    help: 'plan: exit 4 when the plan does not fit its GPUs (for scripts and CI)',
  },
  csv: { kind: 'boolean', help: 'plans export: write CSV (the export format)' },
  'max-gpus': { kind: 'string', help: 'gpus-needed: the largest cluster tried (default 1024)' },
  id: { kind: 'string', help: 'models add: the id to register the model under' },
  help: { kind: 'boolean', help: 'show help' },
};

export interface ParsedArgs {
  /** Words before and between flags: the command, its subcommand and file arguments. */
  positionals: string[];
  /** Raw values of plan flags, by flag name. */
  planFlags: Record<string, string>;
  /** Values of the tool's own flags. */
  toolFlags: Record<string, string | boolean>;
}

/** Raised for arguments the tool cannot read; carries the same shape as the API's field errors. */
export class CliUsageError extends Error {
  constructor(public readonly errors: FieldError[]) {
    super(errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; '));
    this.name = 'CliUsageError';
  }
}

/** Splits argv into positionals and flags; `--flag value` and `--flag=value` both work. */
export function parseArgs(argv: string[]): ParsedArgs {
  const parsed: ParsedArgs = { positionals: [], planFlags: {}, toolFlags: {} };
  const errors: FieldError[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (!token.startsWith('--')) {
      if (token === '-h') parsed.toolFlags.help = true;
      else parsed.positionals.push(token);
      continue;
    }
    const equals = token.indexOf('=');
    const name = token.slice(2, equals === -1 ? undefined : equals);
    const inline = equals === -1 ? undefined : token.slice(equals + 1);
    const tool = TOOL_FLAGS[name];
    if (tool?.kind === 'boolean') {
      parsed.toolFlags[name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    if (!tool && !PLAN_FLAGS[name]) {
      errors.push({ field: name, message: `unknown option --${name}; see shardplan --help` });
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        errors.push({
          field: tool ? name : PLAN_FLAGS[name].field,
          message: `--${name} needs a value`,
        });
        continue;
      }
      value = next;
      i++;
    }
    if (tool) parsed.toolFlags[name] = value;
    else parsed.planFlags[name] = value;
  }
  if (errors.length > 0) throw new CliUsageError(errors);
  return parsed;
}

/**
 * Reads one flag's text as its kind. Text that is not a number stays text, so the request's own
 * checks (the API's DTO, run by the server or in-process) reject it with the API's message.
 */
function readFlag(name: string, raw: string): unknown {
  const flag = PLAN_FLAGS[name];
  switch (flag.kind) {
    case 'integer':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    case 'number':
      return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'list': {
      const items = raw
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
      return name === 'lora-targets' && items.length === 1 && items[0] === 'all-linear'
        ? 'all-linear'
        : items;
    }
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const child = node[key];
    if (typeof child !== 'object' || child === null || Array.isArray(child)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

/** The request the flags describe, laid over `base` (a --file's contents) without changing it. */
export function requestFromFlags(
  planFlags: Record<string, string>,
  base: Record<string, unknown> = {},
): Record<string, unknown> {
  const request = structuredClone(base);
  for (const [name, raw] of Object.entries(planFlags))
    setPath(request, PLAN_FLAGS[name].field, readFlag(name, raw));
  return request;
}
