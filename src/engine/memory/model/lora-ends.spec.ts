// LoRA on the output head and the token embedding (PEFT's lm_head and embed_tokens targets,
// torchtune's apply_lora_to_output): adapters of r x (h + vocab) each, trained like the rest.
import { liveWhen, simulateTiny, TINY } from '../../../../test/support/timeline';
import { loraParameters } from '../../model/parameters';
import { tinyArch } from '../../../../test/support/timeline';

const rank = 8;
const lora = (targetModules: string[]) => ({
  training: {
    method: 'lora' as const,
    sequenceLength: 1024,
    lora: { rank, alpha: 16, dropout: 0, targetModules },
  },
  runtime: { preset: 'hf-transformers' as const },
  gpus: 1,
});
const stepStart = (m: { step: number; phase: string }) => m.step === 2 && m.phase === 'optimizer';
// q_proj and v_proj on 4 layers: r x (h + h) each, 8 adapters
const layerAdapters = 4 * 2 * rank * (TINY.hidden + TINY.hidden);
const endAdapter = rank * (TINY.vocab + TINY.hidden);

describe('LoRA on the ends of the model', () => {
  it('counts r x (h + vocab) for the head and for the embedding among the trainable parameters', () => {
    const arch = tinyArch(4);
    const base = { rank, alpha: 16, dropout: 0 };
    const layers = loraParameters(arch, { ...base, targetModules: ['q_proj', 'v_proj'] }).total;
    const ends = loraParameters(arch, {
      ...base,
      targetModules: ['q_proj', 'v_proj', 'lm_head', 'embed_tokens'],
    }).total;
    expect(layers).toBe(layerAdapters);
    expect(ends - layers).toBe(2 * endAdapter);
  });

  it('trains both adapters: fp32 weights and two fp32 AdamW states each (HF Trainer: PEFT keeps adapters in fp32)', () => {
    const plain = liveWhen(simulateTiny(lora(['q_proj', 'v_proj'])).log, stepStart);
    const ends = liveWhen(
      simulateTiny(lora(['q_proj', 'v_proj', 'lm_head', 'embed_tokens'])).log,
      stepStart,
    );
    expect(plain.optimizerStates).toBe(8 * layerAdapters);
    expect(ends.optimizerStates - plain.optimizerStates).toBe(2 * 8 * endAdapter);
    expect(ends.weights - plain.weights).toBe(2 * 4 * endAdapter);
  });

  it("accepts torchtune's name for the head", () => {
    const withOutput = liveWhen(simulateTiny(lora(['q_proj', 'v_proj', 'output'])).log, stepStart);
    const plain = liveWhen(simulateTiny(lora(['q_proj', 'v_proj'])).log, stepStart);
    expect(withOutput.optimizerStates - plain.optimizerStates).toBe(8 * endAdapter);
  });
});
