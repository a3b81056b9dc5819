// What the training loop's own variables keep alive, read off the tiny model's timeline.
import { liveWhen, simulateTiny, TINY } from '../../../test/support/timeline';

// One micro-batch's logits: 1 x 1,024 positions x the 8,192-token vocabulary in bf16.
const LOGITS = 1024 * TINY.vocab * 2;

const loop = (runtime: object) => ({
  training: {
    sequenceLength: 1024,
    gradientAccumulationSteps: 2,
    precision: 'bf16-pure' as const,
  },
  runtime: { crossEntropy: 'standard' as const, ...runtime },
  gpus: 1,
});
const logitsWhen = (runtime: object, what: string) =>
  liveWhen(simulateTiny(loop(runtime)).log, (m) => m.step === 2 && m.what === what).logitsAndLoss;

describe("the loop's variables (previousStepAlive: litgpt's fit())", () => {
  it("keeps the last micro-batch's logits through the optimizer step", () => {
    const kept = logitsWhen({ previousStepAlive: true }, 'optimizer step');
    expect(kept - logitsWhen({ previousStepAlive: false }, 'optimizer step')).toBe(LOGITS);
  });

  it('lets them go once the next forward has returned new ones', () => {
    // At the next step's loss both runs hold that micro-batch's logits alone.
    const at = (alive: boolean) =>
      liveWhen(
        simulateTiny(loop({ previousStepAlive: alive })).log,
        (m) => m.step === 3 && m.phase === 'backward',
      ).logitsAndLoss;
    expect(at(true)).toBe(at(false));
  });
});
