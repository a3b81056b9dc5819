// The engine's vocabulary: the public PlanRequest / PlanResult of ../shared/api-contract.md and
// the architecture and accelerator descriptions the formulas read. Plain TypeScript, no Nest.

/** How the MLP of a layer is built. */
export type MlpKind = 'gated' | 'plain';
/** RMSNorm has a weight only; LayerNorm has weight and bias unless `layernorm-nobias`. */
export type NormKind = 'rmsnorm' | 'layernorm' | 'layernorm-nobias';

export interface MoeConfig {
  /** Routed experts per MoE layer (E). */
  numExperts: number;
  /** Experts each token is routed to (top-k). */
  expertsPerToken: number;
  /** Width of one routed expert's MLP (f_moe). */
  expertIntermediateSize: number;
  /** Shared (always-active) experts per MoE layer. */
  sharedExperts: number;
  /** Width of one shared expert's MLP. */
  sharedExpertIntermediateSize: number;
  /** The first k decoder layers use a dense MLP of `intermediateSize` instead of experts. */
  firstDenseLayers: number;
  /** Router has a per-expert bias (DeepSeek-V3's e_score_correction_bias counts as one). */
  routerBias: boolean;
  /** A one-output linear (h x 1) gates the shared expert (Qwen2-MoE's shared_expert_gate). */
  sharedExpertGate?: boolean;
}

/** The encoder stack of an encoder-decoder model (T5-style relative position buckets). */
export interface EncoderConfig {
  numLayers: number;
  relativeAttentionBuckets: number;
}

/** Multi-latent attention (DeepSeek-V2/V3). */
export interface MlaConfig {
  qLoraRank: number; // 0 means q is projected directly from h
  kvLoraRank: number;
  qkNopeHeadDim: number;
  qkRopeHeadDim: number;
  vHeadDim: number;
}

/** The shape of a decoder-only transformer, enough to count every parameter and activation. */
export interface ModelArchitecture {
  id: string;
  name: string;
  hfId?: string;
  hiddenSize: number; // h
  numLayers: number; // L
  numAttentionHeads: number; // a
  numKeyValueHeads: number; // g
  headDim: number; // d
  intermediateSize: number; // f (dense MLP width)
  vocabSize: number; // V
  tieWordEmbeddings: boolean;
  mlp: MlpKind;
  activation: string; // silu, gelu, gelu_pytorch_tanh, ...
  norm: NormKind;
  /** Norms inside each decoder layer (2 for Llama, 4 for Gemma-2, 1 for parallel blocks). */
  normsPerLayer: number;
  /** Attention and MLP read the same layer input (GPT-NeoX, Falcon, Phi): their norms share it. */
  parallelResidual?: boolean;
  /** q, k and v come from one linear that the model code splits (HF Phi-3's qkv_proj). */
  fusedQkv?: boolean;
  /** The gated MLP's gate and up projections are one linear (HF Phi-3's gate_up_proj). */
  fusedGateUp?: boolean;
  /** Per-head RMSNorm on q and k of size headDim (Qwen3, OLMo-2). */
  qkNorm: boolean;
  /** q/k norms with a separate weight per head (Cohere Command-R+: a x d and g x d). */
  qkNormPerHead?: boolean;
  /** Biases on q/k/v projections. */
  qkvBias: boolean;
  /** Bias on the attention output projection. */
  attentionOutputBias: boolean;
  mlpBias: boolean;
  /** Learned absolute position embeddings (GPT-2/GPT-3): rows of size h; 0 for RoPE/ALiBi. */
  learnedPositionEmbeddings: number;
  /** A norm right after the token embedding (BLOOM). */
  embeddingNorm: boolean;
  /** Final norm before the output head. */
  finalNorm: boolean;
  /** The output head has a bias of V (Phi-1/Phi-2). */
  outputHeadBias?: boolean;
  /** A *ForSequenceClassification model: a pooled head of this many labels replaces the
   * vocabulary projection, so no per-token logits exist. */
  sequenceClassificationLabels?: number;
  maxPositionEmbeddings: number;
  /** Sliding-window attention width where the model uses it (Mistral, Gemma-2 local layers). */
  slidingWindow?: number;
  /** Fraction of layers that use the sliding window (Gemma-2 alternates: 0.5). */
  slidingWindowLayerFraction?: number;
  /** Attention scores pass through cap * tanh(x / cap) before softmax (Gemma-2: 50). */
  attentionLogitSoftcapping?: number;
  /** The logits pass through cap * tanh(x / cap) before the loss (Gemma-2: 30). */
  finalLogitSoftcapping?: number;
  moe?: MoeConfig;
  mla?: MlaConfig;
  /** Encoder-decoder models (T5): `numLayers` counts both stacks, the first `encoder.numLayers`
   * layers are the encoder's; the decoder layers add cross-attention (4 linears and a norm). */
  encoder?: EncoderConfig;
  /** Published exact parameter count where one exists (checked against our own count). */
  publishedParameters?: number;
  source?: string;
}

