// What truncating a long stack did to a plan: each deep-model plan below is planned with the
// stack simulated whole (as the engine does up to memory/truncation.ts SIMULATED_WHOLE layers)
// and again as two short stacks extrapolated (as it did for more than 32 layers until December
// 2026), and the two figures are printed side by side.
// Run: npx ts-node --transpile-only scripts/truncation-check.ts
import { estimatePlan } from '../src/application/estimate';
import { loadCatalog } from '../src/catalog/catalog';
import { PlanRequestInput } from '../src/engine';
import * as truncationModule from '../src/engine/memory/truncation';
import { ModelArchitecture } from '../src/engine/vocabulary';

// The limit the engine used before December 2026.
const OLD_LIMIT = 32;
const GIB = 2 ** 30;
const catalog = loadCatalog();
const wholeUpTo = truncationModule.truncation;
// CommonJS exports are writable: rank.ts reads memory/truncation's export at each call.
const writable = truncationModule as { truncation: typeof wholeUpTo };

const nodes = (count: number) => ({ gpu: 'h100-80gb', nodes: count, gpusPerNode: 8 });
const full = (sequenceLength: number, extra: object = {}) => ({
  sequenceLength,
  microBatchSize: 1,
  activationCheckpointing: 'full' as const,
  ...extra,
});

const PLANS: PlanRequestInput[] = [
  { model: 'llama-3-70b', cluster: nodes(4), training: full(4096), parallelism: { zeroStage: 3 } },
  {
    model: 'llama-3-70b',
    cluster: nodes(4),
    training: full(4096, { gradientAccumulationSteps: 4 }),
    parallelism: { zeroStage: 3, tensorParallel: 4 },
  },
  {
    model: 'llama-3-70b',
    cluster: nodes(4),
    training: { sequenceLength: 8192, microBatchSize: 1, activationCheckpointing: 'selective' },
    parallelism: { tensorParallel: 8, sequenceParallel: true, zeroStage: 3 },
  },
  {
    model: 'llama-3-70b',
    cluster: { gpu: 'a100-80gb', gpusPerNode: 1 },
    training: { method: 'qlora', ...full(2048) },
  },
  {
    model: 'llama-3-70b',
    cluster: nodes(1),
    training: { method: 'lora', ...full(4096) },
    parallelism: { zeroStage: 3 },
  },
  { model: 'qwen2.5-72b', cluster: nodes(4), training: full(4096), parallelism: { zeroStage: 3 } },
  { model: 'qwen2.5-32b', cluster: nodes(2), training: full(4096), parallelism: { zeroStage: 3 } },
  {
    model: 'qwen2.5-32b',
    cluster: { gpu: 'b200', gpusPerNode: 8 },
    training: full(2048),
    parallelism: { zeroStage: 2 },
  },
  { model: 'gemma-2-27b', cluster: nodes(1), training: full(4096), parallelism: { zeroStage: 3 } },
  {
    model: 'llama-3.1-405b',
    cluster: nodes(16),
    training: full(8192),
    parallelism: { zeroStage: 3, tensorParallel: 8, sequenceParallel: true },
  },
];

function planned(input: PlanRequestInput, limit: number | undefined) {
  writable.truncation = (arch: ModelArchitecture, layers: number[]) =>
    limit === undefined ? undefined : wholeUpTo(arch, layers, limit);
  // A margin of its own per run, so the engine's simulation memo cannot answer for the other.
  const runtime = { safetyMarginBytes: GIB + (limit ?? 0) };
  const started = Date.now();
  const perGpu = estimatePlan({ ...input, runtime }, catalog).memory.perGpu;
  return {
    allocated: perGpu.allocatedPeakBytes,
    reserved: perGpu.reservedPeakBytes,
    ms: Date.now() - started,
  };
}

const gib = (bytes: number) => (bytes / GIB).toFixed(2);
const change = (a: number, b: number) => `${((a / b - 1) * 100).toFixed(1)}%`;
console.log(
  'plan | whole: allocated, reserved (ms) | truncated at 32: allocated, reserved (ms) | reserved',
);
for (const input of PLANS) {
  const whole = planned(input, undefined);
  const cut = planned(input, OLD_LIMIT);
  const label = `${input.model} ${input.training?.method ?? 'full'} ${JSON.stringify(input.parallelism ?? {})}`;
  console.log(
    `${label} | ${gib(whole.allocated)}, ${gib(whole.reserved)} GiB (${whole.ms}) | ` +
      `${gib(cut.allocated)}, ${gib(cut.reserved)} GiB (${cut.ms}) | ${change(cut.reserved, whole.reserved)}`,
  );
}
writable.truncation = wholeUpTo;
