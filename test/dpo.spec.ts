// DPO as TRL's DPOTrainer runs it, planned on Llama-3.2-1B (its parameters written out in
// test/support/llama-3.2-1b.ts).
import { estimatePlan } from '../src/application/estimate';
import { normalizeRequest, PlanRequestInput } from '../src/engine';
import { ALLOCATED_COMPONENTS, EventLog } from '../src/engine/memory/autograd/events';
import {
  BF16,
  catalog,
  EMBEDDING,
  FP32,
  H,
  LAYER_LINEARS,
  LAYERS,
  llama1b as base,
  PARAMETERS,
  rankTimeline as timeline,
  ROUNDING,
} from './support/llama-3.2-1b';

/** The weights every step starts with: what the run keeps. */
const keptWeights = (input: PlanRequestInput) => weightsWhen(timeline(input), 'embedding', 2);

describe("DPO's reference model", () => {
  it('is a second fp32 copy of every weight under full fine-tuning with AMP (from_pretrained in float32)', () => {
    expect(PARAMETERS).toBe(1_235_814_400);
    const weights = keptWeights(base({ preference: 'dpo' }));
    expect(weights).toBeGreaterThanOrEqual(2 * PARAMETERS * FP32);
    expect(weights).toBeLessThan(2 * PARAMETERS * FP32 + 2 * ROUNDING);
  });

  it('is sharded as the policy is under FSDP: an eighth of the copy more on each of 8 GPUs', () => {
    const withReference = keptWeights(base({ preference: 'dpo' }, 8));
    const precomputed = keptWeights(
      base({ preference: 'dpo', dpo: { precomputeReferenceLogProbs: true } }, 8),
    );
    const eighth = (PARAMETERS * FP32) / 8;
    expect(withReference - precomputed).toBeGreaterThanOrEqual(eighth);
    expect(withReference - precomputed).toBeLessThan(eighth + 2 * ROUNDING);
  });

  it('adds no weights where it is the policy with its adapters disabled (LoRA) or precomputed', () => {
    const lora = { method: 'lora' as const, microBatchSize: 2 };
    expect(keptWeights(base({ ...lora, preference: 'dpo', microBatchSize: 1 }))).toBe(
      keptWeights(base(lora)),
    );
    const precomputed = { preference: 'dpo' as const, dpo: { precomputeReferenceLogProbs: true } };
    expect(keptWeights(base(precomputed))).toBe(keptWeights(base({ microBatchSize: 2 })));
  });

  it("caches a bf16 cast of each weight it multiplies until its forward returns (autocast caches a leaf that requires grad, as from_pretrained leaves the reference's)", () => {
    const log = timeline(base({ preference: 'dpo' }));
    // As the reference's head begins: both models' fp32 weights, the cast of every layer's
    // linears of the reference, and the policy's cast of its tied head (the embedding), which
    // its lm_head saved for backward.
    const weights = weightsWhen(log, 'reference head');
    const expected = 2 * PARAMETERS * FP32 + (LAYERS * LAYER_LINEARS + EMBEDDING) * BF16;
    expect(weights).toBeGreaterThanOrEqual(expected);
    expect(weights).toBeLessThan(expected + 3 * ROUNDING);
    // As the DPO loss begins, the policy's forward has returned: its casts gone but that one.
    const beforeReference = weightsWhen(log, 'dpo loss');
    expect(beforeReference).toBeGreaterThanOrEqual(2 * PARAMETERS * FP32 + EMBEDDING * BF16);
    expect(beforeReference).toBeLessThan(2 * PARAMETERS * FP32 + EMBEDDING * BF16 + 2 * ROUNDING);
  });
});

describe("the reference's forward", () => {
  it("counts its layers' tensors as activations, though it runs inside the policy's loss", () => {
    const log = timeline(base({ preference: 'dpo' }));
    let live = 0;
    let atStart: number | undefined;
    let highest = 0;
    for (let i = 0; i < log.length; i++) {
      const moment = log.moments[log.moment[i]];
      const inLayers = moment.step === 2 && moment.what === 'reference layer';
      if (inLayers) atStart ??= live;
      if (ALLOCATED_COMPONENTS[log.component[i]] === 'logitsAndLoss')
        live += log.kind[i] * log.bytes[i];
      if (inLayers) highest = Math.max(highest, live);
    }
    expect(atStart).toBeGreaterThan(0); // the policy's logits, held meanwhile
    expect(highest).toBe(atStart);
  });
  it("returns fp32 logits where Accelerate's prepare_model wraps it, 16-bit ones under FSDP's prepare_fsdp", () => {
    const logits = 2 * 1024 * 128256; // two sequences of 1,024 tokens over the vocabulary
    const largest = (log: EventLog) => {
      let bytes = 0;
      for (let i = 0; i < log.length; i++) {
        const moment = log.moments[log.moment[i]];
        if (moment.step === 2 && moment.what === 'reference head' && log.kind[i] === 1)
          bytes = Math.max(bytes, log.bytes[i]);
      }
      return bytes;
    };
    expect(largest(timeline(base({ preference: 'dpo' })))).toBe(logits * FP32);
    expect(largest(timeline(base({ preference: 'dpo' }, 8)))).toBe(logits * BF16);
    // DeepSpeed runs its own precision: Accelerate's native AMP, and so its wrapper, is off
    const deepspeedAmp = {
      ...base({ preference: 'dpo' }),
      runtime: { preset: 'deepspeed' as const, mixedPrecisionStyle: 'amp' as const },
    };
    expect(largest(timeline(deepspeedAmp))).toBe(logits * BF16);
  });
});

