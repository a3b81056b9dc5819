// Every closed set of values a request may name: one list per set, which the engine's types,
// the HTTP DTOs, the OpenAPI document, the CLI and the web page all read.

export const WORKLOADS = ['training', 'inference'] as const;
export type Workload = (typeof WORKLOADS)[number];
export const TRAINING_METHODS = ['full', 'lora', 'qlora'] as const;
export type TrainingMethod = (typeof TRAINING_METHODS)[number];
/** What the step optimises: the next-token loss, TRL's DPO (the policy over chosen and
 * rejected completions against a reference model's log-probabilities), TRL's reward model
 * (a one-label sequence classifier scoring chosen above rejected), or TRL's KTO (labelled
 * completions against a reference, with a KL estimate). */
export const PREFERENCE_OBJECTIVES = ['none', 'dpo', 'reward', 'kto'] as const;
export type PreferenceObjective = (typeof PREFERENCE_OBJECTIVES)[number];
/** The objectives that score the policy's log-probabilities against a reference model. */
export type ReferenceScoredObjective = Extract<PreferenceObjective, 'dpo' | 'kto'>;
export const QUANTIZATION_KERNELS = ['bitsandbytes', 'bitsandbytes-lightning', 'torchao'] as const;
export type QuantizationKernel = (typeof QUANTIZATION_KERNELS)[number];
export const PRECISIONS = ['fp32', 'fp16-mixed', 'bf16-mixed', 'bf16-pure'] as const;
export type Precision = (typeof PRECISIONS)[number];
export const OPTIMIZERS = [
  'adamw',
  'adamw-8bit',
  'paged-adamw-8bit',
  'sgd',
  'sgd-momentum',
  'adafactor',
  'lion',
] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];
export const RECOMPUTE_MODES = ['none', 'selective', 'full'] as const;
export type Recompute = (typeof RECOMPUTE_MODES)[number];
export const PIPELINE_SCHEDULES = ['1f1b', 'interleaved', 'gpipe'] as const;
export type PipelineSchedule = (typeof PIPELINE_SCHEDULES)[number];
/** torchtitan's fsdp_reshard_after_forward: 'default' reshards every layer but the last, and
 * none under pipeline parallelism; 'always' and 'never' force it. */
export const FSDP_RESHARD_POLICIES = ['default', 'always', 'never'] as const;
export type FsdpReshardPolicy = (typeof FSDP_RESHARD_POLICIES)[number];
/** fp8 training: torchao's Float8Linear with tensorwise or rowwise scaling (the high-precision
 * input and weight saved for backward), or Transformer Engine's fp8 linears (the fp8 input
 * saved, an fp8 weight cache kept). */
export const FP8_RECIPES = ['none', 'tensorwise', 'rowwise', 'transformer-engine'] as const;
export type Fp8Recipe = (typeof FP8_RECIPES)[number];
export const OFFLOAD_TARGETS = ['none', 'cpu'] as const;
export type OffloadTarget = (typeof OFFLOAD_TARGETS)[number];
export const ATTENTION_KERNELS = ['flash', 'eager'] as const;
export type AttentionKernel = (typeof ATTENTION_KERNELS)[number];
export const CROSS_ENTROPY_KINDS = ['standard', 'chunked', 'fused'] as const;
export type CrossEntropyKind = (typeof CROSS_ENTROPY_KINDS)[number];
export const FRAMEWORK_PRESETS = [
  'none',
  'hf-transformers',
  'torchtune',
  'torchtitan',
  'litgpt',
  'deepspeed',
  'megatron',
] as const;
export type FrameworkPreset = (typeof FRAMEWORK_PRESETS)[number];
/** How mixed precision holds its weights: AMP autocasts fp32 params; master keeps 16-bit params
 * plus an fp32 copy (DeepSpeed/Megatron); fsdp2 keeps fp32 shards and gathers 16-bit units. */
export const MIXED_PRECISION_STYLES = ['amp', 'master-weights', 'fsdp2'] as const;
export type MixedPrecisionStyle = (typeof MIXED_PRECISION_STYLES)[number];
/** Whose model code runs the layers: Hugging Face's modeling files, litgpt's, or code written
 * against PyTorch's own kernels (torchtune, torchtitan, Megatron, the ZeRO paper's baseline). */
export const MODEL_CODES = ['native', 'hf-transformers', 'litgpt'] as const;
export type ModelCode = (typeof MODEL_CODES)[number];
/** Who owns the data-parallel gradient sync: torch DDP/FSDP (ZeRO-1/2 planned with DeepSpeed's
 * buckets, which torch has no engine of its own for), DeepSpeed's engine, or Megatron's
 * distributed optimizer with its contiguous gradient buffer. */
export const DATA_PARALLEL_ENGINES = ['pytorch', 'deepspeed', 'megatron'] as const;
export type DataParallelEngine = (typeof DATA_PARALLEL_ENGINES)[number];
export const WEIGHT_PRECISIONS = ['fp32', 'bf16', 'fp16', 'fp8', 'int8', 'int4'] as const;
export type WeightPrecision = (typeof WEIGHT_PRECISIONS)[number];
export const KV_CACHE_DTYPES = ['bf16', 'fp8', 'int8'] as const;
export type KvCacheDtype = (typeof KV_CACHE_DTYPES)[number];
export const ZERO_STAGES = [0, 1, 2, 3] as const;
export type ZeroStage = (typeof ZERO_STAGES)[number];
export const ADAPTER_DTYPES = ['fp32', 'bf16'] as const;
export type AdapterDtype = (typeof ADAPTER_DTYPES)[number];
export const PHASES = ['forward', 'backward', 'optimizer'] as const;
export type Phase = (typeof PHASES)[number];

/** The memory components of a rank, in the order every table, chart and CSV shows them. */
export const MEMORY_COMPONENTS = [
  'weights',
  'gradients',
  'optimizerStates',
  'masterWeights',
  'activations',
  'logitsAndLoss',
  'buffers',
  'runtimeOverhead',
  'kvCache',
] as const;
export type MemoryComponent = (typeof MEMORY_COMPONENTS)[number];

/** The kinds of calibration row a plan's memory error is read from (data/calibration): one GPU
 * by training method, or any run on more than one GPU. */
export const CALIBRATION_CATEGORIES = ['full', 'lora', 'qlora', 'multi-gpu'] as const;
export type CalibrationCategory = (typeof CALIBRATION_CATEGORIES)[number];
/** How a rank meets its card: under the top of its 80% range, only at the estimate, or not. */
export const VERDICTS = ['fits', 'tight', 'does not fit'] as const;
export type Verdict = (typeof VERDICTS)[number];
/** The changes advice may propose to make a plan fit. */
export const ADVICE_KINDS = [
  'activation-checkpointing',
  'micro-batch',
  'zero-stage',
  'tensor-parallel',
  'pipeline-parallel',
  'context-parallel',
  'offload-optimizer',
  'offload-parameters',
  'optimizer',
  'loss',
  'method',
  'more-gpus',
  'layout',
  'combined',
  'sequence-length',
] as const;
export type AdviceKind = (typeof ADVICE_KINDS)[number];
/** What a piece of advice does to the training: the same computation laid out differently, a
 * cheaper approximation of it (8-bit states, adapters), or another job (shorter sequences). */
export const ADVICE_EFFECTS = ['same-training', 'approximates-training', 'changes-job'] as const;
export type AdviceEffect = (typeof ADVICE_EFFECTS)[number];
