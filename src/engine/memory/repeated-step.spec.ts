// A third step written out from the second (repeated-step.ts) instead of run: on logs written
// by hand, what it writes and when it refuses; on simulated ranks of many set-ups, the same
// events, peaks and reserved memory as the third step run in full.
import { simulateTiny } from '../../../test/support/timeline';
import { EventLog } from './autograd/events';
import * as repeatedStep from './repeated-step';
import { appendRepeatedStep, repeatableStep } from './repeated-step';

type Event = [kind: 1 | -1 | 0, key: number, bytes: number];

/** A log of the given steps, each one moment; components and streams 0. */
function logOf(steps: Event[][]): EventLog {
  const log = new EventLog();
  steps.forEach((events, step) => {
    log.mark({ step, phase: 'forward', layer: -1, microBatch: 0, what: 'layer' });
    for (const [kind, key, bytes] of events) log.push(kind, key, bytes, 0, 0);
  });
  return log;
}

function eventsOfStep(log: EventLog, step: number): Event[] {
  const events: Event[] = [];
  for (let i = 0; i < log.length; i++) {
    if (log.moments[log.moment[i]].step !== step) continue;
    events.push([log.kind[i] as 1 | -1 | 0, log.key[i], log.bytes[i]]);
  }
  return events;
}

/** Step 3 of `log`, written out from its step 2 (which must repeat). */
function writtenStep3(log: EventLog): Event[] {
  const repeat = repeatableStep(log, 2);
  expect(repeat).toBeDefined();
  appendRepeatedStep(log, repeat!);
  return eventsOfStep(log, 3);
}

describe('repeatableStep and appendRepeatedStep on hand-written logs', () => {
  // Step 0 builds a weight (key 1). Step 1 makes an optimizer state (2, kept for good), a
  // transient (3) and a gradient (4) the next step frees. Step 2 makes its own transient (5)
  // and gradient (6), frees step 1's gradient and empties the cache.
  const steady: Event[][] = [
    [[1, 1, 4096]],
    [
      [1, 2, 8192],
      [1, 3, 1024],
      [-1, 3, 1024],
      [1, 4, 4096],
    ],
    [
      [1, 5, 1024],
      [-1, 4, 4096],
      [-1, 5, 1024],
      [0, 0, 0],
      [1, 6, 4096],
    ],
  ];

  it('writes step 3 as step 2 again: new keys for its own tensors, step 2 gradient freed', () => {
    const log = logOf(steady);
    // Keys 7 and 8 are the next unused; the free of step 1's gradient (4) becomes step 2's (6).
    expect(writtenStep3(log)).toEqual([
      [1, 7, 1024],
      [-1, 6, 4096],
      [-1, 7, 1024],
      [0, 0, 0],
      [1, 8, 4096],
    ]);
    expect(log.moments.map((m) => m.step)).toEqual([0, 1, 2, 3]);
  });

  it('leaves out what happens once in the run: a buffer rebuilt at step 2, its old one freed', () => {
    const log = logOf([steady[0], steady[1]]);
    log.mark({ step: 2, phase: 'forward', layer: -1, microBatch: 0, what: 'layer' });
    log.push(-1, 1, 4096, 0, 0); // once: the build's buffer goes
    log.push(1, 7, 2048, 0, 0); // once: its replacement, kept for good
    log.onceInRun.push(log.length - 2, log.length - 1);
    for (const [kind, key, bytes] of steady[2]) log.push(kind, key, bytes, 0, 0);
    expect(writtenStep3(log)).toEqual([
      [1, 8, 1024],
      [-1, 6, 4096],
      [-1, 8, 1024],
      [0, 0, 0],
      [1, 9, 4096],
    ]);
  });

  it('refuses a step that frees a tensor older than the step before', () => {
    const freesTheWeight = [...steady.slice(0, 2), [...steady[2], [-1, 1, 4096] as Event]];
    expect(repeatableStep(logOf(freesTheWeight), 2)).toBeUndefined();
  });

  it('refuses a step that leaves more than it took over (a state made late)', () => {
    const makesAState = [...steady.slice(0, 2), [...steady[2], [1, 9, 512] as Event]];
    expect(repeatableStep(logOf(makesAState), 2)).toBeUndefined();
  });

  it('refuses a step whose leftover differs in size from what it took over', () => {
    const larger = [...steady.slice(0, 2), [...steady[2].slice(0, 4), [1, 6, 4608] as Event]];
    expect(repeatableStep(logOf(larger), 2)).toBeUndefined();
  });
});