describe('DPO under LoRA', () => {
  it("runs the reference as the policy's base layers alone (PEFT's disable_adapter): no adapter output is made", () => {
    const rank = 16;
    const input = base({
      method: 'lora',
      preference: 'dpo',
      lora: { rank, targetModules: ['q_proj', 'v_proj'] },
    });
    const log = timeline(input);
    // lora_A's output: a row of r per token of the two sequences, bf16 (autocast runs the
    // adapter's matmul in bf16 though PEFT keeps its weights, and casts its input, in fp32)
    const adapterOutput = 2 * 1024 * rank * BF16;
    const made = (what: string) => {
      const sizes = new Set<number>();
      for (let i = 0; i < log.length; i++) {
        const moment = log.moments[log.moment[i]];
        if (moment.step === 2 && moment.what === what && log.kind[i] === 1) sizes.add(log.bytes[i]);
      }
      return sizes;
    };
    expect(made('layer').has(adapterOutput)).toBe(true); // the policy's own forward runs them
    expect(made('reference layer').size).toBeGreaterThan(0);
    expect(made('reference layer').has(adapterOutput)).toBe(false);
  });
});

describe("TRL's disable_dropout", () => {
  const figures = (input: PlanRequestInput) => {
    const { allocatedPeakBytes, reservedPeakBytes } = estimatePlan(input, catalog).memory.perGpu;
    return { allocatedPeakBytes, reservedPeakBytes };
  };
  const lora = (dropout: number, preference: 'none' | 'dpo') =>
    base({
      method: 'lora',
      preference,
      microBatchSize: preference === 'dpo' ? 1 : 2,
      activationCheckpointing: 'none',
      lora: { rank: 16, dropout, targetModules: ['q_proj', 'v_proj'] },
    });

  it("zeroes PEFT's lora_dropout (an nn.Dropout, zeroed after get_peft_model): no mask nor copy", () => {
    expect(figures(lora(0.1, 'dpo'))).toEqual(figures(lora(0, 'dpo')));
    // the same adapters outside TRL keep their dropout
    expect(figures(lora(0.1, 'none'))).not.toEqual(figures(lora(0, 'none')));
  });

  it("zeroes GPT-2's dropout modules (attn_dropout, resid_dropout, the MLP's, drop)", () => {
    const gpt2 = (p: number) => ({
      model_type: 'gpt2',
      n_layer: 2,
      n_embd: 256,
      n_head: 4,
      vocab_size: 1024,
      n_positions: 1024,
      attn_pdrop: p,
      resid_pdrop: p,
      embd_pdrop: p,
    });
    const plan = (p: number, preference: 'none' | 'dpo') =>
      figures({
        model: gpt2(p),
        cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 1 },
        training: { sequenceLength: 512, preference, activationCheckpointing: 'none' },
        runtime: { preset: 'hf-transformers' },
      });
    expect(plan(0.1, 'dpo')).toEqual(plan(0, 'dpo'));
    expect(plan(0.1, 'none')).not.toEqual(plan(0, 'none'));
  });

  it("leaves QLoRA's adapters in bf16, as both trainers convert a quantized model's", () => {
    const qlora = normalizeRequest(base({ method: 'qlora', preference: 'dpo' }));
    expect(qlora.runtime.adapterDtype).toBe('bf16');
    const asked = normalizeRequest({
      ...base({ method: 'qlora', preference: 'reward' }),
      runtime: { preset: 'hf-transformers', adapterDtype: 'fp32' },
    });
    expect(asked.runtime.adapterDtype).toBe('fp32');
    expect(normalizeRequest(base({ method: 'qlora' })).runtime.adapterDtype).toBe('fp32');
  });
});

describe('a DPO step', () => {
  it('trains on both completions: 2 x pairs x tokens per micro-batch', () => {
    const plan = estimatePlan(
      base({ preference: 'dpo', microBatchSize: 2, gradientAccumulationSteps: 3 }),
      catalog,
    );
    expect(plan.performance.tokensPerStep).toBe(2 * 2 * 1024 * 3);
  });

  it("adds the reference's forward to the FLOPs: 2 per active parameter and its attention, a token", () => {
    const flops = (precompute: boolean) =>
      estimatePlan(
        base({ preference: 'dpo', dpo: { precomputeReferenceLogProbs: precompute } }),
        catalog,
      ).performance.flopsPerToken;
    const added = flops(false) - flops(true);
    expect(added).toBeGreaterThanOrEqual(2 * PARAMETERS);
    // the attention core's forward: at most 4 s h a layer (QK^T and PV over the whole sequence)
    expect(added).toBeLessThanOrEqual(2 * PARAMETERS + 4 * 1024 * H * LAYERS);
  });

  it('checkpoints every layer by default, as DPOConfig sets gradient_checkpointing', () => {
    const request = normalizeRequest(base({ preference: 'dpo' }));
    expect(request.training.activationCheckpointing).toBe('full');
    expect(request.training.dpo).toEqual({ precomputeReferenceLogProbs: false });
    const asked = normalizeRequest(base({ preference: 'dpo', activationCheckpointing: 'none' }));
    expect(asked.training.activationCheckpointing).toBe('none');
  });
});

/** Weights live as the first moment named `what` of step `step` begins. */
function weightsWhen(log: EventLog, what: string, step = 2): number {
  const moment = log.moments.findIndex((m) => m.what === what && m.step === step);
  expect(moment).toBeGreaterThanOrEqual(0);
  let live = 0;
  for (let i = 0; i < log.length && log.moment[i] < moment; i++) {
    if (ALLOCATED_COMPONENTS[log.component[i]] === 'weights') live += log.kind[i] * log.bytes[i];
  }
  return live;
}
