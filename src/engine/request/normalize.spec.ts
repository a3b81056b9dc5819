import { loadCatalog } from '../../catalog/catalog';
import { estimatePlan } from '../../application/estimate';
import { normalizeRequest, PlanRequestInput } from './normalize';

const base: PlanRequestInput = {
  model: 'llama-3-8b',
  cluster: { gpu: 'a100-80gb', gpusPerNode: 8 },
  training: { method: 'full', precision: 'bf16-mixed', sequenceLength: 1024 },
  parallelism: { zeroStage: 3 },
};

describe('framework presets set runtime knobs; explicit knobs win', () => {
  it('deepspeed keeps gradients between steps and 1e9 live parameters gathered', () => {
    const runtime = normalizeRequest({ ...base, runtime: { preset: 'deepspeed' } }).runtime;
    expect(runtime.gradientsSetToNone).toBe(false);
    expect(runtime.zero3LiveParameters).toBe(1e9);
  });
  it('an explicit knob overrides the preset', () => {
    const runtime = normalizeRequest({
      ...base,
      runtime: { preset: 'deepspeed', gradientsSetToNone: true, zero3LiveParameters: 0 },
    }).runtime;
    expect(runtime.gradientsSetToNone).toBe(true);
    expect(runtime.zero3LiveParameters).toBe(0);
  });
  it('model code and gradient sync are knobs the presets set, not the preset names themselves', () => {
    const knobs = (input: PlanRequestInput['runtime']) => {
      const { modelCode, dataParallelEngine } = normalizeRequest({
        ...base,
        runtime: input,
      }).runtime;
      return { modelCode, dataParallelEngine };
    };
    expect(knobs({})).toEqual({ modelCode: 'native', dataParallelEngine: 'pytorch' });
    expect(knobs({ preset: 'deepspeed' })).toEqual({
      modelCode: 'hf-transformers',
      dataParallelEngine: 'deepspeed',
    });
    expect(knobs({ preset: 'litgpt' }).modelCode).toBe('litgpt');
    expect(knobs({ preset: 'megatron' }).dataParallelEngine).toBe('megatron');
    // A DeepSpeed run of non-HF model code (Megatron-DeepSpeed) says so.
    expect(knobs({ preset: 'deepspeed', modelCode: 'native' }).modelCode).toBe('native');
  });
  it('the overridden knob reaches the plan: Llama-2-7B keeps its last two layers gathered for backward', () => {
    const catalog = loadCatalog();
    const buffers = (zero3LiveParameters?: number) =>
      estimatePlan(
        { ...base, model: 'llama-2-7b', runtime: { preset: 'deepspeed', zero3LiveParameters } },
        catalog,
      ).memory.perGpu.breakdown.buffers;
    // One decoder layer: 4 h^2 attention + 3 h f MLP + two RMSNorm weights (h 4096, f 11008);
    // the head 32,000 x 4096. ZeRO-3 keeps a module gathered after forward while the trace
    // reaches its next use within 1e9 parameters: twice what follows it. Layer 31: 2 x head
    // = 0.26e9; layer 30: 2 x (layer + head) = 0.67e9; layer 29: 2 x (2 layers + head) = 1.07e9.
    const layer = 4 * 4096 ** 2 + 3 * 4096 * 11008 + 2 * 4096;
    const head = 32000 * 4096;
    expect(2 * (layer + head)).toBeLessThan(1e9);
    expect(2 * (2 * layer + head)).toBeGreaterThan(1e9);
    expect(buffers() - buffers(0)).toBe(2 * layer * 2);
  });
});

describe('the CUDA context defaults to what was measured on the card', () => {
  const catalog = loadCatalog();
  const MIB = 2 ** 20;
  const overhead = (gpu: string, cudaContextBytes?: number) =>
    estimatePlan(
      { model: 'llama-3.2-1b', cluster: { gpu }, runtime: { cudaContextBytes } },
      catalog,
    ).memory.perGpu.breakdown.runtimeOverhead;
  it('H100 80GB: 768 MiB, what nvidia-smi showed beyond reserved in the 93 H100 runs', () => {
    expect(overhead('h100-80gb')).toBe(768 * MIB);
  });
  it('a card without a measurement keeps 512 MiB; an explicit value wins on either', () => {
    expect(overhead('a100-80gb')).toBe(512 * MIB);
    expect(overhead('h100-80gb', 600 * MIB)).toBe(600 * MIB);
  });
});
