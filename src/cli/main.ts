// `shardplan`: plan, compare, search and list plans from a terminal, locally or against a server.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { PlanResult, PlanValidationError } from '../engine';
import {
  CliUsageError,
  DEFAULT_VARY,
  parseArgs,
  ParsedArgs,
  PLAN_FLAGS,
  requestFromFlags,
  TOOL_FLAGS,
} from './args';
import { renderAllocatorReplay, replayTraceFile } from './allocator-replay';
import { searchInputOf } from './search-input';
import { Backend, SearchOutcome } from './backend';
import { ApiProblemError, HttpBackend } from './http-backend';
import { ProgressBar, ProgressStream } from './progress';
import {
  renderCompare,
  renderFieldErrors,
  renderGpusNeeded,
  renderPlan,
  renderSavedPlans,
  renderSearch,
  renderSummary,
  renderTable,
} from './table';

export interface CliIo {
  stdout: ProgressStream;
  stderr: ProgressStream;
  readFile(path: string): string;
  /** Builds the in-process engine backend; loaded lazily so --server runs never read the catalog. */
  localBackend(): Promise<Backend>;
}

/** Exit statuses: scripts can tell bad input from a server that could not be reached, and (with
 * plan --fail-if-not-fit) a plan that does not fit from one that does. */
export const EXIT = { ok: 0, invalid: 1, usage: 2, failure: 3, notFit: 4 } as const;

const USAGE = `shardplan: per-GPU memory, speed and cost of LLM training and inference plans

usage:
  shardplan plan    --model llama-3-8b --gpu a100-80gb --nodes 1 --gpus-per-node 8 [flags]
  shardplan plan    --file request.json [flags override the file]
  shardplan plan    ... --tokens 2e9 --save --name NAME --tag TAG --server URL [--fail-if-not-fit]
  shardplan compare [--vary zeroStage] [plan flags]
  shardplan search  --model llama-3-70b --gpu h100-80gb --nodes 1-4 [--objective cost] [flags]
  shardplan gpus-needed --model llama-3.1-70b --gpu l40s --method qlora [--max-gpus 64]
  shardplan plans list [--tag TAG] [--limit N] --server URL
  shardplan plans summary [--tag TAG] --server URL
  shardplan plans export --csv [--tag TAG] --server URL
  shardplan models add config.json [--id my-model] [--server URL]
  shardplan allocator replay trace.csv.gz [--json]

Without --server the engine runs in this process; with it, the server's API does the work.
Exit status: 0 done, 1 the request cannot be planned, 2 bad arguments, 3 no answer (a server
that cannot be reached, an internal error), 4 plan --fail-if-not-fit and the plan does not fit.`;

function helpText(): string {
  const rows = [
    ...Object.entries(PLAN_FLAGS).map(([name, flag]) => [`--${name}`, flag.field, flag.help]),
    ...Object.entries(TOOL_FLAGS).map(([name, flag]) => [`--${name}`, '', flag.help]),
  ];
  return `${USAGE}\n\n${renderTable(['flag', 'request field', 'meaning'], rows)}\n`;
}

function print(io: CliIo, text: string): void {
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printJson(io: CliIo, value: unknown): void {
  print(io, JSON.stringify(value, null, 2));
}

async function backendFor(args: ParsedArgs, io: CliIo): Promise<Backend> {
  const server = args.toolFlags.server;
  return typeof server === 'string' ? new HttpBackend(server) : io.localBackend();
}

function readJsonFile(io: CliIo, path: string, field: string): Record<string, unknown> {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (error) {
    throw new CliUsageError([
      { field, message: `cannot read ${path}: ${(error as Error).message}` },
    ]);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new CliUsageError([
      { field, message: `${path} is not a JSON object: ${(error as Error).message}` },
    ]);
  }
}

/** The request of `plan`, `compare` and `search`: --file's contents with the flags laid over them. */
function requestOf(args: ParsedArgs, io: CliIo): Record<string, unknown> {
  const file = args.toolFlags.file;
  const base = typeof file === 'string' ? readJsonFile(io, file, 'file') : {};
  const request = requestFromFlags(args.planFlags, base);
  const modelConfig = args.toolFlags['model-config'];
  if (typeof modelConfig === 'string') {
    // An inline model, as the API takes it: the config.json under an id named after the file.
    request.model = {
      id: basename(modelConfig, '.json'),
      config: readJsonFile(io, modelConfig, 'model'),
    };
  }
  return request;
}

function limitOf(args: ParsedArgs): number | undefined {
  const raw = args.toolFlags.limit;
  if (raw === undefined) return undefined;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new CliUsageError([
      { field: 'limit', message: `limit (${String(raw)}) must be a positive integer` },
    ]);
  }
  return limit;
}

