// The shape of a PlanRequest (api-contract.md): every field checked, unknown fields rejected.
// Defaults are not applied here: the engine's normalizeRequest fills them and the result echoes them.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';
import {
  IsIntegerInRange,
  IsLabelList,
  IsModelReference,
  IsNumberInRange,
  IsOneOf,
  IsPlainObject,
  IsTargetModules,
  IsTrueOrFalse,
  MAX_CATALOG_ID_LENGTH,
} from '../../common/validators';
import type { PlanRequestInput } from '../../engine';
import {
  ADAPTER_DTYPES,
  ATTENTION_KERNELS,
  CROSS_ENTROPY_KINDS,
  DATA_PARALLEL_ENGINES,
  FRAMEWORK_PRESETS,
  KV_CACHE_DTYPES,
  MIXED_PRECISION_STYLES,
  MODEL_CODES,
  OFFLOAD_TARGETS,
  OPTIMIZERS,
  PIPELINE_SCHEDULES,
  PRECISIONS,
  QUANTIZATION_KERNELS,
  REQUEST_LIMITS,
  RECOMPUTE_MODES,
  TRAINING_METHODS,
  WEIGHT_PRECISIONS,
  WORKLOADS,
  ZERO_STAGES,
  AttentionKernel,
  CrossEntropyKind,
  DataParallelEngine,
  FrameworkPreset,
  KvCacheDtype,
  MixedPrecisionStyle,
  ModelCode,
  OffloadTarget,
  OptimizerKind,
  PipelineSchedule,
  Precision,
  QuantizationKernel,
  Recompute,
  TrainingMethod,
  WeightPrecision,
  Workload,
} from '../../engine';

export class ClusterDto {
  @ApiProperty({ description: 'GPU catalog id (GET /api/v1/gpus)', example: 'a100-80gb' })
  @IsDefined({
    message: "gpu is required: a catalog id such as 'a100-80gb' (see GET /api/v1/gpus)",
  })
  @IsString({ message: "gpu must be a catalog id such as 'a100-80gb'" })
  @MinLength(1, { message: "gpu must be a catalog id such as 'a100-80gb'" })
  @MaxLength(MAX_CATALOG_ID_LENGTH, {
    message: `gpu must be a catalog id of at most ${MAX_CATALOG_ID_LENGTH} characters`,
  })
  gpu: string;

