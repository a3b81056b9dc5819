// The shape of a PlanRequest (api-contract.md): every field checked, unknown fields rejected.
// Defaults are not applied here: the engine's normalizeRequest fills them and the result echoes
// them; the documented defaults below are the engine's own DEFAULT_* objects.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';
import {
  IsIntegerInRange,
  IsLabelList,
  IsModelReference,
  IsNumberInRange,
  IsOneOf,
  IsPlainObject,
  IsTargetModules,
  IsTrueOrFalse,
  IsGpuId,
} from '../../common/validators';
import type { PlanRequestInput } from '../../engine';
import {
  ADAPTER_DTYPES,
  ATTENTION_KERNELS,
  CROSS_ENTROPY_KINDS,
  DATA_PARALLEL_ENGINES,
  FP8_RECIPES,
  FSDP_RESHARD_POLICIES,
  DEFAULT_CLUSTER,
  DEFAULT_DPO,
  DEFAULT_INFERENCE,
  DEFAULT_LORA,
  DEFAULT_PARALLELISM,
  DEFAULT_QLORA,
  DEFAULT_RUNTIME,
  DEFAULT_TRAINING,
  DEFAULT_WORKLOAD,
  FRAMEWORK_PRESETS,
  KV_CACHE_DTYPES,
  MIXED_PRECISION_STYLES,
  MODEL_CODES,
  OFFLOAD_TARGETS,
  OPTIMIZERS,
  PIPELINE_SCHEDULES,
  PRECISIONS,
  PRESETS,
  QUANTIZATION_KERNELS,
  REQUEST_LIMITS,
  RECOMPUTE_MODES,
  PREFERENCE_OBJECTIVES,
  TRAINING_METHODS,
  WEIGHT_PRECISIONS,
  WORKLOADS,
  ZERO_STAGES,
  AttentionKernel,
  CrossEntropyKind,
  DataParallelEngine,
  FrameworkPreset,
  Fp8Recipe,
  FsdpReshardPolicy,
  KvCacheDtype,
  MixedPrecisionStyle,
  ModelCode,
  OffloadTarget,
  OptimizerKind,
  PipelineSchedule,
  Precision,
  QuantizationKernel,
  PreferenceObjective,
  Recompute,
  TrainingMethod,
  WeightPrecision,
  Workload,
} from '../../engine';

export class ClusterDto {
  @ApiProperty({ description: 'GPU catalog id (GET /api/v1/gpus)', example: 'a100-80gb' })
  @IsGpuId('a100-80gb')
  gpu: string;

