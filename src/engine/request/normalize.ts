// Fills every default of a PlanRequest and applies framework presets; explicit knobs win.
import {
  FrameworkPreset,
  GpuSpec,
  InferenceSettings,
  LoraSettings,
  ModelArchitecture,
  ParallelismSettings,
  PlanRequest,
  QloraSettings,
  ReferenceSettings,
  Recompute,
  RuntimeSettings,
  TrainingSettings,
  Workload,
} from '../vocabulary';
import { sequenceLimit } from '../model/positions';
import { defaultLoraTargets, litgptRunsLayers } from '../model/lora-modules';

type DeepPartial<T> = T extends (infer U)[]
  ? U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** What a user sends: everything but the model and the GPU may be left out. */
export type PlanRequestInput = DeepPartial<Omit<PlanRequest, 'model' | 'cluster'>> & {
  model: PlanRequest['model'];
  cluster: { gpu: string; nodes?: number; gpusPerNode?: number };
};

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** Training unless the request says it serves. */
export const DEFAULT_WORKLOAD: Workload = 'training';

/** One GPU in one node: the smallest cluster, so a request sizes its cluster on purpose. */
export const DEFAULT_CLUSTER: Omit<PlanRequest['cluster'], 'gpu'> = { nodes: 1, gpusPerNode: 1 };

export const DEFAULT_TRAINING: TrainingSettings = {
  method: 'full',
  precision: 'bf16-mixed',
  optimizer: 'adamw',
  microBatchSize: 1,
  sequenceLength: 4096,
  gradientAccumulationSteps: 1,
  activationCheckpointing: 'none',
  preference: 'none',
};

// TRL's DPOConfig: precompute_ref_log_probs False (the reference runs in every step).
export const DEFAULT_DPO: ReferenceSettings = { precomputeReferenceLogProbs: false };
// TRL's KTOConfig: precompute_ref_log_probs False, as DPOConfig's.
export const DEFAULT_KTO: ReferenceSettings = { precomputeReferenceLogProbs: false };
// DPOConfig, KTOConfig and RewardConfig set gradient_checkpointing True where TrainingArguments
// leave it off.
const TRL_DEFAULT_CHECKPOINTING: Recompute = 'full';

// PEFT's LoraConfig defaults for Llama-family models (q_proj and v_proj, r 16 as most recipes).
export const DEFAULT_LORA: LoraSettings = {
  rank: 16,
  alpha: 32,
  dropout: 0,
  targetModules: ['q_proj', 'v_proj'],
  useDora: false, // LoraConfig.use_dora
};
// bitsandbytes' double quantisation, on in the QLoRA paper's recipe and PEFT's examples.
export const DEFAULT_QLORA: QloraSettings = { doubleQuant: true };

export const DEFAULT_PARALLELISM: ParallelismSettings = {
  zeroStage: 0,
  tensorParallel: 1,
  sequenceParallel: false,
  pipelineParallel: 1,
  pipelineSchedule: '1f1b',
  virtualStages: 1,
  contextParallel: 1,
  expertParallel: 1,
  replicateDegree: 1,
  offload: { optimizer: 'none', parameters: 'none' },
};

export const DEFAULT_INFERENCE: InferenceSettings = {
  batchSize: 1,
  promptLength: 1024,
  outputLength: 256,
  weightPrecision: 'bf16',
  quantGroupSize: 128,
  kvCacheDtype: 'bf16',
};

