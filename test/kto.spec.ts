// KTO as TRL's KTOTrainer runs it (loss_type 'kto'), planned on Llama-3.2-1B (its parameters
// written out in test/support/llama-3.2-1b.ts). A micro-batch of b = 2 labelled completions of
// 1,024 tokens: the policy first scores as many mismatched KL sequences under no_grad, then
// trains on the completions.
import { estimatePlan } from '../src/application/estimate';
import { normalizeRequest, PlanRequestInput } from '../src/engine';
import { ALLOCATED_COMPONENTS, EventLog } from '../src/engine/memory/autograd/events';
import { validateRequest } from '../src/engine/request/validate';
import {
  arch,
  BF16,
  catalog,
  FP32,
  H,
  LAYER_LINEARS,
  LAYERS,
  llama1b,
  PARAMETERS,
  rankTimeline as timeline,
  ROUNDING,
  VOCAB,
} from './support/llama-3.2-1b';

const TOKENS = 1024;
const roundUp = (bytes: number) => Math.ceil(bytes / 512) * 512;
const gpu = catalog.findGpu('h100-80gb')!;
/** Two completions a micro-batch unless told otherwise. */
const base = (training: PlanRequestInput['training'], gpus = 1) =>
  llama1b({ microBatchSize: 2, ...training }, gpus);

/** Step 2's moments, in order, each once per run of it. */
function momentsOfStep(log: EventLog, step = 2): string[] {
  const names: string[] = [];
  log.moments.forEach((m) => {
    if (m.step === step && names[names.length - 1] !== m.what) names.push(m.what);
  });
  return names;
}

/** Bytes of `component` live as the first moment named `what` of step 2 begins. */
function liveWhen(log: EventLog, what: string, component: string): number {
  const moment = log.moments.findIndex((m) => m.what === what && m.step === 2);
  expect(moment).toBeGreaterThanOrEqual(0);
  let live = 0;
  for (let i = 0; i < log.length && log.moment[i] < moment; i++) {
    if (ALLOCATED_COMPONENTS[log.component[i]] === component) live += log.kind[i] * log.bytes[i];
  }
  return live;
}

/** Sizes allocated in step 2's moments named `what`, the `nth` run of them (from 0). */
function allocatedIn(log: EventLog, what: string, nth = 0): number[] {
  const runs: number[][] = [];
  let previous = -1;
  for (let i = 0; i < log.length; i++) {
    const moment = log.moments[log.moment[i]];
    if (moment.step !== 2 || moment.what !== what) continue;
    if (log.moment[i] !== previous && !sameRun(log, previous, log.moment[i])) runs.push([]);
    previous = log.moment[i];
    if (log.kind[i] === 1) runs[runs.length - 1].push(log.bytes[i]);
  }
  return runs[nth] ?? [];
}

/** Two moment indices belong to one run of a name when no other name comes between them. */
function sameRun(log: EventLog, from: number, to: number): boolean {
  if (from < 0) return false;
  for (let m = from; m <= to; m++) if (log.moments[m].what !== log.moments[to].what) return false;
  return true;
}

