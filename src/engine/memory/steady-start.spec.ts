// The search's probes (SimulationDepth 'allocated') start at the second step with what the first
// leaves (rank.ts startsSteady). Checked here against the full simulation, which runs the first
// step: the same bytes live when the second step begins, and the same allocated peak, breakdown,
// phase totals and moment.
import { liveWhen, simulateTiny } from '../../../test/support/timeline';

type Input = Parameters<typeof simulateTiny>[0];

const STEADY: [string, Input][] = [
  ['DDP over 8 ranks', {}],
  [
    'FSDP2 (ZeRO-3) with full recompute',
    { parallelism: { zeroStage: 3 }, training: { activationCheckpointing: 'full' } },
  ],
  ['ZeRO-2, foreach AdamW', { parallelism: { zeroStage: 2 }, runtime: { foreachOptimizer: true } }],
  [
    "torchtitan's preset, selective recompute",
    { runtime: { preset: 'torchtitan' }, training: { activationCheckpointing: 'selective' } },
  ],
  [
    "Hugging Face's preset, LoRA, reentrant checkpointing",
    {
      runtime: { preset: 'hf-transformers', reentrantCheckpointing: true },
      training: { method: 'lora', activationCheckpointing: 'full' },
    },
  ],
  [
    "torchtune's preset, QLoRA on one GPU",
    { runtime: { preset: 'torchtune' }, training: { method: 'qlora' }, gpus: 1 },
  ],
  [
    'tensor and context parallel, ZeRO-3',
    {
      parallelism: { tensorParallel: 2, sequenceParallel: true, contextParallel: 2, zeroStage: 3 },
    },
  ],
  [
    'activation offloading, Adafactor',
    { runtime: { activationOffloading: true }, training: { optimizer: 'adafactor' } },
  ],
  [
    "torchao's fp8 under FSDP2",
    { runtime: { fp8Recipe: 'tensorwise' }, parallelism: { zeroStage: 3 } },
  ],
  [
    "FSDP2 as a pipeline stage runs it (the search's sharding probes)",
    {
      parallelism: { zeroStage: 3, probedPipelineStage: true },
      training: { gradientAccumulationSteps: 2 },
    },
  ],
];

const FIRST_STEP_KEPT: [string, Input][] = [
  ['zero_grad without set_to_none', { runtime: { gradientsSetToNone: false } }],
  ["litgpt's loop (the last logits outlive the step)", { runtime: { preset: 'litgpt' } }],
  ['an optimizer in backward', { runtime: { optimizerInBackward: true } }],
  ['DeepSpeed ZeRO-2', { runtime: { preset: 'deepspeed' }, parallelism: { zeroStage: 2 } }],
  ['Megatron', { runtime: { preset: 'megatron' } }],
  ['a pipeline rank', { parallelism: { pipelineParallel: 2 } }],
  ["Transformer Engine's fp8", { runtime: { fp8Recipe: 'transformer-engine' } }],
];

const steps = (input: Input) =>
  new Set(
    simulateTiny(input, 0, 4, 'allocated')
      .log.moments.filter((m) => m.phase !== 'build')
      .map((m) => m.step),
  );

describe('the second step started from what the first leaves (SimulationDepth allocated)', () => {
  it.each(STEADY)(
    "%s: simulates the second step alone, with the full simulation's figures",
    (_label, input) => {
      const full = simulateTiny(input);
      const probe = simulateTiny(input, 0, 4, 'allocated');
      expect(steps(input)).toEqual(new Set([2]));
      const secondStep = (m: { step: number; phase: string }) =>
        m.step === 2 && m.phase === 'forward';
      expect(liveWhen(probe.log, secondStep)).toEqual(liveWhen(full.log, secondStep));
      expect(probe.peak).toEqual(full.peak);
    },
  );

  it.each(FIRST_STEP_KEPT)('%s: simulates the first step too', (_label, input) => {
    const full = simulateTiny(input);
    const probe = simulateTiny(input, 0, 4, 'allocated');
    expect(steps(input)).toEqual(new Set([1, 2]));
    expect(probe.peak).toEqual(full.peak);
  });
});
