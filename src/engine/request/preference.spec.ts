// What a DPO or KTO request may ask (TRL's DPOTrainer and KTOTrainer on Accelerate), and what
// it runs.
import { loadCatalog } from '../../catalog/catalog';
import { normalizeRequest, PlanRequestInput } from './normalize';
import {
  preferenceNote,
  preferenceErrors,
  referenceForwards,
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
    // GPT-2's and BERT's are all modules: none stays; Phi's attention dropout is a float
    expect(preferenceNote(dpo(), { ...LLAMA, modelType: 'gpt2', dropout })).not.toMatch(stays);
    expect(preferenceNote(dpo(), { ...LLAMA, modelType: 'roberta', dropout })).not.toMatch(stays);
    expect(preferenceNote(dpo(), { ...LLAMA, modelType: 'phi', dropout })).toMatch(stays);
    expect(preferenceNote(normalizeRequest({ ...dpo(), training: {} }), LLAMA)).toBeUndefined();
  });
});

describe('a KTO request', () => {
  const kto = (training: object = {}, patch: Partial<PlanRequestInput> = {}) =>
    dpo(patch, { preference: 'kto', ...training });

  it('trains on its b unpaired completions; the reference runs over the KL sequences and the completions', () => {
    expect(sequencesPerMicroBatch(kto().training)).toBe(3);
    expect(referenceForwards(kto())).toBe(2);
    expect(referenceForwards(dpo())).toBe(1);
    const precomputed = kto({ kto: { precomputeReferenceLogProbs: true } });
    expect([separateReferenceModel(precomputed), referenceForwards(precomputed)]).toEqual([
      false,
      0,
    ]);
    expect(separateReferenceModel(kto({ method: 'lora' }))).toBe(false);
    // DPO's knob does not reach KTO's reference
    expect(runsReferenceForward(kto({ dpo: { precomputeReferenceLogProbs: true } }))).toBe(true);
  });

  it("names the micro-batch when it has one completion, and DPO's other fields as DPO does", () => {
    expect(fields(kto())).toEqual([]);
    expect(fields(kto({ microBatchSize: 1 }))).toEqual(['training.microBatchSize']);
    expect(fields(kto({}, { runtime: { crossEntropy: 'chunked' } }))).toEqual([
      'runtime.crossEntropy',
    ]);
    expect(fields(kto({}, { parallelism: { tensorParallel: 2 } }))).toEqual([
      'parallelism.tensorParallel',
    ]);
  });
});