  @ApiPropertyOptional({ default: 1, minimum: 1, maximum: REQUEST_LIMITS.nodes.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.nodes)
  nodes?: number;

  @ApiPropertyOptional({
    default: 1,
    minimum: 1,
    example: 8,
    maximum: REQUEST_LIMITS.gpusPerNode.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.gpusPerNode)
  gpusPerNode?: number;
}

export class LoraDto {
  @ApiPropertyOptional({ default: 16, minimum: 1, maximum: REQUEST_LIMITS.loraRank.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.loraRank)
  rank?: number;

  @ApiPropertyOptional({
    default: 32,
    minimum: REQUEST_LIMITS.loraAlpha.min,
    maximum: REQUEST_LIMITS.loraAlpha.max,
  })
  @IsOptional()
  @IsNumberInRange({ ...REQUEST_LIMITS.loraAlpha, minExclusive: true })
  alpha?: number;

  @ApiPropertyOptional({ default: 0, minimum: 0, maximum: 1 })
  @IsOptional()
  @IsNumberInRange({ min: 0, max: 1, maxExclusive: true, example: 0.05 })
  dropout?: number;

  @ApiPropertyOptional({
    description:
      "module names (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj) or 'all-linear'",
    default: ['q_proj', 'v_proj'],
    oneOf: [
      { type: 'array', items: { type: 'string' } },
      { type: 'string', enum: ['all-linear'] },
    ],
  })
  @IsOptional()
  @IsTargetModules()
  targetModules?: string[] | 'all-linear';
}

export class QloraDto {
  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsTrueOrFalse()
  doubleQuant?: boolean;
}

export class TrainingDto {
  @ApiPropertyOptional({ enum: TRAINING_METHODS, default: 'full' })
  @IsOptional()
  @IsOneOf(TRAINING_METHODS)
  method?: TrainingMethod;

  @ApiPropertyOptional({ enum: PRECISIONS, default: 'bf16-mixed' })
  @IsOptional()
  @IsOneOf(PRECISIONS)
  precision?: Precision;

  @ApiPropertyOptional({ enum: OPTIMIZERS, default: 'adamw' })
  @IsOptional()
  @IsOneOf(OPTIMIZERS)
  optimizer?: OptimizerKind;

  @ApiPropertyOptional({ default: 1, minimum: 1, maximum: REQUEST_LIMITS.microBatchSize.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.microBatchSize)
  microBatchSize?: number;

  @ApiPropertyOptional({ default: 4096, minimum: 1, maximum: REQUEST_LIMITS.sequenceLength.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.sequenceLength)
  sequenceLength?: number;

  @ApiPropertyOptional({
    default: 1,
    minimum: 1,
    maximum: REQUEST_LIMITS.gradientAccumulationSteps.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.gradientAccumulationSteps)
  gradientAccumulationSteps?: number;

  @ApiPropertyOptional({ enum: RECOMPUTE_MODES, default: 'none' })
  @IsOptional()
  @IsOneOf(RECOMPUTE_MODES)
  activationCheckpointing?: Recompute;

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
}

export class OffloadDto {
  @ApiPropertyOptional({ enum: OFFLOAD_TARGETS, default: 'none' })
  @IsOptional()
  @IsOneOf(OFFLOAD_TARGETS)
  optimizer?: OffloadTarget;

  @ApiPropertyOptional({ enum: OFFLOAD_TARGETS, default: 'none' })
  @IsOptional()
  @IsOneOf(OFFLOAD_TARGETS)
  parameters?: OffloadTarget;
}

export class ParallelismDto {
  @ApiPropertyOptional({ enum: ZERO_STAGES, default: 0, description: '3 = FSDP full shard' })
  @IsOptional()
  @IsOneOf(ZERO_STAGES)
  zeroStage?: 0 | 1 | 2 | 3;

  @ApiPropertyOptional({ default: 1, minimum: 1, maximum: REQUEST_LIMITS.parallelDegree.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.parallelDegree)
  tensorParallel?: number;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsTrueOrFalse()
  sequenceParallel?: boolean;

  @ApiPropertyOptional({ default: 1, minimum: 1, maximum: REQUEST_LIMITS.parallelDegree.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.parallelDegree)
  pipelineParallel?: number;

  @ApiPropertyOptional({ enum: PIPELINE_SCHEDULES, default: '1f1b' })
  @IsOptional()
  @IsOneOf(PIPELINE_SCHEDULES)
  pipelineSchedule?: PipelineSchedule;

  @ApiPropertyOptional({ default: 1, minimum: 1, maximum: REQUEST_LIMITS.parallelDegree.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.parallelDegree)
  virtualStages?: number;

  @ApiPropertyOptional({ default: 1, minimum: 1, maximum: REQUEST_LIMITS.parallelDegree.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.parallelDegree)
  contextParallel?: number;

  @ApiPropertyOptional({ default: 1, minimum: 1, maximum: REQUEST_LIMITS.parallelDegree.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.parallelDegree)
  expertParallel?: number;

  @ApiPropertyOptional({ type: OffloadDto })
  @IsOptional()
  @IsPlainObject()
  @ValidateNested()
  @Type(() => OffloadDto)
  offload?: OffloadDto;
}

export class RuntimeDto {
  @ApiPropertyOptional({ enum: FRAMEWORK_PRESETS, default: 'none' })
  @IsOptional()
  @IsOneOf(FRAMEWORK_PRESETS)
  preset?: FrameworkPreset;

  @ApiPropertyOptional({ enum: ATTENTION_KERNELS, default: 'flash' })
  @IsOptional()
  @IsOneOf(ATTENTION_KERNELS)
  attention?: AttentionKernel;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsTrueOrFalse()
  fusedKernels?: boolean;

  @ApiPropertyOptional({ enum: CROSS_ENTROPY_KINDS, default: 'standard' })
  @IsOptional()
  @IsOneOf(CROSS_ENTROPY_KINDS)
  crossEntropy?: CrossEntropyKind;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsTrueOrFalse()
  optimizerInBackward?: boolean;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsTrueOrFalse()
  activationOffloading?: boolean;

  @ApiPropertyOptional({ enum: MIXED_PRECISION_STYLES, default: 'master-weights' })
  @IsOptional()
  @IsOneOf(MIXED_PRECISION_STYLES)
  mixedPrecisionStyle?: MixedPrecisionStyle;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsTrueOrFalse()
  fp32Gradients?: boolean;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsTrueOrFalse()
  foreachOptimizer?: boolean;

  @ApiPropertyOptional({
    default: 0.06,
    description: 'fraction reserved above allocated',
    minimum: 0,
    maximum: 1,
  })
  @IsOptional()
  @IsNumberInRange({ min: 0, max: 1, maxExclusive: true, example: 0.06 })
  allocatorFragmentation?: number;

  @ApiPropertyOptional({
    description:
      "CUDA context bytes outside the allocator; default: the GPU catalog's measured value (805306368 on h100-80gb), else 536870912",
    maximum: REQUEST_LIMITS.settingBytes.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.settingBytes)
  cudaContextBytes?: number;

  @ApiPropertyOptional({
    description: 'NCCL buffers per GPU, bytes',
    default: 268435456,
    minimum: REQUEST_LIMITS.settingBytes.min,
    maximum: REQUEST_LIMITS.settingBytes.max,
  })
  @IsOptional()
  @IsIntegerInRange({ ...REQUEST_LIMITS.settingBytes, example: 268435456 })
  ncclBytes?: number;

  @ApiPropertyOptional({
    description: 'reduce/allgather bucket size, elements',
    default: 5e8,
    minimum: REQUEST_LIMITS.bucketElements.min,
    maximum: REQUEST_LIMITS.bucketElements.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.bucketElements)
  bucketElements?: number;

  @ApiPropertyOptional({
    description:
      "parameters ZeRO-3 may keep gathered (DeepSpeed's stage3_max_live_parameters); 0 for FSDP",
    default: 0,
    maximum: REQUEST_LIMITS.zero3LiveParameters.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.zero3LiveParameters)
  zero3LiveParameters?: number;

  @ApiPropertyOptional({ enum: ADAPTER_DTYPES, default: 'fp32' })
  @IsOptional()
  @IsOneOf(ADAPTER_DTYPES)
  adapterDtype?: 'fp32' | 'bf16';

  @ApiPropertyOptional({
    default: true,
    description: 'zero_grad(set_to_none=True) frees gradients between steps (PyTorch 2.x default)',
  })
  @IsOptional()
  @IsTrueOrFalse()
  gradientsSetToNone?: boolean;

  @ApiPropertyOptional({
    default: true,
    description: 'the training loop keeps the logits alive through backward (HF, litgpt)',
  })
  @IsOptional()
  @IsTrueOrFalse()
  retainLogits?: boolean;

  @ApiPropertyOptional({
    default: false,
    description:
      'accumulation skips the gradient sync (FSDP no_sync), so ZeRO-2/3 ranks hold unsharded gradients between micro-batches (litgpt)',
  })
  @IsOptional()
  @IsTrueOrFalse()
  unshardedGradientAccumulation?: boolean;

  @ApiPropertyOptional({
    default: false,
    description:
      "the loop's logits and loss still hold the previous micro-batch's graph through the next forward (litgpt): its logits and bitsandbytes QLoRA's saved inputs stay",
  })
  @IsOptional()
  @IsTrueOrFalse()
  previousStepAlive?: boolean;

  @ApiPropertyOptional({
    default: false,
    description:
      "PyTorch before 1.11: softmax and log-softmax keep their input for backward beside the output (eager attention's scores, the loss's logits)",
  })
  @IsOptional()
  @IsTrueOrFalse()
  softmaxSavesInput?: boolean;

  @ApiPropertyOptional({
    default: false,
    description:
      "FSDP shards the token embedding and the output head as units of their own (torchtune's custom_sharded_layers), " +
      'gathered only around their use, instead of in the root unit that stays gathered through forward and backward',
  })
  @IsOptional()
  @IsTrueOrFalse()
  fsdpEmbeddingUnits?: boolean;

  @ApiPropertyOptional({
    default: false,
    description:
      "the model returns fp32 logits from an unchunked head (torchtune's and torchtitan's self.output(h).float(), " +
      'Hugging Face Llama before 4.46), so the logits the loop holds are fp32 rather than the compute dtype',
  })
  @IsOptional()
  @IsTrueOrFalse()
  fp32Logits?: boolean;

  @ApiPropertyOptional({
    enum: QUANTIZATION_KERNELS,
    default: 'bitsandbytes',
    description:
      "QLoRA's 4-bit linear: bitsandbytes keeps each input for backward, torchao does not; " +
      "bitsandbytes-lightning (Lightning's plugin, litgpt) also quantises the output head, from an fp16 copy",
  })
  @IsOptional()
  @IsOneOf(QUANTIZATION_KERNELS)
  quantizationKernel?: QuantizationKernel;

  @ApiPropertyOptional({
    enum: MODEL_CODES,
    default: 'native',
    description:
      "whose model code runs the layers: Hugging Face's (grouped K/V into SDPA, gelu_new in Python), litgpt's (fused qkv, head applied 128 positions at a time) or native PyTorch",
  })
  @IsOptional()
  @IsOneOf(MODEL_CODES)
  modelCode?: ModelCode;

  @ApiPropertyOptional({
    enum: DATA_PARALLEL_ENGINES,
    default: 'pytorch',
    description:
      "who syncs gradients: pytorch (DDP's bucket copy at ZeRO-0), deepspeed (reduce/allgather buckets) or megatron (in place in its gradient buffer)",
  })
  @IsOptional()
  @IsOneOf(DATA_PARALLEL_ENGINES)
  dataParallelEngine?: DataParallelEngine;

  @ApiPropertyOptional({
    default: 0.4,
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
    default: 50e9,
    description: 'bytes/s per GPU across nodes',
    minimum: REQUEST_LIMITS.interNodeBandwidthBytesPerSecond.min,
    maximum: REQUEST_LIMITS.interNodeBandwidthBytesPerSecond.max,
  })
  @IsOptional()
  @IsNumberInRange({ ...REQUEST_LIMITS.interNodeBandwidthBytesPerSecond, minExclusive: true })
  interNodeBandwidthBytesPerSecond?: number;

  @ApiPropertyOptional({
    default: 1073741824,
    description: 'bytes kept free on every card',
    minimum: REQUEST_LIMITS.settingBytes.min,
    maximum: REQUEST_LIMITS.settingBytes.max,
  })
  @IsOptional()
  @IsIntegerInRange({ ...REQUEST_LIMITS.settingBytes, example: 1073741824 })
  safetyMarginBytes?: number;
}

export class InferenceDto {
  @ApiPropertyOptional({ default: 1, minimum: 1, maximum: REQUEST_LIMITS.batchSize.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.batchSize)
  batchSize?: number;

  @ApiPropertyOptional({ default: 1024, minimum: 1, maximum: REQUEST_LIMITS.promptLength.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.promptLength)
  promptLength?: number;

  @ApiPropertyOptional({ default: 256, minimum: 1, maximum: REQUEST_LIMITS.outputLength.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.outputLength)
  outputLength?: number;

  @ApiPropertyOptional({ enum: WEIGHT_PRECISIONS, default: 'bf16' })
  @IsOptional()
  @IsOneOf(WEIGHT_PRECISIONS)
  weightPrecision?: WeightPrecision;

  @ApiPropertyOptional({ default: 128, minimum: 1, maximum: REQUEST_LIMITS.quantGroupSize.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.quantGroupSize)
  quantGroupSize?: number;

  @ApiPropertyOptional({ enum: KV_CACHE_DTYPES, default: 'bf16' })
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

  @ApiPropertyOptional({ enum: WORKLOADS, default: 'training' })
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