/** Plain PyTorch with DeepSpeed-style ZeRO: the ZeRO paper's 2 + 2 + 12 bytes per parameter. */
export const DEFAULT_RUNTIME: RuntimeSettings = {
  preset: 'none',
  attention: 'flash',
  fusedKernels: false,
  crossEntropy: 'standard',
  optimizerInBackward: false,
  activationOffloading: false,
  mixedPrecisionStyle: 'master-weights',
  fp32Gradients: false,
  foreachOptimizer: true, // torch.optim.AdamW's default implementation on CUDA is foreach
  // Serving plans: the caching allocator holds 3-20% above allocated (docs/memory-model.md §0).
  allocatorFragmentation: 0.06,
  // CUDA context + lazily loaded kernels (docs/memory-model.md §0: 0.3-0.6 GiB) on cards
  // whose catalog entry has no measured cudaContextBytes (normalizeRequest prefers that).
  cudaContextBytes: 512 * MIB,
  // NCCL buffers per communicator group a rank belongs to (hundreds of MiB per group).
  ncclBytes: 256 * MIB,
  bucketElements: 5e8, // DeepSpeed reduce_bucket_size / allgather_bucket_size default
  zero3LiveParameters: 0, // FSDP frees each unit after use
  adapterDtype: 'fp32', // PEFT upcasts adapter weights to fp32 by default
  quantizationKernel: 'bitsandbytes', // HF/PEFT and litgpt quantise with bitsandbytes
  modelCode: 'native', // layers on PyTorch's own kernels (the ZeRO paper's accounting)
  dataParallelEngine: 'pytorch', // DDP at ZeRO-0
  retainLogits: true, // HF returns the logits in its output object, held until the step ends
  fp32Logits: false, // HF >= 4.46 returns compute-dtype logits; its loss upcasts a copy
  gradientsSetToNone: true, // zero_grad(set_to_none=True) is PyTorch 2.x's default
  unshardedGradientAccumulation: false, // DeepSpeed, torchtune and Megatron reduce every micro-batch
  fp8Recipe: 'none', // 16-bit matmuls unless a run converts its linears
  fp8AllGather: false, // torchao's enable_fsdp_float8_all_gather default
  moeCapacityFactor: 0, // dropless: Megatron's default (capacity factor None), Hugging Face's code
  moePadToCapacity: false, // Megatron's --moe-pad-expert-input-to-capacity default
  moeRoutingImbalance: 1, // plan for perfectly balanced routing unless told otherwise
  fsdpReshardAfterForward: 'default', // torchtitan's policy (torchtitan/config/configs.py)
  fsdpReshardAfterBackward: false, // pipelining keeps units gathered (stage.py backward_maybe_with_nosync)
  pipelineFirstStageLessLayers: 1, // torchtitan's default: the embedding counts as a layer
  pipelineLastStageLessLayers: 1, // torchtitan's default: the norm and head count as a layer
  previousStepAlive: false, // a step function's locals (HF Trainer.training_step) die at return
  reentrantCheckpointing: false, // torch.utils.checkpoint's non-reentrant path (transformers 5, torchtune, torchtitan)
  softmaxSavesInput: false, // PyTorch >= 1.11 saves only softmax's output
  bitsandbytesSavesInput: false, // bitsandbytes >= 0.43.2 keeps only the packed 4-bit weight
  fsdpEmbeddingUnits: false, // auto-wrap by decoder layer leaves embedding and head in the root
  materializeBeforeSharding: false, // meta-device init: the shards are the first allocation
  expandableSegments: false, // c10/core/AllocatorConfig.h: expandable_segments_ defaults to false
  mfu: 0.4, // mid-range of published 35-55% MFU for large dense training
  interNodeBandwidthBytesPerSecond: 50e9, // 400 Gb/s InfiniBand NDR per GPU, one direction
  safetyMarginBytes: 1 * GIB,
};

