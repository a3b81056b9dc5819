// The engine's closed sets of values, the order of memory components and every default, as one
// object: GET /api/v1/vocabulary serves it, and the web page builds its selects and charts from it.
import {
  ADAPTER_DTYPES,
  ATTENTION_KERNELS,
  CROSS_ENTROPY_KINDS,
  DATA_PARALLEL_ENGINES,
  DEFAULT_CLUSTER,
  DEFAULT_DPO,
  DEFAULT_KTO,
  DEFAULT_INFERENCE,
  DEFAULT_LORA,
  DEFAULT_PARALLELISM,
  DEFAULT_QLORA,
  DEFAULT_RUNTIME,
  DEFAULT_TRAINING,
  DEFAULT_WORKLOAD,
  FP8_RECIPES,
  FRAMEWORK_PRESETS,
  FSDP_RESHARD_POLICIES,
  KV_CACHE_DTYPES,
  MEMORY_COMPONENTS,
  MIXED_PRECISION_STYLES,
  MODEL_CODES,
  OFFLOAD_TARGETS,
  OPTIMIZERS,
  PHASES,
  PIPELINE_SCHEDULES,
  PRECISIONS,
  QUANTIZATION_KERNELS,
  PREFERENCE_OBJECTIVES,
  RECOMPUTE_MODES,
  SEARCH_OBJECTIVES,
  TRAINING_METHODS,
  VARY_FIELDS,
  VERDICTS,
  WEIGHT_PRECISIONS,
  WORKLOADS,
  ZERO_STAGES,
} from '../engine';

/** Each list under the name of the request field (or fields) it is the set of values for. */
export const ENUMS = {
  workload: WORKLOADS,
  method: TRAINING_METHODS,
  preference: PREFERENCE_OBJECTIVES,
  precision: PRECISIONS,
  optimizer: OPTIMIZERS,
  activationCheckpointing: RECOMPUTE_MODES,
  zeroStage: ZERO_STAGES,
  pipelineSchedule: PIPELINE_SCHEDULES,
  offload: OFFLOAD_TARGETS,
  preset: FRAMEWORK_PRESETS,
  attention: ATTENTION_KERNELS,
  crossEntropy: CROSS_ENTROPY_KINDS,
  mixedPrecisionStyle: MIXED_PRECISION_STYLES,
  modelCode: MODEL_CODES,
  dataParallelEngine: DATA_PARALLEL_ENGINES,
  adapterDtype: ADAPTER_DTYPES,
  quantizationKernel: QUANTIZATION_KERNELS,
  fp8Recipe: FP8_RECIPES,
  fsdpReshardAfterForward: FSDP_RESHARD_POLICIES,
  weightPrecision: WEIGHT_PRECISIONS,
  kvCacheDtype: KV_CACHE_DTYPES,
  phase: PHASES,
  objective: SEARCH_OBJECTIVES,
  vary: VARY_FIELDS,
  verdict: VERDICTS,
} as const;

/** What a request left out becomes, section by section (normalizeRequest's own objects). */
export const DEFAULTS = {
  workload: DEFAULT_WORKLOAD,
  cluster: DEFAULT_CLUSTER,
  training: DEFAULT_TRAINING,
  lora: DEFAULT_LORA,
  qlora: DEFAULT_QLORA,
  dpo: DEFAULT_DPO,
  kto: DEFAULT_KTO,
  parallelism: DEFAULT_PARALLELISM,
  runtime: DEFAULT_RUNTIME,
  inference: DEFAULT_INFERENCE,
} as const;

export interface Vocabulary {
  enums: typeof ENUMS;
  /** Memory components in the order every table, chart and CSV shows them. */
  memoryComponents: typeof MEMORY_COMPONENTS;
  defaults: typeof DEFAULTS;
}

export const VOCABULARY: Vocabulary = {
  enums: ENUMS,
  memoryComponents: MEMORY_COMPONENTS,
  defaults: DEFAULTS,
};
