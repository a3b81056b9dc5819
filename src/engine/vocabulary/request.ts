// A PlanRequest with every default filled in: what the engine plans and the result echoes.
import {
  AdapterDtype,
  AttentionKernel,
  CrossEntropyKind,
  DataParallelEngine,
  FrameworkPreset,
  FsdpReshardPolicy,
  Fp8Recipe,
  KvCacheDtype,
  MixedPrecisionStyle,
  ModelCode,
  OffloadTarget,
  OptimizerKind,
  PipelineSchedule,
  Precision,
  QuantizationKernel,
  Recompute,
  PreferenceObjective,
  TrainingMethod,
  WeightPrecision,
  Workload,
  ZeroStage,
} from './enums';

export interface LoraSettings {
  rank: number;
  alpha: number;
  dropout: number;
  /** Module names (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj) or 'all-linear'. */
  targetModules: string[] | 'all-linear';
  /** DoRA (Liu et al. 2024): each adapted linear also trains a magnitude per output feature
   * and renormalises W + s B A by its column norms in every forward (PEFT's and torchtune's
   * use_dora). */
  useDora?: boolean;
}

export interface QloraSettings {
  doubleQuant: boolean;
}

/** The reference-model knob TRL's DPOConfig and KTOConfig share. */
export interface ReferenceSettings {
  /** precompute_ref_log_probs: the reference's log-probabilities are computed once before
   * training and read from the batch, so no reference model is kept or run in the step. */
  precomputeReferenceLogProbs: boolean;
}

export interface TrainingSettings {
  method: TrainingMethod;
  /** 'dpo': each micro-batch is that many chosen and as many rejected sequences, scored
   * against a reference model (TRL's DPOTrainer); 'reward': the same pairs through the model as a
   * one-label sequence classifier (TRL's RewardTrainer); 'kto': that many labelled completions
   * and as many mismatched ones for the KL estimate, scored against a reference model (TRL's
   * KTOTrainer); 'none': the next-token loss. */
  preference: PreferenceObjective;
  /** Present when `preference` is 'dpo'. */
  dpo?: ReferenceSettings;
  /** Present when `preference` is 'kto'. */
  kto?: ReferenceSettings;
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
  /** Images in each sample of a vision-language model, whose image encoder's activations the
   * plan then includes; absent or 0 plans text-only batches. */
  imagesPerSample?: number;
}

export interface OffloadSettings {
  optimizer: OffloadTarget;
  parameters: OffloadTarget;
}

export interface ParallelismSettings {
  zeroStage: ZeroStage;
  tensorParallel: number;
  sequenceParallel: boolean;
  pipelineParallel: number;
  pipelineSchedule: PipelineSchedule;
  virtualStages: number;
  contextParallel: number;
  expertParallel: number;
  /** HSDP: copies of each parameter shard across the data-parallel ranks (shard within a
   * group of dataParallel x contextParallel / replicateDegree ranks, all-reduce across the
   * replicas); 1 shards over every data-parallel rank. */
  replicateDegree: number;
  offload: OffloadSettings;
  /** Set by the layout search's probes (search/bound.ts), never by a request: this one-stage
   * plan stands for one stage of a pipeline, so FSDP runs as torch.distributed.pipelining
   * drives it (sharding/index.ts underPipelining). Absent everywhere else. */
  probedPipelineStage?: boolean;
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
  /** Serving plans: the fraction the caching allocator reserves above what is allocated
   * (training plans simulate the allocator on their timeline instead). */
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
  adapterDtype: AdapterDtype;
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
   * the next forward runs (litgpt's fit loop): its logits stay allocated until then. */
  previousStepAlive: boolean;
  /** Reentrant activation checkpointing (torch.utils.checkpoint use_reentrant=True, the default
   * of transformers 4.x's gradient_checkpointing_enable): the region's forward runs under
   * no_grad, so no autograd Function inside it keeps ctx attributes until its recompute. */
  reentrantCheckpointing: boolean;
  /** PyTorch before 1.11 saved softmax's and log-softmax's input for backward beside the output
   * (`_softmax_backward_data` took the input tensor; 1.11 passes its dtype instead). */
  softmaxSavesInput: boolean;
  /** bitsandbytes before 0.43.2 kept each 4-bit linear's input as MatMul4Bit's ctx.tensors
   * until its graph died; 0.43.2 (PR #1270, July 2024) and later keep only the packed weight. */
  bitsandbytesSavesInput: boolean;
  /** FSDP wraps the token embedding and the output head as units of their own (torchtune's
   * custom_sharded_layers ['tok_embeddings', 'output']), resharded after use like a layer,
   * instead of one root unit that stays gathered from the first forward to backward's end. */
  fsdpEmbeddingUnits: boolean;
  /** The whole model is built on the device before DDP or FSDP wraps it (each parameter then
   * replaced by its shard), and torch.cuda.empty_cache() runs once the wrapper is built. */
  materializeBeforeSharding: boolean;
  /** PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True: the caching allocator maps pages into one
   * growing segment per stream instead of cudaMalloc'ing segments of fixed sizes. */
  expandableSegments: boolean;
  /** fp8 matmuls in the decoder layers' linears (the head and embedding stay 16-bit). */
  fp8Recipe: Fp8Recipe;
  /** torchao's enable_fsdp_float8_all_gather: FSDP gathers tensorwise fp8 weights (1 byte). */
  fp8AllGather: boolean;
  /** Mixture-of-experts capacity factor (Megatron's --moe-expert-capacity-factor, DeepSpeed's
   * capacity_factor): an expert takes at most ceil(tokens x k / E x factor) tokens and drops
   * the rest; 0 routes without dropping. */
  moeCapacityFactor: number;
  /** Every expert computes its full capacity (--moe-pad-expert-input-to-capacity). */
  moePadToCapacity: boolean;
  /** The most-loaded expert's tokens over the mean (1 = perfectly balanced routing). */
  moeRoutingImbalance: number;
  /** torchtitan's fsdp_reshard_after_forward policy for FSDP units. */
  fsdpReshardAfterForward: FsdpReshardPolicy;
  /** Under pipeline parallelism, FSDP frees each unit's unsharded parameters after every
   * micro-batch's backward (FSDPModule.set_reshard_after_backward(True)) instead of keeping
   * them gathered until the step's last backward (torch.distributed.pipelining's default). */
  fsdpReshardAfterBackward: boolean;
  /** Layers the embedding counts as when the model is split into pipeline stages
   * (torchtitan's pipeline_parallel_first_stage_less_layers). */
  pipelineFirstStageLessLayers: number;
  /** Layers the final norm and head count as (pipeline_parallel_last_stage_less_layers). */
  pipelineLastStageLessLayers: number;
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
