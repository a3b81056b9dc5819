// `npm run bench:engine`: wall time of the engine's own work, no HTTP. One estimate (Llama-3-8B
// on 8 GPUs; Llama-3.1-405B at TP 8 x PP 16 with 128 micro-batches; Llama-3-70B at TP 8 x PP 64
// with one), a comparison over the four ZeRO stages, and the layout search at 64, 1,024 and
// 4,096 GPUs, pruned and exhaustive.
// "Cold" requests differ from every earlier one (the safety margin moves by a byte, which the
// simulation memo keys on and no plan notices), so the memo of simulateRank misses; "memo" repeats
// one request, which is what a refreshed page or a repeated API call costs.
import { availableParallelism } from 'node:os';
import { comparePlans } from '../src/application/compare';
import { estimatePlan, simulateAhead } from '../src/application/estimate';
import { searchPlans, searchPlansAhead } from '../src/application/search';
import {
  closeSharedSimulationThreads,
  sharedSimulationThreads,
} from '../src/application/simulation-threads';
import { loadCatalog, resolveGpu, resolveModel } from '../src/catalog/catalog';
import { PlanRequestInput, searchLayouts, SearchResult } from '../src/engine';
import { median, printTable, timed, timedAsync } from './support';

const catalog = loadCatalog();
const GIB = 2 ** 30;
// Timed repetitions per estimate row; the median is printed.
const REPEATS = 7;
// Untimed cold estimates first, so the timed ones run compiled code.
const WARM_UPS = 5;
// Searches per search row, each cold; the median is printed.
const SEARCH_REPEATS = 3;
// The engine's default safety margin (1 GiB); cold requests add a byte each.
let margin = GIB;
const cold = (input: PlanRequestInput): PlanRequestInput => ({
  ...input,
  runtime: { ...input.runtime, safetyMarginBytes: ++margin },
});

const LLAMA_8B: PlanRequestInput = {
  model: 'llama-3-8b',
  cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 },
  training: { sequenceLength: 4096, microBatchSize: 1 },
  parallelism: { zeroStage: 3 },
};
const LLAMA_405B_PIPELINE: PlanRequestInput = {
  model: 'llama-3.1-405b',
  cluster: { gpu: 'h100-80gb', nodes: 16, gpusPerNode: 8 },
  training: {
    sequenceLength: 8192,
    microBatchSize: 1,
    gradientAccumulationSteps: 128,
    activationCheckpointing: 'full',
  },
  parallelism: { tensorParallel: 8, pipelineParallel: 16, sequenceParallel: true },
};

// Fewer micro-batches than stages: the middle ranks run the same schedule and share one
// simulation (memory/rank.ts rankShape).
const LLAMA_70B_DEEP_PIPELINE: PlanRequestInput = {
  model: 'llama-3-70b',
  cluster: { gpu: 'h100-80gb', nodes: 64, gpusPerNode: 8 },
  training: { sequenceLength: 8192, microBatchSize: 1, activationCheckpointing: 'full' },
  parallelism: { tensorParallel: 8, pipelineParallel: 64, sequenceParallel: true },
};

function estimateRow(label: string, input: PlanRequestInput, fresh: boolean): string[] {
  // JIT warm-up on the same path, then the timed runs.
  for (let i = 0; i < WARM_UPS; i++) timed(() => estimatePlan(cold(input), catalog));
  const runs = Array.from({ length: REPEATS }, () =>
    timed(() => estimatePlan(fresh ? cold(input) : input, catalog)),
  );
  const failed = runs.find((run) => run.error);
  if (failed) return [label, 'error', '', failed.error!];
  const plan = runs[0].value!;
  const used = (plan.memory.perGpu.deviceUsedBytes / GIB).toFixed(1);
  const ms = (key: 'ms' | 'cpuMs') => median(runs.map((run) => run[key])).toFixed(1);
  return [label, ms('ms'), ms('cpuMs'), `device used ${used} GiB`];
}

function compareRow(): string[] {
  const label = 'compare: ZeRO 0-3, Llama-3-8B on 8 GPUs (cold)';
  const run = timed(() => comparePlans({ base: cold(LLAMA_8B), vary: 'zeroStage' }, catalog));
  if (run.error) return [label, 'error', '', run.error];
  return [label, run.ms.toFixed(1), run.cpuMs.toFixed(1), `${run.value!.rows.length} rows`];
}

const SEARCH_MODEL = 'llama-3-70b';
const searchContext = {
  arch: resolveModel(catalog, SEARCH_MODEL),
  gpu: resolveGpu(catalog, 'h100-80gb'),
};