  @ApiPropertyOptional({
    default: DEFAULT_CLUSTER.nodes,
    minimum: 1,
    maximum: REQUEST_LIMITS.nodes.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.nodes)
  nodes?: number;

  @ApiPropertyOptional({
    default: DEFAULT_CLUSTER.gpusPerNode,
    minimum: 1,
    example: 8,
    maximum: REQUEST_LIMITS.gpusPerNode.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.gpusPerNode)
  gpusPerNode?: number;
}

export class LoraDto {
  @ApiPropertyOptional({
    default: DEFAULT_LORA.rank,
    minimum: 1,
    maximum: REQUEST_LIMITS.loraRank.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.loraRank)
  rank?: number;

  @ApiPropertyOptional({
    default: DEFAULT_LORA.alpha,
    minimum: REQUEST_LIMITS.loraAlpha.min,
    maximum: REQUEST_LIMITS.loraAlpha.max,
  })
  @IsOptional()
  @IsNumberInRange({ ...REQUEST_LIMITS.loraAlpha, minExclusive: true })
  alpha?: number;

  @ApiPropertyOptional({ default: DEFAULT_LORA.dropout, minimum: 0, maximum: 1 })
  @IsOptional()
  @IsNumberInRange({ min: 0, max: 1, maxExclusive: true, example: 0.05 })
  dropout?: number;

  @ApiPropertyOptional({
    description:
      "module names or 'all-linear'. Under runtime.modelCode 'hf-transformers' (PEFT) the model's own, as PEFT matches them (c_attn, query_key_value, query, ...); under 'native' and 'litgpt' the shared names (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj) too. Left out: under 'litgpt' its default flags (lora_query and lora_value: q_proj, v_proj), else PEFT's default for the model type",
    default: DEFAULT_LORA.targetModules,
    oneOf: [
      { type: 'array', items: { type: 'string' } },
      { type: 'string', enum: ['all-linear'] },
    ],
  })
  @IsOptional()
  @IsTargetModules()
  targetModules?: string[] | 'all-linear';

  @ApiPropertyOptional({
    description:
      "DoRA (PEFT's and torchtune's use_dora): each adapted linear also trains a magnitude per output feature and renormalises its weight in every forward",
    default: DEFAULT_LORA.useDora,
  })
  @IsOptional()
  @IsTrueOrFalse()
  useDora?: boolean;
}

export class QloraDto {
  @ApiPropertyOptional({ default: DEFAULT_QLORA.doubleQuant })
  @IsOptional()
  @IsTrueOrFalse()
  doubleQuant?: boolean;
}

/** DPOConfig's and KTOConfig's reference knob (their defaults agree). */
export class ReferenceDto {
  @ApiPropertyOptional({
    default: DEFAULT_DPO.precomputeReferenceLogProbs,
    description:
      "TRL's precompute_ref_log_probs: the reference's log-probabilities come with the batch, so no reference model is kept or run",
  })
  @IsOptional()
  @IsTrueOrFalse()
  precomputeReferenceLogProbs?: boolean;
}

export class TrainingDto {
  @ApiPropertyOptional({ enum: TRAINING_METHODS, default: DEFAULT_TRAINING.method })
  @IsOptional()
  @IsOneOf(TRAINING_METHODS)
  method?: TrainingMethod;

  @ApiPropertyOptional({ enum: PRECISIONS, default: DEFAULT_TRAINING.precision })
  @IsOptional()
  @IsOneOf(PRECISIONS)
  precision?: Precision;

  @ApiPropertyOptional({ enum: OPTIMIZERS, default: DEFAULT_TRAINING.optimizer })
  @IsOptional()
  @IsOneOf(OPTIMIZERS)
  optimizer?: OptimizerKind;

  @ApiPropertyOptional({
    default: DEFAULT_TRAINING.microBatchSize,
    minimum: 1,
    maximum: REQUEST_LIMITS.microBatchSize.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.microBatchSize)
  microBatchSize?: number;

  @ApiPropertyOptional({
    default: DEFAULT_TRAINING.sequenceLength,
    minimum: 1,
    maximum: REQUEST_LIMITS.sequenceLength.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.sequenceLength)
  sequenceLength?: number;

  @ApiPropertyOptional({
    default: DEFAULT_TRAINING.gradientAccumulationSteps,
    minimum: 1,
    maximum: REQUEST_LIMITS.gradientAccumulationSteps.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.gradientAccumulationSteps)
  gradientAccumulationSteps?: number;

  @ApiPropertyOptional({ enum: RECOMPUTE_MODES, default: DEFAULT_TRAINING.activationCheckpointing })
  @IsOptional()
  @IsOneOf(RECOMPUTE_MODES)
  activationCheckpointing?: Recompute;

  @ApiPropertyOptional({
    enum: PREFERENCE_OBJECTIVES,
    default: DEFAULT_TRAINING.preference,
    description:
      "'dpo': TRL's DPOTrainer, each micro-batch that many chosen and as many rejected sequences scored against a reference model; 'reward': TRL's RewardTrainer, the model as a one-label sequence classifier over the same pairs; 'kto': TRL's KTOTrainer, each micro-batch that many labelled completions (at least 2) and as many mismatched KL sequences scored against a reference model",
  })
  @IsOptional()
  @IsOneOf(PREFERENCE_OBJECTIVES)
  preference?: PreferenceObjective;

  @ApiPropertyOptional({ type: ReferenceDto, description: "used by preference 'dpo'" })
  @IsOptional()
  @IsPlainObject()
  @ValidateNested()
  @Type(() => ReferenceDto)
  dpo?: ReferenceDto;

  @ApiPropertyOptional({ type: ReferenceDto, description: "used by preference 'kto'" })
  @IsOptional()
  @IsPlainObject()
  @ValidateNested()
  @Type(() => ReferenceDto)
  kto?: ReferenceDto;

  @ApiPropertyOptional({ type: LoraDto, description: "used by method 'lora' and 'qlora'" })
  @IsOptional()
  @IsPlainObject()
  @ValidateNested()
  @Type(() => LoraDto)
  lora?: LoraDto;

  @ApiPropertyOptional({ type: QloraDto, description: "used by method 'qlora'" })
  @IsOptional()
  @IsPlainObject()
  @ValidateNested()
  @Type(() => QloraDto)
  qlora?: QloraDto;

  @ApiPropertyOptional({
    description: 'tokens the whole run trains on: adds GPU-hours and cost',
    minimum: REQUEST_LIMITS.tokensToTrain.min,
    maximum: REQUEST_LIMITS.tokensToTrain.max,
  })
  @IsOptional()
  @IsNumberInRange({ ...REQUEST_LIMITS.tokensToTrain, minExclusive: true })
  tokensToTrain?: number;

  @ApiPropertyOptional({
    minimum: 0,
    description:
      "images in each sample of a vision-language model: plans its image encoder's activations (0 or absent: text only)",
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.imagesPerSample)
  imagesPerSample?: number;
}

export class OffloadDto {
  @ApiPropertyOptional({ enum: OFFLOAD_TARGETS, default: DEFAULT_PARALLELISM.offload.optimizer })
  @IsOptional()
  @IsOneOf(OFFLOAD_TARGETS)
  optimizer?: OffloadTarget;

  @ApiPropertyOptional({ enum: OFFLOAD_TARGETS, default: DEFAULT_PARALLELISM.offload.parameters })
  @IsOptional()
  @IsOneOf(OFFLOAD_TARGETS)
  parameters?: OffloadTarget;
}

export class ParallelismDto {
  @ApiPropertyOptional({
    enum: ZERO_STAGES,
    default: DEFAULT_PARALLELISM.zeroStage,
    description: '3 = FSDP full shard',
  })
  @IsOptional()
  @IsOneOf(ZERO_STAGES)
  zeroStage?: 0 | 1 | 2 | 3;

  @ApiPropertyOptional({
    default: DEFAULT_PARALLELISM.tensorParallel,
    minimum: 1,
    maximum: REQUEST_LIMITS.parallelDegree.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.parallelDegree)
  tensorParallel?: number;

  @ApiPropertyOptional({ default: DEFAULT_PARALLELISM.sequenceParallel })
  @IsOptional()
  @IsTrueOrFalse()
  sequenceParallel?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_PARALLELISM.pipelineParallel,
    minimum: 1,
    maximum: REQUEST_LIMITS.parallelDegree.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.parallelDegree)
  pipelineParallel?: number;

  @ApiPropertyOptional({ enum: PIPELINE_SCHEDULES, default: DEFAULT_PARALLELISM.pipelineSchedule })
  @IsOptional()
  @IsOneOf(PIPELINE_SCHEDULES)
  pipelineSchedule?: PipelineSchedule;

  @ApiPropertyOptional({
    default: DEFAULT_PARALLELISM.virtualStages,
    minimum: 1,
    maximum: REQUEST_LIMITS.parallelDegree.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.parallelDegree)
  virtualStages?: number;

  @ApiPropertyOptional({
    default: DEFAULT_PARALLELISM.contextParallel,
    minimum: 1,
    maximum: REQUEST_LIMITS.parallelDegree.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.parallelDegree)
  contextParallel?: number;

  @ApiPropertyOptional({
    default: DEFAULT_PARALLELISM.expertParallel,
    minimum: 1,
    maximum: REQUEST_LIMITS.parallelDegree.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.parallelDegree)
  expertParallel?: number;

  @ApiPropertyOptional({
    default: DEFAULT_PARALLELISM.replicateDegree,
    minimum: 1,
    description:
      'HSDP: copies of each parameter shard; FSDP shards within groups of dataParallel x contextParallel / replicateDegree ranks and all-reduces across the copies',
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.parallelDegree)
  replicateDegree?: number;

  @ApiPropertyOptional({ type: OffloadDto })
  @IsOptional()
  @IsPlainObject()
  @ValidateNested()
  @Type(() => OffloadDto)
  offload?: OffloadDto;
}

export class RuntimeDto {
  @ApiPropertyOptional({ enum: FRAMEWORK_PRESETS, default: DEFAULT_RUNTIME.preset })
  @IsOptional()
  @IsOneOf(FRAMEWORK_PRESETS)
  preset?: FrameworkPreset;

  @ApiPropertyOptional({ enum: ATTENTION_KERNELS, default: DEFAULT_RUNTIME.attention })
  @IsOptional()
  @IsOneOf(ATTENTION_KERNELS)
  attention?: AttentionKernel;

  @ApiPropertyOptional({ default: DEFAULT_RUNTIME.fusedKernels })
  @IsOptional()
  @IsTrueOrFalse()
  fusedKernels?: boolean;

  @ApiPropertyOptional({ enum: CROSS_ENTROPY_KINDS, default: DEFAULT_RUNTIME.crossEntropy })
  @IsOptional()
  @IsOneOf(CROSS_ENTROPY_KINDS)
  crossEntropy?: CrossEntropyKind;

  @ApiPropertyOptional({ default: DEFAULT_RUNTIME.optimizerInBackward })
  @IsOptional()
  @IsTrueOrFalse()
  optimizerInBackward?: boolean;

  @ApiPropertyOptional({ default: DEFAULT_RUNTIME.activationOffloading })
  @IsOptional()
  @IsTrueOrFalse()
  activationOffloading?: boolean;

  @ApiPropertyOptional({
    enum: MIXED_PRECISION_STYLES,
    default: DEFAULT_RUNTIME.mixedPrecisionStyle,
  })
  @IsOptional()
  @IsOneOf(MIXED_PRECISION_STYLES)
  mixedPrecisionStyle?: MixedPrecisionStyle;

  @ApiPropertyOptional({ default: DEFAULT_RUNTIME.fp32Gradients })
  @IsOptional()
  @IsTrueOrFalse()
  fp32Gradients?: boolean;

  @ApiPropertyOptional({ default: DEFAULT_RUNTIME.foreachOptimizer })
  @IsOptional()
  @IsTrueOrFalse()
  foreachOptimizer?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.allocatorFragmentation,
    description:
      'serving plans only: the fraction the caching allocator reserves above allocated; training plans simulate the ' +
      'allocator instead (see expandableSegments)',
    minimum: 0,
    maximum: 1,
  })
  @IsOptional()
  @IsNumberInRange({ min: 0, max: 1, maxExclusive: true, example: 0.06 })
  allocatorFragmentation?: number;

  @ApiPropertyOptional({
    description:
      "CUDA context bytes outside the allocator; default: the card's measured cudaContextBytes (GET /api/v1/gpus), " +
      `else ${DEFAULT_RUNTIME.cudaContextBytes}`,
    maximum: REQUEST_LIMITS.settingBytes.max,
  })
  @IsOptional()
  @IsIntegerInRange({ ...REQUEST_LIMITS.settingBytes, example: DEFAULT_RUNTIME.cudaContextBytes })
  cudaContextBytes?: number;

  @ApiPropertyOptional({
    description: 'NCCL buffers per GPU, bytes',
    default: DEFAULT_RUNTIME.ncclBytes,
    minimum: REQUEST_LIMITS.settingBytes.min,
    maximum: REQUEST_LIMITS.settingBytes.max,
  })
  @IsOptional()
  @IsIntegerInRange({ ...REQUEST_LIMITS.settingBytes, example: DEFAULT_RUNTIME.ncclBytes })
  ncclBytes?: number;

  @ApiPropertyOptional({
    description: 'reduce/allgather bucket size, elements',
    default: DEFAULT_RUNTIME.bucketElements,
    minimum: REQUEST_LIMITS.bucketElements.min,
    maximum: REQUEST_LIMITS.bucketElements.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.bucketElements)
  bucketElements?: number;

  @ApiPropertyOptional({
    description:
      "parameters ZeRO-3 may keep gathered (DeepSpeed's stage3_max_live_parameters); 0 for FSDP",
    default: DEFAULT_RUNTIME.zero3LiveParameters,
    maximum: REQUEST_LIMITS.zero3LiveParameters.max,
  })
  @IsOptional()
  @IsIntegerInRange({
    ...REQUEST_LIMITS.zero3LiveParameters,
    example: PRESETS.deepspeed.zero3LiveParameters ?? REQUEST_LIMITS.zero3LiveParameters.example,
  })
  zero3LiveParameters?: number;

  @ApiPropertyOptional({ enum: ADAPTER_DTYPES, default: DEFAULT_RUNTIME.adapterDtype })
  @IsOptional()
  @IsOneOf(ADAPTER_DTYPES)
  adapterDtype?: 'fp32' | 'bf16';

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.gradientsSetToNone,
    description: 'zero_grad(set_to_none=True) frees gradients between steps (PyTorch 2.x default)',
  })
  @IsOptional()
  @IsTrueOrFalse()
  gradientsSetToNone?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.retainLogits,
    description: 'the training loop keeps the logits alive through backward (HF, litgpt)',
  })
  @IsOptional()
  @IsTrueOrFalse()
  retainLogits?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.unshardedGradientAccumulation,
    description:
      'accumulation skips the gradient sync (FSDP no_sync), so ZeRO-2/3 ranks hold unsharded gradients between micro-batches (litgpt)',
  })
  @IsOptional()
  @IsTrueOrFalse()
  unshardedGradientAccumulation?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.previousStepAlive,
    description:
      "the loop's logits and loss still hold the previous micro-batch's graph through the next forward (litgpt): its logits stay",
  })
  @IsOptional()
  @IsTrueOrFalse()
  previousStepAlive?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.reentrantCheckpointing,
    description:
      "checkpointing with use_reentrant=True (transformers 4.x's default): a checkpointed layer's first forward runs without autograd, so custom Functions keep nothing from it (bitsandbytes QLoRA's inputs)",
  })
  @IsOptional()
  @IsTrueOrFalse()
  reentrantCheckpointing?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.softmaxSavesInput,
    description:
      "PyTorch before 1.11: softmax and log-softmax keep their input for backward beside the output (eager attention's scores, the loss's logits)",
  })
  @IsOptional()
  @IsTrueOrFalse()
  softmaxSavesInput?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.bitsandbytesSavesInput,
    description:
      "bitsandbytes before 0.43.2: each 4-bit linear keeps its input as MatMul4Bit's ctx.tensors until the autograd graph dies (QLoRA's activations); later releases keep only the packed weight",
  })
  @IsOptional()
  @IsTrueOrFalse()
  bitsandbytesSavesInput?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.fsdpEmbeddingUnits,
    description:
      "FSDP shards the token embedding and the output head as units of their own (torchtune's custom_sharded_layers), " +
      'gathered only around their use, instead of in the root unit that stays gathered through forward and backward',
  })
  @IsOptional()
  @IsTrueOrFalse()
  fsdpEmbeddingUnits?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.materializeBeforeSharding,
    description:
      'The whole model is built on the device before DDP or FSDP wraps it, and the cache is emptied after (as a model ' +
      'loaded with from_pretrained then wrapped is); false builds the shards directly (meta-device init, torchtitan)',
  })
  @IsOptional()
  @IsTrueOrFalse()
  materializeBeforeSharding?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.expandableSegments,
    description:
      'PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True: the caching allocator grows one segment per stream page by ' +
      'page instead of reserving segments of fixed sizes, which leaves less reserved beyond allocated (torchtitan sets it)',
  })
  @IsOptional()
  @IsTrueOrFalse()
  expandableSegments?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.fp32Logits,
    description:
      "the model returns fp32 logits from an unchunked head (torchtune's and torchtitan's self.output(h).float(), " +
      'Hugging Face Llama before 4.46), so the logits the loop holds are fp32 rather than the compute dtype',
  })
  @IsOptional()
  @IsTrueOrFalse()
  fp32Logits?: boolean;

  @ApiPropertyOptional({
    enum: QUANTIZATION_KERNELS,
    default: DEFAULT_RUNTIME.quantizationKernel,
    description:
      "QLoRA's 4-bit linear: bitsandbytes keeps each input for backward, torchao does not; " +
      "bitsandbytes-lightning (Lightning's plugin, litgpt) also quantises the output head, from an fp16 copy",
  })
  @IsOptional()
  @IsOneOf(QUANTIZATION_KERNELS)
  quantizationKernel?: QuantizationKernel;

  @ApiPropertyOptional({
    enum: MODEL_CODES,
    default: DEFAULT_RUNTIME.modelCode,
    description:
      "whose model code runs the layers: Hugging Face's (grouped K/V into SDPA, gelu_new in Python), litgpt's (fused qkv, head applied 128 positions at a time) or native PyTorch",
  })
  @IsOptional()
  @IsOneOf(MODEL_CODES)
  modelCode?: ModelCode;

  @ApiPropertyOptional({
    enum: DATA_PARALLEL_ENGINES,
    default: DEFAULT_RUNTIME.dataParallelEngine,
    description:
      "who syncs gradients: pytorch (DDP's bucket copy at ZeRO-0), deepspeed (reduce/allgather buckets) or megatron (in place in its gradient buffer)",
  })
  @IsOptional()
  @IsOneOf(DATA_PARALLEL_ENGINES)
  dataParallelEngine?: DataParallelEngine;

  @ApiPropertyOptional({
    enum: FP8_RECIPES,
    default: DEFAULT_RUNTIME.fp8Recipe,
    description:
      "fp8 matmuls in the decoder layers' linears: torchao Float8Linear with tensorwise or rowwise scaling (bf16 input and weight saved, fp8 casts around each matmul) or Transformer Engine (fp8 input saved, fp8 weight cache kept); full fine-tuning on fp8 cards",
  })
  @IsOptional()
  @IsOneOf(FP8_RECIPES)
  fp8Recipe?: Fp8Recipe;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.fp8AllGather,
    description:
      "torchao's enable_fsdp_float8_all_gather: FSDP gathers the converted weights in fp8 (tensorwise only)",
  })
  @IsOptional()
  @IsTrueOrFalse()
  fp8AllGather?: boolean;

  @ApiPropertyOptional({
    enum: FSDP_RESHARD_POLICIES,
    default: DEFAULT_RUNTIME.fsdpReshardAfterForward,
    description:
      "torchtitan's fsdp_reshard_after_forward: 'default' reshards every layer but the last, and none under pipeline parallelism; 'always' or 'never' force it",
  })
  @IsOptional()
  @IsOneOf(FSDP_RESHARD_POLICIES)
  fsdpReshardAfterForward?: FsdpReshardPolicy;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.fsdpReshardAfterBackward,
    description:
      "under pipeline parallelism FSDP keeps each stage's parameters gathered until the step's last backward (torch.distributed.pipelining); true reshards after every micro-batch's backward instead",
  })
  @IsOptional()
  @IsTrueOrFalse()
  fsdpReshardAfterBackward?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.pipelineFirstStageLessLayers,
    minimum: 0,
    description:
      "layers the embedding counts as when the model is split into pipeline stages (torchtitan's pipeline_parallel_first_stage_less_layers; Megatron's account_for_embedding_in_pipeline_split is 1)",
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.stageLessLayers)
  pipelineFirstStageLessLayers?: number;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.pipelineLastStageLessLayers,
    minimum: 0,
    description:
      "layers the final norm and head count as (pipeline_parallel_last_stage_less_layers; Megatron's account_for_loss_in_pipeline_split is 1)",
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.stageLessLayers)
  pipelineLastStageLessLayers?: number;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.moeCapacityFactor,
    minimum: 0,
    description:
      "mixture-of-experts capacity factor (Megatron's --moe-expert-capacity-factor, DeepSpeed's capacity_factor): an expert takes at most tokens x k / experts x factor tokens and drops the rest; 0 is dropless",
  })
  @IsOptional()
  // Past the experts' count (at most 1,024 in any model) an expert would take more than every token.
  @IsNumberInRange({ min: 0, max: 1_024, example: 1.25 })
  moeCapacityFactor?: number;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.moePadToCapacity,
    description:
      "every expert computes its full capacity (Megatron's --moe-pad-expert-input-to-capacity)",
  })
  @IsOptional()
  @IsTrueOrFalse()
  moePadToCapacity?: boolean;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.moeRoutingImbalance,
    minimum: 1,
    description:
      "the busiest expert's tokens over the mean: 1 plans for perfectly balanced routing",
  })
  @IsOptional()
  // The busiest expert takes at most every token: experts / top-k times the mean, under 1,024.
  @IsNumberInRange({ min: 1, max: 1_024, example: 1.5 })
  moeRoutingImbalance?: number;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.mfu,
    description: 'model FLOPs utilisation, (0, 1]',
    minimum: 0,
    maximum: 1,
  })
  @IsOptional()
  @IsNumberInRange({ min: 0, max: 1, minExclusive: true, example: 0.4 })
  mfu?: number;

  @ApiPropertyOptional({
    description: "USD per GPU-hour; the catalog's price when left out",
    minimum: REQUEST_LIMITS.pricePerGpuHour.min,
    maximum: REQUEST_LIMITS.pricePerGpuHour.max,
  })
  @IsOptional()
  @IsNumberInRange(REQUEST_LIMITS.pricePerGpuHour)
  pricePerGpuHour?: number;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.interNodeBandwidthBytesPerSecond,
    description: 'bytes/s per GPU across nodes',
    minimum: REQUEST_LIMITS.interNodeBandwidthBytesPerSecond.min,
    maximum: REQUEST_LIMITS.interNodeBandwidthBytesPerSecond.max,
  })
  @IsOptional()
  @IsNumberInRange({ ...REQUEST_LIMITS.interNodeBandwidthBytesPerSecond, minExclusive: true })
  interNodeBandwidthBytesPerSecond?: number;

  @ApiPropertyOptional({
    default: DEFAULT_RUNTIME.safetyMarginBytes,
    description: 'bytes kept free on every card',
    minimum: REQUEST_LIMITS.settingBytes.min,
    maximum: REQUEST_LIMITS.settingBytes.max,
  })
  @IsOptional()
  @IsIntegerInRange({ ...REQUEST_LIMITS.settingBytes, example: DEFAULT_RUNTIME.safetyMarginBytes })
  safetyMarginBytes?: number;
}

