// The flags of `shardplan search` -> the body of POST /plans/search. What the search keeps or
// chooses is src/application/search.ts's rule, which warns about settings it did not use.
import { ParsedArgs } from './args';

/** Labels of a saved plan, which a search has no use for (a --file request may carry them). */
const PLAN_LABELS = ['name', 'tags'];

function numeral(value: string | boolean | undefined): unknown {
  if (typeof value !== 'string') return value;
  return /^\d+$/.test(value.trim()) ? Number(value) : value;
}

/** `2`, `1,2,4` or `1-4` (a range) for --nodes; anything else is left for the checks to word. */
export function nodeChoice(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(value);
  if (range) return { min: Number(range[1]), max: Number(range[2]) };
  if (/^\s*\d+(\s*,\s*\d+)+\s*$/.test(value)) return value.split(',').map(Number);
  return value;
}

/** The search's own knobs, from the tool flags that set them. */
function searchKnobs(args: ParsedArgs): Record<string, unknown> {
  const flags = args.toolFlags;
  const knobs: Record<string, unknown> = {
    objective: flags.objective,
    top: numeral(flags.top),
    globalBatchSize: numeral(flags['global-batch']),
    maxMicroBatchSize: numeral(flags['max-mb']),
    allowOffload: flags['allow-offload'] ? true : undefined,
    exhaustive: flags.exhaustive ? true : undefined,
  };
  return Object.fromEntries(Object.entries(knobs).filter(([, value]) => value !== undefined));
}

/** The search the flags (over a --file request) describe: the cluster as a GPU count or node
 * counts (one node by default), the request's other sections as given. */
export function searchInputOf(
  request: Record<string, unknown>,
  args: ParsedArgs,
): Record<string, unknown> {
  const cluster = { ...((request.cluster as Record<string, unknown>) ?? {}) };
  const gpus = args.toolFlags.gpus;
  if (gpus !== undefined) cluster.gpus = numeral(gpus);
  else cluster.nodes = nodeChoice(cluster.nodes ?? 1);
  const search: Record<string, unknown> = { ...request, cluster, ...searchKnobs(args) };
  for (const label of PLAN_LABELS) delete search[label];
  return search;
}