function searchRow(gpus: number, exhaustive: boolean): string[] {
  const label = `search ${gpus} GPUs, ${exhaustive ? 'exhaustive' : 'pruned'} (cold)`;
  const runs = Array.from({ length: SEARCH_REPEATS }, () =>
    timed(() =>
      searchLayouts(
        {
          model: SEARCH_MODEL,
          cluster: { gpu: 'h100-80gb', gpus, gpusPerNode: 8 },
          training: { method: 'full', sequenceLength: 8192 },
          runtime: { safetyMarginBytes: ++margin },
          exhaustive,
        },
        (input) => estimatePlan(input, catalog),
        searchContext,
      ),
    ),
  );
  const failed = runs.find((run) => run.error);
  if (failed) return [label, 'error', '', failed.error!];
  const ms = (key: 'ms' | 'cpuMs') => median(runs.map((run) => run[key])).toFixed(0);
  return [label, ms('ms'), ms('cpuMs'), searchNote(runs[0].value!)];
}

function searchNote(found: SearchResult): string {
  const c = found.counts;
  const best = found.results[0];
  const top = best ? `best ${best.label}` : 'none fits';
  return `${c.candidates} candidates, ${c.boundEvaluated} bounded (${c.boundProbes} probes), ${c.planned} planned, ${c.feasible} fit; ${top}`;
}

console.log('Engine, one process, no HTTP: milliseconds (median of 7 for estimates)\n');
printTable(
  ['case', 'wall ms', 'cpu ms', 'notes'],
  [
    estimateRow('estimate Llama-3-8B, 8 x H100, ZeRO-3 (cold)', LLAMA_8B, true),
    estimateRow('estimate Llama-3-8B, 8 x H100, ZeRO-3 (memo)', LLAMA_8B, false),
    estimateRow('estimate Llama-3.1-405B, TP 8 x PP 16, 128 mb (cold)', LLAMA_405B_PIPELINE, true),
    estimateRow('estimate Llama-3-70B, TP 8 x PP 64, 1 mb (cold)', LLAMA_70B_DEEP_PIPELINE, true),
    compareRow(),
  ],
);
console.log(
  '\nLayout search (median of 3 cold searches): Llama-3-70B full fine-tuning, 8,192 tokens, H100 80GB, objective throughput\n',
);
searchRow(8, true); // JIT warm-up on the same path
const searchRows: string[][] = [];
for (const gpus of [64, 1024, 4096]) {
  for (const exhaustive of [false, true]) searchRows.push(searchRow(gpus, exhaustive));
}
printTable(['case', 'wall ms', 'cpu ms', 'notes'], searchRows);

// The same work on the simulation threads (src/application/simulation-threads.ts): a thread
// per core unless SHARDPLAN_SIMULATION_THREADS says otherwise. Each row alternates the serving
// thread alone with the threads, cold each time, so both see the same machine.
process.env.SHARDPLAN_SIMULATION_THREADS ??= String(availableParallelism());
const THREADED_REPEATS = 5;

async function threadedRow(
  label: string,
  alone: () => unknown,
  onThreads: () => Promise<unknown>,
): Promise<string[]> {
  const one: number[] = [];
  const threaded: number[] = [];
  for (let i = 0; i < THREADED_REPEATS; i++) {
    one.push(timed(alone).ms);
    threaded.push((await timedAsync(onThreads)).ms);
  }
  const a = median(one);
  const b = median(threaded);
  return [label, a.toFixed(0), b.toFixed(0), (a / b).toFixed(2)];
}

const search1024 = (exhaustive: boolean) => ({
  model: SEARCH_MODEL,
  cluster: { gpu: 'h100-80gb', gpus: 1024, gpusPerNode: 8 },
  training: { method: 'full' as const, sequenceLength: 8192 },
  runtime: { safetyMarginBytes: ++margin },
  exhaustive,
});

async function threadedRows(): Promise<void> {
  const threads = sharedSimulationThreads()!;
  console.log(
    `\nOn ${threads.size} simulation threads (${availableParallelism()} cores): wall ms, median of ${THREADED_REPEATS} cold runs each, alternating\n`,
  );
  const ahead = async (input: PlanRequestInput) => {
    await simulateAhead([input], catalog);
    return estimatePlan(input, catalog);
  };
  // Warm-up: start the threads and compile the simulation in each.
  for (let i = 0; i < WARM_UPS; i++) await ahead(cold(LLAMA_405B_PIPELINE));
  await searchPlansAhead(search1024(true), catalog);
  const rows = [
    await threadedRow(
      'estimate Llama-3.1-405B, TP 8 x PP 16, 128 mb',
      () => estimatePlan(cold(LLAMA_405B_PIPELINE), catalog),
      () => ahead(cold(LLAMA_405B_PIPELINE)),
    ),
    await threadedRow(
      'search 1,024 GPUs, pruned',
      () => searchPlans(search1024(false), catalog),
      () => searchPlansAhead(search1024(false), catalog),
    ),
    await threadedRow(
      'search 1,024 GPUs, exhaustive',
      () => searchPlans(search1024(true), catalog),
      () => searchPlansAhead(search1024(true), catalog),
    ),
  ];
  printTable(['case', 'one thread', 'threads', 'speed-up'], rows);
  await closeSharedSimulationThreads();
}

void threadedRows();