export class InferenceDto {
  @ApiPropertyOptional({
    default: DEFAULT_INFERENCE.batchSize,
    minimum: 1,
    maximum: REQUEST_LIMITS.batchSize.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.batchSize)
  batchSize?: number;

  @ApiPropertyOptional({
    default: DEFAULT_INFERENCE.promptLength,
    minimum: 1,
    maximum: REQUEST_LIMITS.promptLength.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.promptLength)
  promptLength?: number;

  @ApiPropertyOptional({
    default: DEFAULT_INFERENCE.outputLength,
    minimum: 1,
    maximum: REQUEST_LIMITS.outputLength.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.outputLength)
  outputLength?: number;

  @ApiPropertyOptional({ enum: WEIGHT_PRECISIONS, default: DEFAULT_INFERENCE.weightPrecision })
  @IsOptional()
  @IsOneOf(WEIGHT_PRECISIONS)
  weightPrecision?: WeightPrecision;

  @ApiPropertyOptional({
    default: DEFAULT_INFERENCE.quantGroupSize,
    minimum: 1,
    maximum: REQUEST_LIMITS.quantGroupSize.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.quantGroupSize)
  quantGroupSize?: number;

  @ApiPropertyOptional({ enum: KV_CACHE_DTYPES, default: DEFAULT_INFERENCE.kvCacheDtype })
  @IsOptional()
  @IsOneOf(KV_CACHE_DTYPES)
  kvCacheDtype?: KvCacheDtype;

  @ApiPropertyOptional({
    minimum: 1,
    description:
      "most tokens one prefill forward takes (vLLM's max_num_batched_tokens); absent: the whole batch of prompts at once",
    maximum: REQUEST_LIMITS.prefillChunkTokens.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.prefillChunkTokens)
  prefillChunkTokens?: number;
}

export class PlanRequestDto implements PlanRequestInput {
  @ApiPropertyOptional({ description: 'a label for saved plans', maxLength: 200 })
  @IsOptional()
  @IsString({ message: 'name must be a string' })
  @MaxLength(200, { message: 'name must be at most 200 characters' })
  name?: string;

  @ApiPropertyOptional({ type: [String], example: ['example'] })
  @IsOptional()
  @IsLabelList(32, 64)
  tags?: string[];

  @ApiPropertyOptional({ enum: WORKLOADS, default: DEFAULT_WORKLOAD })
  @IsOptional()
  @IsOneOf(WORKLOADS)
  workload?: Workload;

  @ApiProperty({
    description:
      'a catalog id or Hugging Face alias (GET /api/v1/models), or an inline config.json object',
    oneOf: [{ type: 'string', example: 'llama-3-8b' }, { type: 'object' }],
  })
  @IsDefined({
    message: "model is required: a catalog id such as 'llama-3-8b' or a config.json object",
  })
  @IsModelReference()
  model: string | Record<string, unknown>;

  @ApiProperty({ type: ClusterDto })
  @IsDefined({
    message: 'cluster is required, e.g. { "gpu": "a100-80gb", "nodes": 1, "gpusPerNode": 8 }',
  })
  @IsPlainObject()
  @ValidateNested()
  @Type(() => ClusterDto)
  cluster: ClusterDto;

  @ApiPropertyOptional({ type: TrainingDto })
  @IsOptional()
  @IsPlainObject()
  @ValidateNested()
  @Type(() => TrainingDto)
  training?: TrainingDto;

  @ApiPropertyOptional({ type: ParallelismDto })
  @IsOptional()
  @IsPlainObject()
  @ValidateNested()
  @Type(() => ParallelismDto)
  parallelism?: ParallelismDto;

  @ApiPropertyOptional({ type: RuntimeDto })
  @IsOptional()
  @IsPlainObject()
  @ValidateNested()
  @Type(() => RuntimeDto)
  runtime?: RuntimeDto;

  @ApiPropertyOptional({ type: InferenceDto, description: "used when workload is 'inference'" })
  @IsOptional()
  @IsPlainObject()
  @ValidateNested()
  @Type(() => InferenceDto)
  inference?: InferenceDto;
}