/** Each framework's defaults for the knobs that move memory (documented in the README). */
export const PRESETS: Record<Exclude<FrameworkPreset, 'none'>, Partial<RuntimeSettings>> = {
  // HF Trainer: AMP autocast over fp32 params, SDPA, eager RMSNorm/SiLU, logits.float() loss.
  'hf-transformers': {
    mixedPrecisionStyle: 'amp',
    attention: 'flash',
    fusedKernels: false,
    crossEntropy: 'standard',
    foreachOptimizer: true,
    adapterDtype: 'fp32',
    modelCode: 'hf-transformers',
  },
  // torchtune recipes: bf16 params, fused AdamW, CEWithChunkedOutputLoss, adapters in bf16.
  torchtune: {
    attention: 'flash',
    fusedKernels: false,
    crossEntropy: 'chunked',
    foreachOptimizer: false,
    adapterDtype: 'bf16',
    quantizationKernel: 'torchao', // torchtune's QLoRA uses torchao's NF4Tensor
    retainLogits: false, // recipes `del logits` before backward
    fp32Logits: true, // TransformerDecoder's unchunked head: self.output(h).float()
  },
  // torchtitan: FSDP2 fp32 shards with bf16 compute and fp32 reduce, fused AdamW, fp32 loss.
  torchtitan: {
    mixedPrecisionStyle: 'fsdp2',
    retainLogits: false, // train loop: `del pred` before backward
    fp32Logits: true, // Transformer.forward: self.output(h).float()
    attention: 'flash',
    fusedKernels: false,
    crossEntropy: 'standard',
    foreachOptimizer: false,
    expandableSegments: true, // run_train.sh launches with PYTORCH_ALLOC_CONF="expandable_segments:True"
  },
  // litgpt: bf16-true, chunked lm_head (128) with bf16 cross-entropy, torch AdamW (foreach).
  litgpt: {
    attention: 'flash',
    fusedKernels: false,
    crossEntropy: 'chunked',
    foreachOptimizer: true,
    adapterDtype: 'bf16',
    quantizationKernel: 'bitsandbytes-lightning', // Fabric's BitsandbytesPrecision plugin
    unshardedGradientAccumulation: true, // Fabric's no_backward_sync is FSDP's no_sync()
    previousStepAlive: true, // fit()'s `logits` and `loss` are reassigned only after the next forward
    modelCode: 'litgpt',
  },
  // DeepSpeed: fp16/bf16 params + fp32 master, FusedAdam, 5e8-element buckets, HF model code.
  deepspeed: {
    mixedPrecisionStyle: 'master-weights',
    attention: 'flash',
    fusedKernels: false,
    crossEntropy: 'standard',
    foreachOptimizer: false,
    fp32Gradients: false,
    bucketElements: 5e8,
    gradientsSetToNone: false, // ZeRO's gradient partitions outlive the step
    zero3LiveParameters: 1e9, // stage3_max_live_parameters default
    modelCode: 'hf-transformers', // DeepSpeed trains Hugging Face models
    dataParallelEngine: 'deepspeed',
  },
  // Megatron-LM: fp32 main grads, fused kernels (TE), flash, fused vocab-parallel cross-entropy.
  megatron: {
    mixedPrecisionStyle: 'master-weights',
    attention: 'flash',
    fusedKernels: true,
    crossEntropy: 'fused',
    foreachOptimizer: false,
    fp32Gradients: true,
    gradientsSetToNone: false, // the contiguous main-grad buffer outlives the step
    dataParallelEngine: 'megatron',
    // get_num_layers_to_build: an even split unless account_for_embedding/loss_in_pipeline_split
    pipelineFirstStageLessLayers: 0,
    pipelineLastStageLessLayers: 0,
  },
};

/** Training settings a preset implies unless the user set them (precision, optimizer). */
const PRESET_TRAINING: Partial<Record<FrameworkPreset, Partial<TrainingSettings>>> = {
  torchtune: { precision: 'bf16-pure' },
  litgpt: { precision: 'bf16-pure' },
  torchtitan: { precision: 'bf16-mixed' },
};

function defined<T extends object>(value: T | undefined): Partial<T> {
  if (!value) return {};
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined && v !== null),
  ) as Partial<T>;
}

/** What the defaults read of the model: its type and fused q/k/v (PEFT's default targets) and
 * what fixes its sequence length (the default sequence length). */