/** An accelerator of the catalog. */
export interface GpuSpec {
  id: string;
  name: string;
  /** What nvidia-smi reports as total, in bytes (MiB x 2^20). */
  memoryBytes: number;
  /** Dense bf16 tensor throughput, FLOP/s. */
  bf16FlopsPerSecond: number;
  /** HBM bandwidth, bytes/s. */
  memoryBandwidthBytesPerSecond: number;
  /** Intra-node interconnect bandwidth per GPU, one direction, bytes/s. */
  intraNodeBandwidthBytesPerSecond: number;
  interconnect: string;
  /** Indicative on-demand price, USD per GPU-hour. */
  pricePerGpuHour: number;
  priceProvider?: string;
  priceDate: string;
  priceSource: string;
  /** CUDA context + kernels outside the allocator on this card (bytes), where measured; the
   * default runtime.cudaContextBytes for plans on it. */
  cudaContextBytes?: number;
  /** Where cudaContextBytes was measured. */
  cudaContextNote?: string;
  fp8: boolean;
}

export type Workload = 'training' | 'inference';
export type TrainingMethod = 'full' | 'lora' | 'qlora';

export type QuantizationKernel = 'bitsandbytes' | 'bitsandbytes-lightning' | 'torchao';
export type Precision = 'fp32' | 'fp16-mixed' | 'bf16-mixed' | 'bf16-pure';
export type OptimizerKind =
  'adamw' | 'adamw-8bit' | 'paged-adamw-8bit' | 'sgd' | 'sgd-momentum' | 'adafactor' | 'lion';
export type Recompute = 'none' | 'selective' | 'full';
export type PipelineSchedule = '1f1b' | 'interleaved' | 'gpipe';
export type OffloadTarget = 'none' | 'cpu';
export type AttentionKernel = 'flash' | 'eager';
export type CrossEntropyKind = 'standard' | 'chunked' | 'fused';
export type FrameworkPreset =
  'none' | 'hf-transformers' | 'torchtune' | 'torchtitan' | 'litgpt' | 'deepspeed' | 'megatron';
/** How mixed precision holds its weights: AMP autocasts fp32 params; master keeps 16-bit params
 * plus an fp32 copy (DeepSpeed/Megatron); fsdp2 keeps fp32 shards and gathers 16-bit units. */
export type MixedPrecisionStyle = 'amp' | 'master-weights' | 'fsdp2';
/** Whose model code runs the layers: Hugging Face's modeling files, litgpt's, or code written
 * against PyTorch's own kernels (torchtune, torchtitan, Megatron, the ZeRO paper's baseline). */
export type ModelCode = 'native' | 'hf-transformers' | 'litgpt';
/** Who owns the data-parallel gradient sync: torch DDP/FSDP (ZeRO-1/2 planned with DeepSpeed's
 * buckets, which torch has no engine of its own for), DeepSpeed's engine, or Megatron's
 * distributed optimizer with its contiguous gradient buffer. */
export type DataParallelEngine = 'pytorch' | 'deepspeed' | 'megatron';
export type WeightPrecision = 'fp32' | 'bf16' | 'fp16' | 'fp8' | 'int8' | 'int4';
export type KvCacheDtype = 'bf16' | 'fp8' | 'int8';

export interface LoraSettings {
  rank: number;
  alpha: number;
  dropout: number;
  /** Module names (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj) or 'all-linear'. */
  targetModules: string[] | 'all-linear';
}

export interface QloraSettings {
  doubleQuant: boolean;
}

export interface TrainingSettings {
  method: TrainingMethod;
  precision: Precision;
  optimizer: OptimizerKind;
  microBatchSize: number;
  sequenceLength: number;
  gradientAccumulationSteps: number;
  activationCheckpointing: Recompute;
  lora?: LoraSettings;
  qlora?: QloraSettings;
  /** Tokens the whole run will train on; adds GPU-hours, days and total cost. */
  tokensToTrain?: number;
}

export interface OffloadSettings {
  optimizer: OffloadTarget;
  parameters: OffloadTarget;
}

export interface ParallelismSettings {
  zeroStage: 0 | 1 | 2 | 3;
  tensorParallel: number;
  sequenceParallel: boolean;
  pipelineParallel: number;
  pipelineSchedule: PipelineSchedule;
  virtualStages: number;
  contextParallel: number;
  expertParallel: number;
  offload: OffloadSettings;
}

