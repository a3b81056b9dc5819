// The flags of `shardplan search` -> the engine's SearchInput (the body of POST /plans/search).
import { CliUsageError, ParsedArgs } from './args';

/** Parallel settings the search chooses itself, so a flag for them would be ignored. */
const SEARCHED = [
  'zeroStage',
  'tensorParallel',
  'pipelineParallel',
  'contextParallel',
  'expertParallel',
];
/** Training settings the search tries every value of. */
const SEARCHED_TRAINING = ['microBatchSize', 'activationCheckpointing'];

function numeral(value: string | boolean | undefined): unknown {
  if (typeof value !== 'string') return value;
  return /^\d+$/.test(value.trim()) ? Number(value) : value;
}

/** `2`, `1,2,4` or `1-4` (a range) for --nodes; anything else is left for the engine to word. */
export function nodeChoice(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(value);
  if (range) return { min: Number(range[1]), max: Number(range[2]) };
  if (/^\s*\d+(\s*,\s*\d+)+\s*$/.test(value)) return value.split(',').map(Number);
  return value;
}

/** The search the flags (over a --file request) describe; errors name the flags it cannot use. */
export function searchInputOf(
  request: Record<string, unknown>,
  args: ParsedArgs,
): Record<string, unknown> {
  const parallelism = { ...((request.parallelism as Record<string, unknown>) ?? {}) };
  const chosen = SEARCHED.filter((key) => parallelism[key] !== undefined);
  if (chosen.length > 0) {
    throw new CliUsageError(
      chosen.map((key) => ({
        field: `parallelism.${key}`,
        message: `search chooses ${key} itself; leave it out`,
      })),
    );
  }
  delete parallelism.offload;
  const training = { ...((request.training as Record<string, unknown>) ?? {}) };
  for (const key of SEARCHED_TRAINING) delete training[key];

  const cluster = { ...((request.cluster as Record<string, unknown>) ?? {}) };
  const { gpus, objective, top } = args.toolFlags;
  if (gpus !== undefined) cluster.gpus = numeral(gpus);
  else cluster.nodes = nodeChoice(cluster.nodes ?? 1);

  const search: Record<string, unknown> = { ...request, cluster, training };
  if (Object.keys(parallelism).length > 0) search.parallelism = parallelism;
  else delete search.parallelism;
  delete search.name;
  delete search.tags;
  if (objective !== undefined) search.objective = objective;
  if (top !== undefined) search.top = numeral(top);
  if (args.toolFlags['global-batch'] !== undefined)
    search.globalBatchSize = numeral(args.toolFlags['global-batch']);
  if (args.toolFlags['max-mb'] !== undefined)
    search.maxMicroBatchSize = numeral(args.toolFlags['max-mb']);
  if (args.toolFlags['allow-offload']) search.allowOffload = true;
  return search;
}