type Input = Parameters<typeof simulateTiny>[0];

// Set-ups whose first step shapes the second differently (steady-start.spec.ts), and the
// frameworks' buffers, schedules and hooks that outlive a micro-batch. DDP's reducer rebuilds its
// buckets at the second step's first forward, once in the run (reducer.cpp rebuild_buckets):
// the third step repeats the second without it.
const WRITTEN_OUT: [string, Input][] = [
  ['DDP over 8 ranks', {}],
  ['a pipeline with 4 data-parallel ranks (DDP)', { parallelism: { pipelineParallel: 2 } }],
  [
    'FSDP2 with full recompute',
    { parallelism: { zeroStage: 3 }, training: { activationCheckpointing: 'full' } },
  ],
  ['ZeRO-2, foreach AdamW', { parallelism: { zeroStage: 2 }, runtime: { foreachOptimizer: true } }],
  ['zero_grad without set_to_none', { runtime: { gradientsSetToNone: false }, gpus: 1 }],
  ["litgpt's loop (the last logits outlive the step)", { runtime: { preset: 'litgpt' }, gpus: 1 }],
  ['an optimizer in backward', { runtime: { optimizerInBackward: true }, gpus: 1 }],
  ['DeepSpeed ZeRO-3', { runtime: { preset: 'deepspeed' }, parallelism: { zeroStage: 3 } }],
  [
    'Megatron with a distributed optimizer',
    { runtime: { preset: 'megatron' }, parallelism: { zeroStage: 1 } },
  ],
  [
    'a 1F1B pipeline rank',
    { parallelism: { pipelineParallel: 2 }, training: { gradientAccumulationSteps: 4 }, gpus: 2 },
  ],
  [
    'an interleaved pipeline rank',
    {
      parallelism: { pipelineParallel: 2, virtualStages: 2, pipelineSchedule: 'interleaved' },
      training: { gradientAccumulationSteps: 4 },
      gpus: 2,
    },
  ],
  ["Transformer Engine's fp8", { runtime: { fp8Recipe: 'transformer-engine' }, gpus: 1 }],
  [
    'LoRA with reentrant checkpointing',
    {
      runtime: { reentrantCheckpointing: true },
      training: { method: 'lora', activationCheckpointing: 'full' },
      gpus: 1,
    },
  ],
  [
    "torchtune's QLoRA on one GPU",
    { runtime: { preset: 'torchtune' }, training: { method: 'qlora' }, gpus: 1 },
  ],
  ['activation offloading', { runtime: { activationOffloading: true }, gpus: 1 }],
  [
    'expandable segments, tensor and sequence parallel',
    {
      runtime: { expandableSegments: true },
      parallelism: { tensorParallel: 2, sequenceParallel: true },
      gpus: 2,
    },
  ],
];

/** A simulation with every step run in full: no step is found repeatable. */
function simulatedInFull(input: Input) {
  const spy = jest.spyOn(repeatedStep, 'repeatableStep').mockReturnValue(undefined);
  try {
    return simulateTiny(input);
  } finally {
    spy.mockRestore();
  }
}

/** The events as (kind, bytes, component, stream, moment), and each free's allocation by index. */
function shape(log: EventLog) {
  const allocatedAt = new Map<number, number>();
  const rows: string[] = [];
  for (let i = 0; i < log.length; i++) {
    const freed = log.kind[i] < 0 ? allocatedAt.get(log.key[i]) : undefined;
    if (log.kind[i] > 0) allocatedAt.set(log.key[i], i);
    const moment = JSON.stringify(log.moments[log.moment[i]]);
    rows.push(
      `${log.kind[i]} ${log.bytes[i]} ${log.component[i]} ${log.stream[i]} ${moment} ${freed}`,
    );
  }
  return rows;
}

/** Whether the simulation wrote a step out. */
function writesAStepOut(input: Input): boolean {
  const spy = jest.spyOn(repeatedStep, 'repeatableStep');
  try {
    simulateTiny(input);
    return spy.mock.results.some((result) => result.value !== undefined);
  } finally {
    spy.mockRestore();
  }
}

describe('the third step written out, against the third step run', () => {
  it.each(WRITTEN_OUT)('%s: the same events, peak and reserved memory', (_label, input) => {
    expect(writesAStepOut(input)).toBe(true);
    const written = simulateTiny(input);
    const run = simulatedInFull(input);
    expect(shape(written.log)).toEqual(shape(run.log));
    expect(written.peak).toEqual(run.peak);
    expect(written.reservedPeakBytes).toBe(run.reservedPeakBytes);
  });
});