export interface RuntimeSettings {
  preset: FrameworkPreset;
  attention: AttentionKernel;
  fusedKernels: boolean;
  crossEntropy: CrossEntropyKind;
  optimizerInBackward: boolean;
  activationOffloading: boolean;
  mixedPrecisionStyle: MixedPrecisionStyle;
  /** Megatron keeps fp32 main gradients; DeepSpeed keeps 16-bit ones. */
  fp32Gradients: boolean;
  /** Multi-tensor (foreach) optimizer step temporaries; false for fused/per-parameter steps. */
  foreachOptimizer: boolean;
  /** Fraction the caching allocator reserves above what is allocated. */
  allocatorFragmentation: number;
  /** CUDA context, kernels and library workspaces outside the allocator, bytes. */
  cudaContextBytes: number;
  /** NCCL communicator buffers per GPU when more than one GPU talks, bytes. */
  ncclBytes: number;
  /** DeepSpeed reduce/allgather bucket sizes in elements (ZeRO-1/2); DDP bucket MiB. */
  bucketElements: number;
  /** Parameters DeepSpeed ZeRO-3 may keep gathered for reuse (stage3_max_live_parameters);
   * 0 keeps only the unit computing and the one prefetched. FSDP (dataParallelEngine pytorch)
   * has no such setting: its units are planned as FSDP gathers them. */
  zero3LiveParameters: number;
  /** PEFT upcasts adapters to fp32 by default; pure-bf16 recipes keep them in bf16. */
  adapterDtype: 'fp32' | 'bf16';
  /** zero_grad(set_to_none=True) frees gradients between steps (PyTorch >= 2.0's default);
   * false keeps zeroed gradients allocated through the next forward (PyTorch 1.x). */
  gradientsSetToNone: boolean;
  /** The loop keeps the model's logits alive through backward (HF outputs, litgpt); torchtune
   * and torchtitan `del` them once the loss exists. */
  retainLogits: boolean;
  /** The model itself returns fp32 logits from an unchunked head (torchtune's and torchtitan's
   * decoders end in self.output(h).float(), as Hugging Face's Llama did before 4.46), so the
   * logits the loop holds are fp32; otherwise the loss makes its own fp32 copy. */
  fp32Logits: boolean;
  /** The loop's variables (logits, loss) still reference the previous micro-batch's graph while
   * the next forward runs (litgpt's fit loop): its logits, and what custom autograd Functions
   * keep as ctx attributes (bitsandbytes MatMul4Bit's inputs), which backward does not free. */
  previousStepAlive: boolean;
  /** PyTorch before 1.11 saved softmax's and log-softmax's input for backward beside the output
   * (`_softmax_backward_data` took the input tensor; 1.11 passes its dtype instead). */
  softmaxSavesInput: boolean;
  /** FSDP wraps the token embedding and the output head as units of their own (torchtune's
   * custom_sharded_layers ['tok_embeddings', 'output']), resharded after use like a layer,
   * instead of one root unit that stays gathered from the first forward to backward's end. */
  fsdpEmbeddingUnits: boolean;
  /** Accumulation skips the gradient sync (FSDP no_sync, FSDP2 set_requires_gradient_sync(False),
   * Lightning Fabric's no_backward_sync), so sharded ranks accumulate unsharded gradients. */
  unshardedGradientAccumulation: boolean;
  /** QLoRA's 4-bit linear: bitsandbytes' MatMul4Bit saves its input, torchao's linear_nf4 not;
   * Lightning's bitsandbytes plugin also quantises the output head, from an fp16 copy. */
  quantizationKernel: QuantizationKernel;
  /** Model code: HF's SDPA path passes grouped K/V and writes gelu_new out in Python; litgpt
   * fuses q/k/v into one linear and applies its head 128 positions at a time. */
  modelCode: ModelCode;
  /** Gradient sync: DDP keeps a bucket copy of the gradients, DeepSpeed reduce/allgather
   * buckets at ZeRO-1/2, Megatron reduces in place in its gradient buffer. */
  dataParallelEngine: DataParallelEngine;
  /** Model FLOPs utilisation assumed for step time. */
  mfu: number;
  /** Override of the catalog's price, USD per GPU-hour. */
  pricePerGpuHour?: number;
  /** Network bandwidth per GPU across nodes, bytes/s, one direction. */
  interNodeBandwidthBytesPerSecond: number;
  /** Kept free on every card, bytes. */
  safetyMarginBytes: number;
}

