// `npx ts-node --transpile-only bench/pipeline.bench.ts`: wall time of planning a pipelined run
// (every stage simulated as a timeline) and how many micro-batches each rank's simulation runs
// against the step's count, for Llama-3.1-405B at TP 8 x PP 16 under torchtitan's FSDP2.
import { loadCatalog } from '../src/catalog/catalog';
import { estimatePlan } from '../src/application/estimate';
import { rankActions, truncateSchedule } from '../src/engine/memory/schedule';
import { PipelineSchedule } from '../src/engine';

const WARM_UP = 1;
const TIMED = 3;
const catalog = loadCatalog();

function milliseconds(microBatches: number, schedule: PipelineSchedule, virtualStages: number) {
  const input = {
    model: 'llama-3.1-405b',
    cluster: { gpu: 'h100-80gb', nodes: 64, gpusPerNode: 8 },
    training: {
      microBatchSize: 1,
      sequenceLength: 8192,
      gradientAccumulationSteps: microBatches,
      activationCheckpointing: 'full' as const,
    },
    parallelism: {
      zeroStage: 3 as const,
      tensorParallel: 8,
      pipelineParallel: 16,
      pipelineSchedule: schedule,
      virtualStages,
      sequenceParallel: true,
    },
    runtime: { preset: 'torchtitan' as const },
  };
  for (let i = 0; i < WARM_UP; i++) estimatePlan(input, catalog);
  const times: number[] = [];
  for (let i = 0; i < TIMED; i++) {
    const started = process.hrtime.bigint();
    estimatePlan(input, catalog);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b)[times.length >> 1];
}

/** Actions simulated across all ranks over the actions the full step runs. */
function simulatedShare(microBatches: number, schedule: PipelineSchedule, chunks: number) {
  let simulated = 0;
  let full = 0;
  for (let rank = 0; rank < 16; rank++) {
    const shape = { schedule, ranks: 16, chunks, microBatches, runtime: 'pytorch' as const };
    simulated += truncateSchedule(shape, rank).actions.length;
    full += rankActions(shape, rank).length;
  }
  return `${simulated} of ${full}`;
}

console.log('Llama-3.1-405B, TP 8 x PP 16 x DP 4 (512 H100), sequence 8192, torchtitan FSDP2');
console.log('schedule           micro-batches  actions simulated  ms per plan (median of 3)');
for (const [schedule, chunks, microBatches] of [
  ['1f1b', 1, 128],
  ['1f1b', 1, 32],
  ['interleaved', 2, 128],
] as const) {
  const ms = milliseconds(microBatches, schedule, chunks);
  console.log(
    [
      `${schedule}${chunks > 1 ? ` x${chunks}` : ''}`.padEnd(18),
      String(microBatches).padStart(13),
      simulatedShare(microBatches, schedule, chunks).padStart(18),
      ms.toFixed(0).padStart(27),
    ].join(' '),
  );
}
