// What a DPO request may ask (TRL's DPOTrainer on Accelerate), and what it runs.
import { loadCatalog } from '../../catalog/catalog';
import { normalizeRequest, PlanRequestInput } from './normalize';
import {
  preferenceNote,
  preferenceErrors,
  runsReferenceForward,
  separateReferenceModel,
  sequencesPerMicroBatch,
} from './preference';

const catalog = loadCatalog();
const LLAMA = catalog.findModel('llama-3-8b')!;

const dpo = (patch: Partial<PlanRequestInput> = {}, training: object = {}) =>
  normalizeRequest({
    model: 'llama-3-8b',
    cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 },
    ...patch,
    training: { preference: 'dpo', microBatchSize: 3, ...training },
  });
const fields = (request: ReturnType<typeof dpo>, arch = LLAMA) =>
  preferenceErrors(request, arch).map((error) => error.field);

describe('a DPO request', () => {
  it('runs each pair as two sequences: chosen, then rejected', () => {
    expect(sequencesPerMicroBatch(dpo().training)).toBe(6);
    expect(sequencesPerMicroBatch(normalizeRequest({ ...dpo(), training: {} }).training)).toBe(1);
  });

  it('keeps a separate reference under full fine-tuning, none under LoRA or when precomputed', () => {
    expect([separateReferenceModel(dpo()), runsReferenceForward(dpo())]).toEqual([true, true]);
    const lora = dpo({}, { method: 'lora' });
    expect([separateReferenceModel(lora), runsReferenceForward(lora)]).toEqual([false, true]);
    const precomputed = dpo({}, { dpo: { precomputeReferenceLogProbs: true } });
    expect([separateReferenceModel(precomputed), runsReferenceForward(precomputed)]).toEqual([
      false,
      false,
    ]);
  });

  it('plans on data parallelism with Hugging Face or DeepSpeed loops', () => {
    expect(fields(dpo())).toEqual([]);
    expect(
      fields(dpo({ runtime: { preset: 'deepspeed' }, parallelism: { zeroStage: 3 } })),
    ).toEqual([]);
  });

  it('names each field TRL cannot run it with', () => {
    const parallel = dpo({ parallelism: { tensorParallel: 2, pipelineParallel: 2 } });
    expect(fields(parallel)).toEqual([
      'parallelism.tensorParallel',
      'parallelism.pipelineParallel',
    ]);
    expect(fields(dpo({ runtime: { crossEntropy: 'fused' } }))).toEqual(['runtime.crossEntropy']);
    expect(fields(dpo({ runtime: { preset: 'torchtune' } }))).toEqual([
      'runtime.crossEntropy', // torchtune's chunked loss
      'runtime.preset',
    ]);
    expect(fields(dpo({ runtime: { preset: 'megatron' } }))).toEqual([
      'runtime.crossEntropy',
      'runtime.dataParallelEngine',
      'runtime.preset',
    ]);
    expect(fields(dpo({ workload: 'inference' }))).toEqual(['training.preference']);
    expect(fields(dpo(), catalog.findModel('bart-large')!)).toEqual(['training.preference']);
  });

  it("says which configured dropout TRL's disable_dropout leaves planned", () => {
    const dropout = { attention: 0.1, residual: 0.1, embedding: 0.1 };
    const stays = /the config's other dropout stays planned/;
    expect(preferenceNote(dpo(), LLAMA)).toMatch(/disable_dropout zeroes every nn.Dropout/);
    expect(preferenceNote(dpo(), LLAMA)).not.toMatch(stays);
    expect(preferenceNote(dpo(), { ...LLAMA, dropout })).toMatch(stays);
    // GPT-2's are all modules: none stays
    expect(preferenceNote(dpo(), { ...LLAMA, modelType: 'gpt2', dropout })).not.toMatch(stays);
    expect(preferenceNote(normalizeRequest({ ...dpo(), training: {} }), LLAMA)).toBeUndefined();
  });
});
