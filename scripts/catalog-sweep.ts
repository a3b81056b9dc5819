// Every catalog model through every entry point a user has: an estimate under each framework
// preset, a layout search for full, LoRA and QLoRA training, gpus-needed, a ZeRO comparison,
// advice on a card it overflows, and a serving plan. A request the planner refuses with a field
// error is fine for an estimate (a preset may not take a model); a search, gpus-needed or a
// comparison must answer, since each picks its own layouts. Anything else (a TypeError, a search
// answering 400) is a fault, and the script exits 1 after listing them.
// Run: npx ts-node --transpile-only scripts/catalog-sweep.ts [model ...]   (about 10 minutes)
import { estimateWithAdvice } from '../src/application/advice';
import { comparePlans } from '../src/application/compare';
import { estimatePlan } from '../src/application/estimate';
import { gpusNeeded } from '../src/application/gpus-needed';
import { searchPlans } from '../src/application/search';
import { loadCatalog } from '../src/catalog/catalog';
import { FRAMEWORK_PRESETS, PlanRequestInput, PlanValidationError } from '../src/engine';
import { sequenceLimit } from '../src/engine/model/positions';

const catalog = loadCatalog();
const chosen = process.argv.slice(2);
const models = catalog.modelIds().filter((id) => chosen.length === 0 || chosen.includes(id));
const METHODS = [
  { method: 'full' as const },
  { method: 'lora' as const, lora: { targetModules: 'all-linear' as const } },
  { method: 'qlora' as const, lora: { targetModules: 'all-linear' as const } },
];

const faults: string[] = [];
let answered = 0;

/** Runs one call; a field error counts as an answer where `mayRefuse`, a fault otherwise. */
function attempt(label: string, mayRefuse: boolean, call: () => unknown): void {
  try {
    call();
    answered += 1;
  } catch (error) {
    if (error instanceof PlanValidationError && mayRefuse) return void (answered += 1);
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    faults.push(`${label}: ${text.slice(0, 300)}`);
  }
}

/** `tokens`, or the most the model's code runs where that is less (GPT-2's 1,024 positions). */
function runnable(model: string, tokens: number): number {
  const arch = catalog.findModel(model);
  return Math.min(tokens, (arch && sequenceLimit(arch)?.tokens) ?? tokens);
}

const started = Date.now();
for (const model of models) {
  const cluster = { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 };
  for (const preset of FRAMEWORK_PRESETS) {
    const input: PlanRequestInput = {
      model,
      cluster,
      training: { sequenceLength: 1024 },
      runtime: { preset },
    };
    attempt(`${model} estimate, preset ${preset}`, true, () => estimatePlan(input, catalog));
  }
  for (const training of METHODS) {
    const search = {
      model,
      cluster: { gpu: 'h100-80gb', gpus: 64 },
      training: { ...training, sequenceLength: runnable(model, 2048) },
    };
    attempt(`${model} search, ${training.method}`, false, () => searchPlans(search, catalog));
    const needed = {
      model,
      cluster: { gpu: 'a100-80gb' },
      training: { ...training, sequenceLength: runnable(model, 2048) },
    };
    attempt(`${model} gpus-needed, ${training.method}`, false, () => gpusNeeded(needed, catalog));
  }
  const base = {
    model,
    cluster: { gpu: 'h100-80gb', nodes: 2, gpusPerNode: 8 },
    training: { sequenceLength: 1024 },
  };
  attempt(`${model} compare zeroStage`, false, () =>
    comparePlans({ base, vary: 'zeroStage' }, catalog),
  );
  const small = {
    model,
    cluster: { gpu: 'l40s', nodes: 1, gpusPerNode: 2 },
    training: { sequenceLength: runnable(model, 4096) },
  };
  attempt(`${model} advice`, true, () => estimateWithAdvice(small, catalog));
  const serving: PlanRequestInput = {
    model,
    workload: 'inference',
    cluster,
    parallelism: { tensorParallel: 1 },
    inference: { batchSize: 32, promptLength: 4096, outputLength: 512 },
  };
  attempt(`${model} serving`, true, () => estimateWithAdvice(serving, catalog));
  console.log(`${model}: done (${Math.round((Date.now() - started) / 1000)} s)`);
}
console.log(`\n${answered} calls answered, ${faults.length} faults`);
for (const fault of faults) console.log(`  ${fault}`);
if (faults.length > 0) process.exitCode = 1;