/** The request of `plan --save`: --tag adds a tag to those of --tags or the file. */
function labelled(request: Record<string, unknown>, args: ParsedArgs): Record<string, unknown> {
  const tag = args.toolFlags.tag;
  if (typeof tag !== 'string') return request;
  const tags = Array.isArray(request.tags) ? (request.tags as unknown[]) : [];
  return { ...request, tags: [...tags, tag] };
}

async function planCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  if (args.toolFlags.save && typeof args.toolFlags.server !== 'string') {
    throw new CliUsageError([
      { field: 'server', message: 'plans are saved on a server: add --server http://host:3000' },
    ]);
  }
  const backend = await backendFor(args, io);
  const request = requestOf(args, io);
  let result: PlanResult;
  if (args.toolFlags.save) {
    const saved = await backend.savePlan(labelled(request, args));
    result = saved.plan;
    // stdout stays the plan (JSON for scripts); where it was saved goes beside it.
    io.stderr.write(`saved as '${saved.plan.name}' (id ${saved.plan.id}): ${saved.url}\n`);
  } else {
    result = await backend.estimate(request);
  }
  if (args.toolFlags.json) printJson(io, result);
  else print(io, renderPlan(result));
  const failsCheck = args.toolFlags['fail-if-not-fit'] && !result.memory.perGpu.fits;
  return failsCheck ? EXIT.notFit : EXIT.ok;
}

async function compareCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const vary = typeof args.toolFlags.vary === 'string' ? args.toolFlags.vary : DEFAULT_VARY;
  const backend = await backendFor(args, io);
  const rows = await backend.compare(requestOf(args, io), vary);
  if (args.toolFlags.json) printJson(io, { rows });
  else print(io, renderCompare(rows));
  return EXIT.ok;
}

async function searchCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const input = searchInputOf(requestOf(args, io), args);
  const backend = await backendFor(args, io);
  const bar = new ProgressBar(io.stderr);
  let outcome: SearchOutcome;
  try {
    outcome = await backend.search(input, (done, total) => bar.update(done, total));
  } finally {
    bar.finish();
  }
  if (args.toolFlags.json) {
    printJson(io, outcome);
  } else {
    const counts = outcome.counts;
    const summary = counts
      ? `${counts.feasible} of ${counts.evaluated} planned layouts fit (${counts.candidates} in the search space, ${counts.boundEvaluated} bounded, ${counts.pruned} pruned); best ${outcome.results.length}:`
      : `${outcome.results.length} layouts fit:`;
    const warnings = (outcome.warnings ?? []).map((w) => `  - ${w}`);
    const notes = warnings.length > 0 ? `\n\nwarnings:\n${warnings.join('\n')}` : '';
    print(io, `${summary}\n${renderSearch(outcome.results)}${notes}`);
  }
  return EXIT.ok;
}

const PLANS_COMMANDS = ['list', 'summary', 'export'];

async function plansCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const [, sub] = args.positionals;
  if (!PLANS_COMMANDS.includes(sub)) {
    throw new CliUsageError([
      {
        field: '',
        message: `unknown plans command '${sub ?? ''}'; one of: ${PLANS_COMMANDS.join(', ')} (shardplan plans list --server URL)`,
      },
    ]);
  }
  if (typeof args.toolFlags.server !== 'string') {
    throw new CliUsageError([
      { field: 'server', message: 'saved plans live on a server: add --server http://host:3000' },
    ]);
  }
  const tag = typeof args.toolFlags.tag === 'string' ? args.toolFlags.tag : undefined;
  const backend = await backendFor(args, io);
  if (sub === 'export') {
    print(io, await backend.exportPlansCsv({ tag }));
  } else if (sub === 'summary') {
    const summary = await backend.summarizePlans({ tag });
    if (args.toolFlags.json) printJson(io, summary);
    else print(io, renderSummary(summary));
  } else {
    const plans = await backend.listPlans({ tag, limit: limitOf(args) });
    if (args.toolFlags.json) printJson(io, plans);
    else print(io, renderSavedPlans(plans));
  }
  return EXIT.ok;
}

