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

describe("the loop's `loss` (previousStepAlive) keeps the last micro-batch's graph", () => {
  const qlora = (alive: boolean, bitsandbytesSavesInput = true) => ({
    training: {
      method: 'qlora' as const,
      sequenceLength: 1024,
      gradientAccumulationSteps: 2,
      precision: 'bf16-pure' as const,
      lora: { targetModules: ['q_proj', 'v_proj'] },
    },
    runtime: {
      crossEntropy: 'standard' as const,
      previousStepAlive: alive,
      bitsandbytesSavesInput,
    },
    gpus: 1,
  });
  const activationsAt = (alive: boolean, savesInput = true) =>
    liveWhen(
      simulateTiny(qlora(alive, savesInput)).log,
      (m) => m.step === 2 && m.what === 'optimizer step',
    ).activations;

  it("and with it each 4-bit linear's input bitsandbytes before 0.43.2 holds as ctx.tensors", () => {
    // MatMul4Bit keeps its input x (bf16, 1,024 tokens) until its node dies. Per layer: the
    // input shared by q, k and v, o_proj's, the one shared by gate and up (h = 1,024 wide each)
    // and down_proj's (f = 2,048 wide). Layer 0's q/k/v input does not require grad (the
    // embedding is frozen), so apply() records no node for the base matmul and drops its ctx.
    const perLayer = 1024 * (3 * TINY.hidden + TINY.ffn) * 2;
    const layerZero = perLayer - 1024 * TINY.hidden * 2;
    expect(activationsAt(true) - activationsAt(false)).toBe(3 * perLayer + layerZero);
  });

  it('holds no input under bitsandbytes 0.43.2 and later, which keep only the packed weight', () => {
    expect(activationsAt(true, false)).toBe(activationsAt(false, false));
  });
});
