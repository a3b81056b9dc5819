// The changes advice tries on a training plan that does not fit, each as the request fields it
// sets, mildest first within its kind (less recomputation, less sharding, fewer bits cut).
import {
  AdviceEffect,
  AdviceKind,
  MIN_TOKENS_PER_CONTEXT_RANK,
  PlanResult,
  Recompute,
} from '../engine';

/** One change: the fields it sets, by dotted path, and what it does, in words. */
export interface Change {
  kind: AdviceKind;
  effect: AdviceEffect;
  changes: Record<string, unknown>;
  words: string;
}

/** The ways of making one kind of change, mildest first: advice keeps the first that fits. */
export interface ChangeScan {
  kind: AdviceKind;
  effect: AdviceEffect;
  steps: Change[];
}

/** Shortest sequence advice goes down to: below it few fine-tuning sets are useful. */
const MIN_SEQUENCE = 128;

const RECOMPUTE_WORDS: Record<Recompute, string> = {
  none: 'no activation checkpointing',
  selective:
    "selective activation checkpointing (torchtitan's policy: attention outputs and every other matmul's kept, the rest recomputed in backward)",
  full: 'full activation checkpointing (each layer recomputed in backward)',
};

function scan(kind: AdviceKind, effect: AdviceEffect, steps: Omit<Change, 'kind' | 'effect'>[]) {
  return { kind, effect, steps: steps.map((step) => ({ kind, effect, ...step })) };
}

/** Doublings tried per degree: up to 64x the current, more than a node or a model split takes. */
const MAX_DOUBLINGS = 6;

/** Multiples of `value` by 2, 4, 8, ... while `keep` holds. */
function doublings(value: number, keep: (next: number) => boolean): number[] {
  const found: number[] = [];
  for (let next = value * 2; keep(next) && found.length < MAX_DOUBLINGS; next *= 2)
    found.push(next);
  return found;
}

function checkpointing(result: PlanResult): ChangeScan {
  const order: Recompute[] = ['none', 'selective', 'full'];
  const current = order.indexOf(result.request.training.activationCheckpointing);
  return scan(
    'activation-checkpointing',
    'same-training',
    order.slice(current + 1).map((mode) => ({
      changes: { 'training.activationCheckpointing': mode },
      words: RECOMPUTE_WORDS[mode][0].toUpperCase() + RECOMPUTE_WORDS[mode].slice(1),
    })),
  );
}

function microBatch(result: PlanResult): ChangeScan {
  const { microBatchSize: mb, gradientAccumulationSteps: steps } = result.request.training;
  const global = mb * steps * result.layout.dataParallel;
  const sizes: number[] = [];
  for (let m = Math.floor(mb / 2); m >= 1; m = Math.floor(m / 2)) if (mb % m === 0) sizes.push(m);
  return scan(
    'micro-batch',
    'same-training',
    sizes.map((m) => ({
      changes: {
        'training.microBatchSize': m,
        'training.gradientAccumulationSteps': (steps * mb) / m,
      },
      words: `Micro-batch ${m} with ${(steps * mb) / m} accumulation steps (the same ${global} sequences per optimizer step)`,
    })),
  );
}

const ZERO_WORDS = ['', 'optimizer states', 'optimizer states and gradients', 'weights too'];

function zeroStage(result: PlanResult): ChangeScan {
  const { zeroStage: stage } = result.request.parallelism;
  const shards = result.layout.dataParallel * result.layout.contextParallel;
  const stages = shards > 1 ? [1, 2, 3].filter((z) => z > stage) : [];
  return scan(
    'zero-stage',
    'same-training',
    stages.map((z) => ({
      changes: { 'parallelism.zeroStage': z },
      words: `ZeRO stage ${z}: ${ZERO_WORDS[z]} sharded over the ${shards} data-parallel ranks`,
    })),
  );
}

/** A parallel degree raised on the same GPUs: data parallel shrinks by as much, and the
 * accumulation grows by as much to keep the global batch. */
function parallelDegree(
  result: PlanResult,
  kind: 'tensor-parallel' | 'pipeline-parallel' | 'context-parallel',
): ChangeScan {
  const { layout, request } = result;
  const field = {
    'tensor-parallel': 'tensorParallel',
    'pipeline-parallel': 'pipelineParallel',
    'context-parallel': 'contextParallel',
  }[kind] as 'tensorParallel' | 'pipelineParallel' | 'contextParallel';
  const current = layout[field];
  const others =
    (layout.tensorParallel * layout.pipelineParallel * layout.contextParallel) / current;
  const sequence = request.training.sequenceLength;
  const fitsLayout = (degree: number) =>
    layout.gpus % (degree * others) === 0 &&
    (kind !== 'tensor-parallel' || degree <= layout.gpusPerNode) &&
    (kind !== 'context-parallel' ||
      (sequence % degree === 0 && sequence / degree >= MIN_TOKENS_PER_CONTEXT_RANK));
  const steps = request.training.gradientAccumulationSteps;
  return scan(
    kind,
    'same-training',
    doublings(current, fitsLayout).map((degree) => ({
      changes: {
        [`parallelism.${field}`]: degree,
        'training.gradientAccumulationSteps': (steps * degree) / current,
        ...(kind === 'tensor-parallel' ? { 'parallelism.sequenceParallel': true } : {}),
      },
      words: `${kind[0].toUpperCase()}${kind.slice(1).replace('-', ' ')} ${degree} on the same ${layout.gpus} GPUs (data parallel ${(layout.dataParallel * current) / degree}, ${(steps * degree) / current} accumulation steps keep the global batch)`,
    })),
  );
}