type RequestArchitecture = Partial<
  Pick<
    ModelArchitecture,
    | 'modelType'
    | 'fusedQkv'
    | 'learnedPositionEmbeddings'
    | 'maxPositionEmbeddings'
    | 'disentangled'
  >
>;

const isWholeArchitecture = (arch?: RequestArchitecture): arch is ModelArchitecture =>
  arch !== undefined && 'numLayers' in arch;

/** Whether LoRA takes litgpt's flags: its model code asked for, and its Block running the
 * layers where the architecture is known whole (else Hugging Face's code stands in). */
function litgptFlags(arch: RequestArchitecture | undefined, runtime: RuntimeSettings): boolean {
  if (runtime.modelCode !== 'litgpt') return false;
  return !isWholeArchitecture(arch) || litgptRunsLayers(arch, { runtime });
}

/** The default sequence length, or the most the model's code runs where that is less (BERT's
 * learned 512 positions, GPT-2's 1,024, MPT-7B's ALiBi over 2,048): a longer one cannot run.
 * DeBERTa-v2's relative positions run past max_position_embeddings, but it is the length they
 * were trained over (512 for DeBERTa-v3, its tokenizer's model_max_length too): the default. */
function defaultSequenceLength(arch?: RequestArchitecture): number {
  const limit = arch ? sequenceLimit(arch) : undefined;
  const trained = arch?.disentangled ? arch.maxPositionEmbeddings : undefined;
  return Math.min(DEFAULT_TRAINING.sequenceLength, limit?.tokens ?? Infinity, trained ?? Infinity);
}

/** The request with every default filled in, as the result echoes it. The GPU, when given,
 * supplies its measured CUDA context as the default for runtime.cudaContextBytes. */
export function normalizeRequest(
  input: PlanRequestInput,
  gpu?: Pick<GpuSpec, 'cudaContextBytes'>,
  arch?: RequestArchitecture,
): PlanRequest {
  const runtimeInput = defined(input.runtime as Partial<RuntimeSettings> | undefined);
  const preset = (runtimeInput.preset ?? 'none') as FrameworkPreset;
  const cluster = {
    gpu: input.cluster.gpu,
    nodes: input.cluster.nodes ?? DEFAULT_CLUSTER.nodes,
    gpusPerNode: input.cluster.gpusPerNode ?? DEFAULT_CLUSTER.gpusPerNode,
  };
  const training = normalizeTraining(input, preset, arch);
  const parallelism = normalizeParallelism(input, preset);
  const gpus = cluster.nodes * cluster.gpusPerNode;
  const runtime = normalizeRuntime(runtimeInput, preset, training, gpus, gpu);
  if (training.lora && defined(input.training?.lora).targetModules === undefined) {
    training.lora.targetModules = defaultLoraTargets(arch, litgptFlags(arch, runtime));
  }

  const request: PlanRequest = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    tags: (input.tags ?? []).filter((t): t is string => typeof t === 'string'),
    workload: input.workload ?? DEFAULT_WORKLOAD,
    model: input.model,
    cluster,
    training,
    parallelism,
    runtime,
  };
  if (request.workload === 'inference') request.inference = normalizeInference(input, arch);
  return request;
}

/** Serving settings: defaults, then the user's. A model whose code fixes the sequence's length
 * (positions.ts) gets a default prompt that leaves room for the output within it (GPT-2's 1,024
 * positions: a 768-token prompt and 256 generated), as training's default sequence does. */
function normalizeInference(
  input: PlanRequestInput,
  arch?: RequestArchitecture,
): InferenceSettings {
  const given = defined(input.inference as Partial<InferenceSettings> | undefined);
  const inference = { ...DEFAULT_INFERENCE, ...given };
  const limit = arch ? sequenceLimit(arch) : undefined;
  const room = limit ? limit.tokens - inference.outputLength : Infinity;
  if (given.promptLength === undefined && room > 0) {
    inference.promptLength = Math.min(inference.promptLength, room);
  }
  return inference;
}