export interface InferenceSettings {
  batchSize: number;
  promptLength: number;
  outputLength: number;
  weightPrecision: WeightPrecision;
  /** Group size of int4/int8 weight quantisation (one fp16 scale per group). */
  quantGroupSize: number;
  kvCacheDtype: KvCacheDtype;
  /** Most tokens one prefill forward takes (vLLM's max_num_batched_tokens, TGI's
   * max_batch_prefill_tokens); absent, the whole batch of prompts prefills at once. */
  prefillChunkTokens?: number;
}

export interface ClusterSettings {
  gpu: string;
  nodes: number;
  gpusPerNode: number;
}

/** A request with every default filled in (what the result echoes). */
export interface PlanRequest {
  name?: string;
  tags: string[];
  workload: Workload;
  /** A catalog id, or an inline architecture (already resolved by the catalog layer). */
  model: string | Record<string, unknown>;
  cluster: ClusterSettings;
  training: TrainingSettings;
  parallelism: ParallelismSettings;
  runtime: RuntimeSettings;
  inference?: InferenceSettings;
}

/** Bytes of each component at the moment of the rank's peak. */
export interface MemoryBreakdown {
  weights: number;
  gradients: number;
  optimizerStates: number;
  masterWeights: number;
  activations: number;
  logitsAndLoss: number;
  buffers: number;
  runtimeOverhead: number;
  /** Inference only. */
  kvCache?: number;
}

export type Phase = 'forward' | 'backward' | 'optimizer';

export interface RankMemory {
  /** e.g. "pipeline stage 0 of 2 (layers 0-39, embedding)". */
  label: string;
  stage: number;
  layers: number;
  allocatedPeakBytes: number;
  reservedPeakBytes: number;
  deviceUsedBytes: number;
  capacityBytes: number;
  headroomBytes: number;
  fits: boolean;
  /** Phase whose total is the peak. */
  peakPhase: Phase;
  /** The largest component of the breakdown. */
  dominantComponent: keyof MemoryBreakdown;
  breakdown: MemoryBreakdown;
  /** Every phase's allocated total, so users see why the peak is where it is. */
  phaseTotals: Record<Phase, number>;
  /** Weights + full local gradients + optimizer states + master copy, whatever the phase:
   * the ZeRO paper's model-state figure for this rank. */
  modelStateBytes: number;
  breakdownGiB: Record<string, number>;
}

export interface PlanLayout {
  gpus: number;
  nodes: number;
  gpusPerNode: number;
  dataParallel: number;
  tensorParallel: number;
  pipelineParallel: number;
  contextParallel: number;
  expertParallel: number;
}

export interface PlanPerformance {
  tokensPerStep: number;
  flopsPerToken: number;
  stepTimeSeconds: number;
  tokensPerSecond: number;
  tokensPerSecondPerGpu: number;
  mfu: number;
  /** Seconds of communication not hidden behind compute, per step. */
  exposedCommunicationSeconds: number;
  /** Seconds per step the offloaded optimizer runs on the host CPUs (0 without offload). */
  hostOptimizerSeconds: number;
  /** Fraction of the step the pipeline idles. */
  pipelineBubbleFraction: number;
  /** Inference only. */
  timeToFirstTokenSeconds?: number;
  timePerOutputTokenSeconds?: number;
}

export interface PlanCost {
  pricePerGpuHour: number;
  clusterPerHour: number;
  usdPerMillionTokens: number;
  priceSource?: string;
  gpuHours?: number;
  wallClockDays?: number;
  totalUsd?: number;
}

export interface PlanResult {
  engineVersion: string;
  request: PlanRequest;
  model: {
    id: string;
    name: string;
    parameters: { total: number; trainable: number; active: number };
  };
  layout: PlanLayout;
  memory: {
    perGpu: RankMemory;
    ranks: RankMemory[];
    hostPerNodeBytes: number;
  };
  performance: PlanPerformance;
  cost: PlanCost;
  /** Inference only: largest batch and longest context that fit. */
  inference?: {
    maxBatchSize: number;
    maxContextLength: number;
    kvCacheBytesPerToken: number;
    tokensPerSecondPerGpu: number;
    usdPerMillionOutputTokens: number;
  };
  warnings: string[];
  assumptions: string[];
}

/** A field-level complaint about a request; the HTTP layer turns these into a 400. */
export interface FieldError {
  field: string;
  message: string;
}

/** Thrown by the engine when a request is valid in shape but cannot be planned. */
export class PlanValidationError extends Error {
  constructor(public readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
    this.name = 'PlanValidationError';
  }
}

export const ENGINE_VERSION = '1.0.0';