function offload(result: PlanResult): ChangeScan[] {
  const { parallelism } = result.request;
  const shards = result.layout.dataParallel * result.layout.contextParallel;
  const scans: ChangeScan[] = [];
  if (parallelism.offload.optimizer === 'none') {
    // ZeRO-Offload runs under a ZeRO stage: stage 1 across ranks, stage 2 on one (DeepSpeed).
    const stage = Math.max(parallelism.zeroStage, shards > 1 ? 1 : 2);
    scans.push(
      scan('offload-optimizer', 'same-training', [
        {
          changes: { 'parallelism.offload.optimizer': 'cpu', 'parallelism.zeroStage': stage },
          words: `Offload the optimizer to CPU memory (ZeRO-Offload at stage ${stage}; the step runs on the host)`,
        },
      ]),
    );
  }
  if (parallelism.offload.parameters === 'none') {
    scans.push(
      scan('offload-parameters', 'same-training', [
        {
          changes: {
            'parallelism.offload.parameters': 'cpu',
            'parallelism.offload.optimizer': 'cpu',
            'parallelism.zeroStage': 3,
          },
          words:
            'Offload parameters and optimizer to CPU memory (ZeRO-3 offload; weights stream in per layer)',
        },
      ]),
    );
  }
  return scans;
}

function optimizer(result: PlanResult): ChangeScan {
  const steps =
    result.request.training.optimizer === 'adamw'
      ? [
          {
            optimizer: 'adamw-8bit',
            words:
              '8-bit AdamW (bitsandbytes): 2 bytes of state per trained parameter instead of 8',
          },
          {
            optimizer: 'paged-adamw-8bit',
            words: 'Paged 8-bit AdamW (bitsandbytes): 8-bit states in paged unified memory',
          },
        ]
      : [];
  return scan(
    'optimizer',
    'approximates-training',
    steps.map(({ optimizer: kind, words }) => ({ changes: { 'training.optimizer': kind }, words })),
  );
}

function loss(result: PlanResult): ChangeScan {
  // Standard keeps whole logits; chunked keeps a chunk at a time; fused keeps none.
  const order = ['standard', 'chunked', 'fused'];
  const steps = [
    {
      kind: 'chunked',
      words: 'Chunked cross-entropy: the head and loss run in chunks, no full fp32 logits',
    },
    { kind: 'fused', words: 'Fused linear cross-entropy: the logits are never materialised' },
  ].slice(order.indexOf(result.request.runtime.crossEntropy));
  return scan(
    'loss',
    'same-training',
    steps.map((step) => ({ changes: { 'runtime.crossEntropy': step.kind }, words: step.words })),
  );
}

function method(result: PlanResult): ChangeScan {
  const current = result.request.training.method;
  const steps = [
    {
      kind: 'lora',
      words: 'LoRA instead of full fine-tuning: adapters trained, base weights frozen',
    },
    { kind: 'qlora', words: 'QLoRA: adapters trained over 4-bit (NF4) frozen base weights' },
  ].filter((step) => (current === 'full' ? true : current === 'lora' && step.kind === 'qlora'));
  return scan(
    'method',
    'approximates-training',
    steps.map((step) => ({ changes: { 'training.method': step.kind }, words: step.words })),
  );
}

/** Shorter sequences, longest first: each halving down to MIN_SEQUENCE. */
export function sequenceLength(result: PlanResult): ChangeScan {
  const current = result.request.training.sequenceLength;
  const lengths: number[] = [];
  for (let s = Math.floor(current / 2); s >= MIN_SEQUENCE; s = Math.floor(s / 2)) lengths.push(s);
  return scan(
    'sequence-length',
    'changes-job',
    lengths.map((s) => ({
      changes: { 'training.sequenceLength': s },
      words: `Sequence length ${s} instead of ${current}: this changes the job (shorter contexts)`,
    })),
  );
}

/** Every kind of change that keeps the GPUs and the job, for a training plan. */
export function changeScans(result: PlanResult): ChangeScan[] {
  return [
    checkpointing(result),
    microBatch(result),
    zeroStage(result),
    parallelDegree(result, 'tensor-parallel'),
    parallelDegree(result, 'pipeline-parallel'),
    parallelDegree(result, 'context-parallel'),
    loss(result),
    ...offload(result),
    optimizer(result),
    method(result),
  ].filter((s) => s.steps.length > 0);
}
