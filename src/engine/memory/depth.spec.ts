// A deep pipeline rank simulated at two shallow depths and extrapolated, checked against the
// same rank simulated at its own depth.
import { simulateTiny } from '../../../test/support/timeline';
import { depthClass, depthTruncation, SIMULATED_DEPTH } from './depth';
import { ScheduleShape } from './schedule';

const shape = (over: Partial<ScheduleShape> = {}): ScheduleShape => ({
  schedule: '1f1b',
  ranks: 12,
  chunks: 1,
  microBatches: 32,
  runtime: 'pytorch',
  ...over,
});

describe('which pipeline ranks are extrapolated in depth', () => {
  it('a 1F1B rank keeping more than four micro-batches in flight: p - rank of them', () => {
    expect(SIMULATED_DEPTH).toBe(4);
    expect(depthTruncation(shape(), 0)).toEqual({ depth: 12, depths: [3, 4] });
    expect(depthTruncation(shape(), 7)).toEqual({ depth: 5, depths: [3, 4] });
    expect(depthTruncation(shape(), 8)).toBeUndefined(); // 12 - 8 = 4 in flight
  });

  it('not a rank whose warm-up takes every micro-batch, nor GPipe or virtual stages', () => {
    expect(depthTruncation(shape({ microBatches: 8 }), 0)).toBeUndefined();
    expect(depthTruncation(shape({ microBatches: 8 }), 5)).toEqual({ depth: 7, depths: [3, 4] });
    expect(depthTruncation(shape({ schedule: 'gpipe' }), 0)).toBeUndefined();
    expect(depthTruncation(shape({ schedule: 'interleaved', chunks: 2 }), 0)).toBeUndefined();
  });

  it('classes moments alike at every depth', () => {
    const at = (phase: 'forward' | 'backward', microBatch: number, depth: number) =>
      depthClass({ step: 2, phase, layer: 3, microBatch, what: 'layer' }, depth, 32);
    // the last warm-up forward: micro-batch depth - 1
    expect(at('forward', 2, 3)).toBe(at('forward', 3, 4));
    // the first backward: micro-batch 0 at any depth
    expect(at('backward', 0, 3)).toBe(at('backward', 0, 4));
    // the first backward of the cool-down: micro-batch 32 - depth
    expect(at('backward', 29, 3)).toBe(at('backward', 28, 4));
    expect(at('backward', 28, 3)).not.toBe(at('backward', 28, 4));
  });
});

describe('a deep rank extrapolated against the same rank simulated whole', () => {
  // 24 tiny layers over 12 stages, 32 micro-batches: ranks 0-7 keep 12 down to 5 in flight.
  const request = (checkpointing: 'none' | 'full') => ({
    training: {
      sequenceLength: 1024,
      gradientAccumulationSteps: 32,
      precision: 'bf16-mixed' as const,
      activationCheckpointing: checkpointing,
    },
    parallelism: { pipelineParallel: 12 },
    gpus: 12,
  });

  it.each([0, 1, 5, 7])('rank %i: the same allocated peak at the same moment', (rank) => {
    const extrapolated = simulateTiny(request('none'), rank, 24);
    const whole = simulateTiny(request('none'), rank, 24, { wholeSchedule: true });
    // Each micro-batch in flight holds the same tensors, so the line through two depths is
    // exact for what is allocated.
    expect(extrapolated.peak.allocatedPeakBytes).toBeCloseTo(whole.peak.allocatedPeakBytes, -3);
    expect(extrapolated.peak.moment).toEqual(whole.peak.moment);
    expect(extrapolated.peak.breakdown.activations).toBeCloseTo(
      whole.peak.breakdown.activations,
      -3,
    );
    // The allocator's slack is taken from the shallower runs, not extrapolated.
    const reservedError = extrapolated.reservedPeakBytes / whole.reservedPeakBytes - 1;
    expect(Math.abs(reservedError)).toBeLessThan(0.01);
  });

  it('under full checkpointing too, reserved on the high side by at most 4%', () => {
    for (const rank of [0, 2]) {
      const extrapolated = simulateTiny(request('full'), rank, 24);
      const whole = simulateTiny(request('full'), rank, 24, { wholeSchedule: true });
      expect(extrapolated.peak.allocatedPeakBytes).toBeCloseTo(whole.peak.allocatedPeakBytes, -3);
      const reservedError = extrapolated.reservedPeakBytes / whole.reservedPeakBytes - 1;
      expect(reservedError).toBeGreaterThan(-0.01);
      expect(reservedError).toBeLessThan(0.04);
    }
  });

  it('says so in the plan', () => {
    const { notes } = simulateTiny(request('none'), 0, 24);
    expect(notes.join(' ')).toMatch(/simulated keeping 3 and 4 and extrapolated/);
  });
});