/** Training settings: defaults, then the preset's, then the user's; LoRA and QLoRA settings only
 * for the methods that use them. */
function normalizeTraining(
  input: PlanRequestInput,
  preset: FrameworkPreset,
  arch?: RequestArchitecture,
): TrainingSettings {
  const trainingInput = defined(input.training as Partial<TrainingSettings> | undefined);
  const training: TrainingSettings = {
    ...DEFAULT_TRAINING,
    sequenceLength: defaultSequenceLength(arch),
    ...(PRESET_TRAINING[preset] ?? {}),
    ...trainingInput,
    lora: undefined,
    qlora: undefined,
  } as TrainingSettings;
  if (training.method === 'lora' || training.method === 'qlora') {
    // targetModules left out take the model code's default once the runtime is known.
    training.lora = { ...DEFAULT_LORA, ...defined(trainingInput.lora) };
  }
  if (training.method === 'qlora') {
    training.qlora = { ...DEFAULT_QLORA, ...defined(trainingInput.qlora) };
  }
  if (training.preference === 'dpo')
    training.dpo = { ...DEFAULT_DPO, ...defined(trainingInput.dpo) };
  else delete training.dpo;
  if (training.preference === 'kto')
    training.kto = { ...DEFAULT_KTO, ...defined(trainingInput.kto) };
  else delete training.kto;
  if (training.preference !== 'none' && trainingInput.activationCheckpointing === undefined)
    training.activationCheckpointing = TRL_DEFAULT_CHECKPOINTING;
  if (trainingInput.tokensToTrain === undefined) delete training.tokensToTrain;
  return training;
}

/** Parallelism settings: defaults, then the preset's sharding, then the user's. */
function normalizeParallelism(
  input: PlanRequestInput,
  preset: FrameworkPreset,
): ParallelismSettings {
  const parallelInput = defined(input.parallelism as Partial<ParallelismSettings> | undefined);
  return {
    ...DEFAULT_PARALLELISM,
    // torchtitan shards with FSDP2 (ZeRO-3) by default.
    ...(preset === 'torchtitan' ? { zeroStage: 3 as const } : {}),
    ...parallelInput,
    offload: { ...DEFAULT_PARALLELISM.offload, ...defined(parallelInput.offload) },
  };
}

/** Runtime settings: defaults, the GPU's CUDA context, the preset's, then the user's. */
function normalizeRuntime(
  runtimeInput: Partial<RuntimeSettings>,
  preset: FrameworkPreset,
  training: TrainingSettings,
  gpus: number,
  gpu?: Pick<GpuSpec, 'cudaContextBytes'>,
): RuntimeSettings {
  const presetRuntime = preset === 'none' ? {} : PRESETS[preset];
  const runtime: RuntimeSettings = {
    ...DEFAULT_RUNTIME,
    ...(gpu?.cudaContextBytes !== undefined ? { cudaContextBytes: gpu.cudaContextBytes } : {}),
    ...presetRuntime,
    ...runtimeInput,
    preset,
  } as RuntimeSettings;
  // TRL's DPO, KTO and reward trainers convert a quantized model's adapters to bf16 ("When using
  // QLoRA, the PEFT adapter weights are converted to bf16": dpo_trainer.py, kto_trainer.py,
  // reward_trainer.py).
  if (
    training.preference !== 'none' &&
    training.method === 'qlora' &&
    runtimeInput.adapterDtype === undefined
  ) {
    runtime.adapterDtype = 'bf16';
  }
  // torchtune's single-device full fine-tune applies the optimizer in backward by default
  // (its low-memory configs, which accumulate no gradients: the recipe refuses both at once).
  if (
    preset === 'torchtune' &&
    runtimeInput.optimizerInBackward === undefined &&
    training.method === 'full' &&
    training.gradientAccumulationSteps === 1 &&
    gpus === 1
  ) {
    runtime.optimizerInBackward = true;
  }
  return runtime;
}