/** `gpus-needed`: the plan flags' job, a GPU type, and how far to look (--max-gpus). */
async function gpusNeededCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const { name: _name, tags: _tags, ...request } = requestOf(args, io);
  const { nodes: _nodes, ...cluster } = (request.cluster ?? {}) as Record<string, unknown>;
  const maxGpus = args.toolFlags['max-gpus'];
  if (maxGpus !== undefined)
    cluster.maxGpus = /^\d+$/.test(String(maxGpus)) ? Number(maxGpus) : maxGpus;
  const backend = await backendFor(args, io);
  const answer = await backend.gpusNeeded({ ...request, cluster });
  if (args.toolFlags.json) printJson(io, answer);
  else print(io, renderGpusNeeded(answer));
  return EXIT.ok;
}

async function modelsCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const [, sub, path] = args.positionals;
  if (sub !== 'add' || !path) {
    throw new CliUsageError([
      {
        field: '',
        message: 'usage: shardplan models add config.json [--id my-model] [--server URL]',
      },
    ]);
  }
  const config = readJsonFile(io, path, 'config');
  const id = typeof args.toolFlags.id === 'string' ? args.toolFlags.id : basename(path, '.json');
  const backend = await backendFor(args, io);
  const added = await backend.addModel(id, config);
  if (args.toolFlags.json) printJson(io, added);
  else print(io, renderAddedModel(id, added));
  return EXIT.ok;
}

function renderAddedModel(id: string, added: unknown): string {
  const model = (added ?? {}) as { id?: string; parameters?: { total?: number }; stored?: boolean };
  const total = model.parameters?.total;
  const count = total ? `: ${total.toLocaleString('en-US')} parameters` : '';
  if (model.stored === false) {
    return (
      `model '${model.id ?? id}' is valid${count}.\n` +
      "Nothing was stored: add --server URL to put it in a server's catalog, " +
      'or plan with it directly: --model-config config.json'
    );
  }
  return `model '${model.id ?? id}' added${count}`;
}

/** `allocator replay`: the simulated caching allocator against a recorded allocator trace. */
async function allocatorCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const [, sub, path] = args.positionals;
  if (sub !== 'replay' || !path) {
    throw new CliUsageError([
      { field: '', message: 'usage: shardplan allocator replay trace.csv.gz [--json]' },
    ]);
  }
  const report = replayTraceFile(path);
  if (args.toolFlags.json) printJson(io, report);
  else print(io, renderAllocatorReplay(report));
  return EXIT.ok;
}

const COMMANDS: Record<string, (args: ParsedArgs, io: CliIo) => Promise<number>> = {
  plan: planCommand,
  compare: compareCommand,
  search: searchCommand,
  'gpus-needed': gpusNeededCommand,
  plans: plansCommand,
  models: modelsCommand,
  allocator: allocatorCommand,
};

/** Runs one command line; returns the exit status instead of exiting, so specs can call it. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  try {
    const args = parseArgs(argv);
    const command = args.positionals[0];
    if (!command || args.toolFlags.help) {
      print(io, helpText());
      return command || args.toolFlags.help ? EXIT.ok : EXIT.usage;
    }
    const handler = COMMANDS[command];
    if (!handler) {
      throw new CliUsageError([
        {
          field: '',
          message: `unknown command '${command}'; one of: ${Object.keys(COMMANDS).join(', ')}`,
        },
      ]);
    }
    return await handler(args, io);
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CliUsageError) {
    io.stderr.write(`usage:\n${renderFieldErrors(error.errors)}\n`);
    return EXIT.usage;
  }
  // The application's shape errors (RequestShapeError) are PlanValidationErrors too.
  if (error instanceof PlanValidationError) {
    io.stderr.write(`invalid request:\n${renderFieldErrors(error.errors)}\n`);
    return EXIT.invalid;
  }
  if (error instanceof ApiProblemError) {
    const detail = error.errors.length > 0 ? renderFieldErrors(error.errors) : `  ${error.title}`;
    io.stderr.write(`the server refused (${error.status}):\n${detail}\n`);
    return error.status < 500 ? EXIT.invalid : EXIT.failure;
  }
  io.stderr.write(`shardplan: ${(error as Error).message ?? String(error)}\n`);
  return EXIT.failure;
}

/** The process entry: real streams and files, the engine loaded only when no --server is given. */
export function main(argv: string[]): Promise<number> {
  return run(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    readFile: (path) => readFileSync(path, 'utf8'),
    localBackend: async () => new (await import('./local-backend')).LocalBackend(),
  });
}
