// What truncating a long stack does to reserved memory, two ways:
// 1. our measured harness runs deep enough to truncate (more than 12 layers; 16-28 here): each is
//    planned whole, as the engine does, and truncated to 12 and 16 layers (the shortcut it used
//    past 32 layers until December 2026), against the reserved bytes the run measured;
// 2. deep-model plans (27B-405B, no measurement): whole against truncated past 32 layers;
// 3. custom stacks deeper than SIMULATED_WHOLE, still truncated: what whole would reserve and cost.
// Run: npx ts-node --transpile-only scripts/truncation-check.ts
import { estimatePlan } from '../src/application/estimate';
import { loadCatalog } from '../src/catalog/catalog';
import { PlanRequestInput } from '../src/engine';
import * as truncationModule from '../src/engine/memory/truncation';
import { ModelArchitecture } from '../src/engine/vocabulary';
import { quantile } from './accuracy-report';
import { loadMeasuredH100Rows } from './measured-h100';

// The limit the engine used before December 2026.
const OLD_LIMIT = 32;
// A limit that truncates every harness run the shortcut can shorten (to 12 and 16 layers).
const TRUNCATE_ALL = 8;
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

let margin = GIB;

function planned(input: PlanRequestInput, limit: number | undefined) {
  writable.truncation = (arch: ModelArchitecture, layers: number[]) =>
    limit === undefined ? undefined : wholeUpTo(arch, layers, limit);
  // A margin of its own per run, so the engine's simulation memo cannot answer for another.
  const runtime = { ...input.runtime, safetyMarginBytes: ++margin };
  const started = Date.now();
  const perGpu = estimatePlan({ ...input, runtime }, catalog).memory.perGpu;
  return {
    allocated: perGpu.allocatedPeakBytes,
    reserved: perGpu.reservedPeakBytes,
    ms: Date.now() - started,
  };
}

const gib = (bytes: number) => (bytes / GIB).toFixed(2);
const percent = (a: number, b: number) => (a / b - 1) * 100;
const change = (a: number, b: number) => `${percent(a, b).toFixed(1)}%`;
// The median `npm run accuracy` reports (scripts/accuracy-report.ts).
const medianAbs = (errors: number[]) =>
  quantile(
    errors.map(Math.abs).sort((a, b) => a - b),
    0.5,
  );

function measuredRuns(): void {
  const rows = [...loadMeasuredH100Rows('reserved'), ...loadMeasuredH100Rows('reserved', true)];
  const errors: { whole: number; cut: number }[] = [];
  for (const row of rows) {
    if (row.use !== 'score') continue;
    const whole = planned(row.request, undefined).reserved;
    const cut = planned(row.request, TRUNCATE_ALL).reserved;
    if (cut === whole) continue; // too shallow to truncate, or the same bytes
    errors.push({ whole: percent(whole, row.measuredBytes), cut: percent(cut, row.measuredBytes) });
  }
  const summary = (pick: (e: { whole: number; cut: number }) => number) =>
    `median |error| ${medianAbs(errors.map(pick)).toFixed(2)}%, ` +
    `under by more than 5%: ${errors.filter((e) => pick(e) < -5).length}`;
  console.log(`Measured runs the shortcut changes: ${errors.length}`);
  console.log(`  simulated whole:            ${summary((e) => e.whole)}`);
  console.log(`  truncated to 12 + 16 layers: ${summary((e) => e.cut)}`);
}

function deepPlans(): void {
  console.log(
    '\nplan | whole: allocated, reserved (ms) | truncated past 32: allocated, reserved (ms) | reserved',
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
}

// Llama-3-8B's layer shape, stacked deeper than any catalog model.
const EIGHT_B_LAYER = {
  model_type: 'llama',
  hidden_size: 4096,
  intermediate_size: 14336,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 128,
  vocab_size: 128256,
  rms_norm_eps: 1e-5,
};

function customStacks(): void {
  console.log('\ncustom stack | as planned (truncated): reserved (ms) | whole: reserved (ms)');
  for (const layers of [256, 1024]) {
    const input: PlanRequestInput = {
      model: { ...EIGHT_B_LAYER, num_hidden_layers: layers },
      cluster: { gpu: 'b200', nodes: 64, gpusPerNode: 8 },
      training: full(4096),
      parallelism: { zeroStage: 3 },
    };
    const cut = planned(input, truncationModule.SIMULATED_WHOLE);
    const whole = planned(input, undefined);
    console.log(
      `${layers} layers, ZeRO-3 on 512 B200 | ${gib(cut.reserved)} GiB (${cut.ms}) | ` +
        `${gib(whole.reserved)} GiB (${whole.ms})`,
    );
  }
}

measuredRuns();
deepPlans();
customStacks();
writable.truncation = wholeUpTo;