describe('a KTO step', () => {
  it('scores the KL sequences with the policy before its own forward, and the reference runs two forwards (the KL sequences, then the completions)', () => {
    const moments = momentsOfStep(timeline(base({ preference: 'kto' })));
    const forward = moments.slice(0, moments.indexOf('kto loss') + 1);
    expect(forward.filter((m) => m === 'kl head')).toHaveLength(1);
    expect(forward.indexOf('kl head')).toBeLessThan(forward.indexOf('layer'));
    const afterLoss = moments.slice(moments.indexOf('kto loss'));
    expect(afterLoss.filter((m) => m === 'reference head')).toHaveLength(2);
  });

  it("frees the KL pass's logits before the policy's forward: nothing of the logits and loss lives as it begins", () => {
    const log = timeline(base({ preference: 'kto' }));
    // The KL logits were made: b x s x V in fp32 (Accelerate's autocast wrapper's copy).
    expect(Math.max(...allocatedIn(log, 'kl head'))).toBe(2 * TOKENS * VOCAB * FP32);
    expect(liveWhen(log, 'layer', 'logitsAndLoss')).toBe(0);
  });

  it("caches autocast's bf16 cast of each of the policy's weights through the KL pass, though it runs under no_grad (cached_cast reads requires_grad, not the grad mode)", () => {
    const log = timeline(base({ preference: 'kto' }));
    // As the KL pass's head begins: the policy's and the reference's fp32 weights and a bf16
    // cast of every layer's linears (the tied head's cast comes with the head).
    const expected = 2 * PARAMETERS * FP32 + LAYERS * LAYER_LINEARS * BF16;
    const weights = liveWhen(log, 'kl head', 'weights');
    expect(weights).toBeGreaterThanOrEqual(expected);
    expect(weights).toBeLessThan(expected + 3 * ROUNDING);
  });

  it('copies the chosen and the rejected rows of the shifted logits (index_select) after the entropy, one completion each at b = 2', () => {
    const log = timeline(base({ preference: 'kto' }));
    const oneCompletion = roundUp((TOKENS - 1) * VOCAB * FP32);
    // the second run of the loss's moment: after the reference's forwards
    const made = allocatedIn(log, 'kto loss', 1);
    expect(made.filter((bytes) => bytes === oneCompletion)).toHaveLength(2);
    // the entropy's copy of both shifted sequences comes first (after the loss's scalar)
    const large = made.filter((bytes) => bytes > 2 ** 20);
    expect(large[0]).toBe(roundUp(2 * (TOKENS - 1) * VOCAB * FP32));
  });

  it('keeps a second fp32 copy of the weights under full fine-tuning, none under LoRA', () => {
    const keptWeights = (input: PlanRequestInput) =>
      liveWhen(timeline(input), 'embedding', 'weights');
    const full = keptWeights(base({ preference: 'kto' }));
    expect(full).toBeGreaterThanOrEqual(2 * PARAMETERS * FP32);
    expect(full).toBeLessThan(2 * PARAMETERS * FP32 + 2 * ROUNDING);
    const lora = { method: 'lora' as const };
    expect(keptWeights(base({ ...lora, preference: 'kto' }))).toBe(keptWeights(base(lora)));
  });

  it("runs the KL pass with the policy's adapters and the reference's forwards without them (LoRA)", () => {
    const rank = 16;
    const log = timeline(
      base({ method: 'lora', preference: 'kto', lora: { rank, targetModules: ['q_proj'] } }),
    );
    // lora_A's output: r columns per token of the b = 2 sequences, in bf16 under autocast
    const adapterOutput = 2 * TOKENS * rank * BF16;
    const made = (what: string) => new Set([0, 1].flatMap((nth) => allocatedIn(log, what, nth)));
    expect(made('kl layer').has(adapterOutput)).toBe(true);
    expect(made('reference layer').size).toBeGreaterThan(0);
    expect(made('reference layer').has(adapterOutput)).toBe(false);
  });

  it('trains on b completions a micro-batch: b x tokens x accumulation steps', () => {
    const plan = estimatePlan(
      base({ preference: 'kto', microBatchSize: 4, gradientAccumulationSteps: 3 }),
      catalog,
    );
    expect(plan.performance.tokensPerStep).toBe(4 * TOKENS * 3);
  });

  it("adds the policy's KL forward and the reference's two forwards to the FLOPs", () => {
    const flops = (training: PlanRequestInput['training']) =>
      estimatePlan(base(training), catalog).performance.flopsPerToken;
    // the attention core's forward: at most 4 s h a layer (QK^T and PV over the whole sequence)
    const attention = 4 * TOKENS * H * LAYERS;
    const precomputed = flops({ preference: 'kto', kto: { precomputeReferenceLogProbs: true } });
    const klPass = precomputed - flops({ activationCheckpointing: 'full' });
    expect(klPass).toBeGreaterThanOrEqual(2 * PARAMETERS);
    expect(klPass).toBeLessThanOrEqual(2 * PARAMETERS + attention);
    const reference = flops({ preference: 'kto' }) - precomputed;
    expect(reference).toBeGreaterThanOrEqual(2 * 2 * PARAMETERS);
    expect(reference).toBeLessThanOrEqual(2 * (2 * PARAMETERS + attention));
  });

  it("checkpoints every layer by default (KTOConfig's gradient_checkpointing) and echoes training.kto", () => {
    const request = normalizeRequest(base({ preference: 'kto', dpo: {} }));
    expect(request.training.activationCheckpointing).toBe('full');
    expect(request.training.kto).toEqual({ precomputeReferenceLogProbs: false });
    expect(request.training.dpo).toBeUndefined();
  });

  it('refuses a micro-batch of one by its field: the KL term pairs completions within it', () => {
    const request = normalizeRequest(base({ preference: 'kto', microBatchSize: 1 }), gpu);
    const errors = validateRequest(request, arch, gpu);
    expect(errors.map((e) => e.field)).toEqual(['training.microBatchSize']);
    expect(errors[0].message).toContain('set microBatchSize to 2 or more');
  });
});
