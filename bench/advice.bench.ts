// `npm run bench:advice`: what advice and the GPU count cost on top of one plan, in one run.
// Each request is planned once to warm up, then timed over a few repetitions (median).
import { loadCatalog } from '../src/catalog/catalog';
import { estimateWithAdvice } from '../src/application/advice';
import { estimatePlan } from '../src/application/estimate';
import { gpusNeeded } from '../src/application/gpus-needed';
import { PlanRequestInput } from '../src/engine';

const catalog = loadCatalog();
const REPEATS = 5;

const PLANS: Record<string, PlanRequestInput> = {
  'Llama-3.1-70B QLoRA 2k, 1 x L40S': {
    model: 'llama-3.1-70b',
    cluster: { gpu: 'l40s' },
    training: { method: 'qlora', sequenceLength: 2048 },
  },
  'Llama-3-8B mb 4, DDP 8 x A100': {
    model: 'llama-3-8b',
    cluster: { gpu: 'a100-80gb', gpusPerNode: 8 },
    training: { microBatchSize: 4 },
  },
  'Llama-3-70B 8k, ZeRO-3 8 x H100': {
    model: 'llama-3-70b',
    cluster: { gpu: 'h100-80gb', gpusPerNode: 8 },
    training: { sequenceLength: 8192 },
    parallelism: { zeroStage: 3 },
  },
  'Llama-3.1-405B 4k, 1 x L4': { model: 'llama-3.1-405b', cluster: { gpu: 'l4' } },
};

/** Median wall time of `run` in milliseconds, after one warm-up call. */
function median(run: () => unknown): number {
  run();
  const times = Array.from({ length: REPEATS }, () => {
    const start = process.hrtime.bigint();
    run();
    return Number(process.hrtime.bigint() - start) / 1e6;
  });
  return times.sort((a, b) => a - b)[Math.floor(REPEATS / 2)];
}

console.log(
  'plan                              plan ms  with advice ms  ratio  pieces  GPUs needed ms  fewest',
);
for (const [name, input] of Object.entries(PLANS)) {
  const plain = median(() => estimatePlan(input, catalog));
  const advised = median(() => estimateWithAdvice(input, catalog));
  const pieces = estimateWithAdvice(input, catalog).advice?.length ?? 0;
  const question = {
    model: input.model,
    cluster: { gpu: input.cluster.gpu },
    training: input.training,
  };
  const counting = median(() => gpusNeeded(question, catalog));
  const fewest = gpusNeeded(question, catalog).fewest?.gpus ?? 'none';
  console.log(
    `${name.padEnd(32)}  ${plain.toFixed(1).padStart(7)}  ${advised.toFixed(0).padStart(14)}  ${(advised / plain).toFixed(0).padStart(5)}  ${String(pieces).padStart(6)}  ${counting.toFixed(0).padStart(14)}  ${fewest}`,
  );
}
