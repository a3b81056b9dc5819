// Weights, gradients, master copy and optimizer states of one rank (memory-model.md section 3).
import { RankParameters } from '../model/placement';
import { OptimizerKind, PlanRequest } from '../vocabulary';
import { shardingEngine } from './sharding/engine';
import { ShardWorld } from './sharding/shard-world';

/** Bytes per element of each state of a trained parameter. */
export interface StateBytes {
  weight: number;
  gradient: number;
  master: number;
  /** Bytes of one optimizer-state element (fp32 4, bf16 2, 8-bit 1). */
  optimizerElement: number;
}

export interface ModelStates {
  weights: number;
  gradients: number;
  masterWeights: number;
  /** Optimizer states held by the caching allocator. */
  optimizerStates: number;
  /** Paged (unified-memory) optimizer states: on the device but outside the allocator. */
  pagedOptimizerStates: number;
  /** Bytes this rank keeps in host memory (offload). */
  hostBytes: number;
  /** Data-parallel ranks the dense states are sharded over. */
  shardDegree: number;
  /** Trainable elements on this rank before sharding. */
  trainableElements: number;
  /** Bytes per element of a gathered unit as stored (NF4 for QLoRA's linears). */
  gatheredWeightBytes: number;
  /** Bytes of one gradient element as reduced (fp32 for FSDP2 / fp32 main grads). */
  gradientElementBytes: number;
  stateBytes: StateBytes;
}

/** Bytes per trained element by precision regime (memory-model.md section 3, table). */
export function trainedStateBytes(request: PlanRequest): StateBytes {
  const { precision } = request.training;
  const runtime = request.runtime;
  if (precision === 'fp32') return { weight: 4, gradient: 4, master: 0, optimizerElement: 4 };
  // Pure 16-bit: torch optimizers keep their moments in the parameter dtype.
  if (precision === 'bf16-pure') return { weight: 2, gradient: 2, master: 0, optimizerElement: 2 };
  switch (runtime.mixedPrecisionStyle) {
    case 'amp': // autocast over fp32 params: the params are the master copy
    case 'fsdp2': // FSDP2: fp32 sharded params, fp32 reduce
      return { weight: 4, gradient: 4, master: 0, optimizerElement: 4 };
    case 'master-weights': // DeepSpeed / Megatron: 16-bit params + fp32 master
      return { weight: 2, gradient: runtime.fp32Gradients ? 4 : 2, master: 4, optimizerElement: 4 };
  }
}

/** The bytes of what the optimizer steps over `shardDegree` ranks. DeepSpeed's ZeRO optimizers
 * step an fp32 partition cloned from the trained parameters whatever their dtype
 * (stage_1_and_2.py single_partition_of_fp32_groups, stage3.py fp32_partitioned_groups_flat),
 * so the optimizer's states are fp32 too; other engines step the trained `bytes`. */
export function steppedStates<T extends { master: number; optimizerElement: number }>(
  request: PlanRequest,
  shardDegree: number,
  bytes: T,
): T {
  if (shardingEngine(request, shardDegree) !== 'deepspeed') return bytes;
  return { ...bytes, master: 4, optimizerElement: 4 };
}

/** Adapter states: PEFT keeps fp32 adapters (4+4+8), pure-bf16 recipes 2+2+4. */
function adapterStateBytes(request: PlanRequest): StateBytes {
  if (request.training.precision === 'fp32' || request.runtime.adapterDtype === 'fp32') {
    return { weight: 4, gradient: 4, master: 0, optimizerElement: 4 };
  }
  return { weight: 2, gradient: 2, master: 0, optimizerElement: 2 };
}

// bitsandbytes 8-bit optimizers: one fp32 absmax per 2048-element block per state.
const BNB_8BIT_BLOCK = 2048;

/** Optimizer bytes per trained element (Adafactor handled separately: it is factored). */
export function optimizerBytesPerElement(optimizer: OptimizerKind, elementBytes: number): number {
  switch (optimizer) {
    case 'adamw':
      return 2 * elementBytes; // first and second moments
    case 'adamw-8bit':
    case 'paged-adamw-8bit':
      return 2 * (1 + 4 / BNB_8BIT_BLOCK); // two 8-bit moments plus block absmax
    case 'sgd':
      return 0;
    case 'sgd-momentum':
    case 'lion':
      return elementBytes; // one momentum buffer
    case 'adafactor':
      return 0; // factored: see factoredOptimizerBytes
  }
}

/** NF4 bytes per weight: 0.5 + fp32 absmax per 64, or 8-bit absmax per 64 + fp32 per 256 blocks. */
export function nf4BytesPerWeight(doubleQuant: boolean): number {
  // QLoRA paper (Dettmers et al. 2023): 4.127 bits with double quantisation, 4.5 without.
  return doubleQuant ? 0.5 + 1 / 64 + 4 / (64 * 256) : 0.5 + 4 / 64;
}

/** Output-head elements stored in NF4: Lightning's BitsandbytesPrecision (litgpt) swaps every
 * nn.Linear, the head's too; Hugging Face skips lm_head and torchtune quantises only the blocks. */
export function quantizedHeadElements(request: PlanRequest, params: RankParameters): number {
  const quantizesHead =
    request.training.method === 'qlora' &&
    request.runtime.quantizationKernel === 'bitsandbytes-lightning';
  return quantizesHead ? params.headLinear : 0;
}

/** Whether the vision tower's linears are stored in NF4: bitsandbytes replaces every nn.Linear
 * its skip list does not name, and Hugging Face's names only the output embedding
 * (quantizers/base.py get_keys_to_not_convert), so the tower's and projector's linears load
 * 4-bit too; torchtune quantises its decoder's linears alone. */
export function quantizesTower(request: PlanRequest): boolean {
  return request.training.method === 'qlora' && request.runtime.quantizationKernel !== 'torchao';
}

function quantizedTowerElements(request: PlanRequest, params: RankParameters): number {
  return quantizesTower(request) ? params.visionLinear : 0;
}

/** Elements left on a rank of `dense` elements sharded over the data-parallel group and
 * `expert` elements sharded over the expert group, when `sharded`. */
type Sharder = (dense: number, expert: number, sharded: boolean) => number;

/** Model states of one rank, after ZeRO sharding and offload; `idle` trained elements no
 * backward reaches get no gradient and no optimizer state (idle-parameters.ts); tables the
 * model code freezes (params.selfFrozen) are held as weights alone, no optimizer given them
 * (Trainer's optimizer groups take the parameters that require grad). */
export function modelStates(
  request: PlanRequest,
  params: RankParameters,
  worlds: ShardWorld,
  idle = 0,
): ModelStates {
  const { world: shardDegree, expertWorld: expertShardDegree } = worlds;
  const { training } = request;
  const zero = request.parallelism.zeroStage;
  const full = training.method === 'full';
  const trained = steppedStates(
    request,
    shardDegree,
    full ? trainedStateBytes(request) : adapterStateBytes(request),
  );

  // Elements weighted by how far ZeRO shards them: experts have a smaller data-parallel group.
  const denseElements = params.denseLinear + params.nonLinear;
  const shard: Sharder = (dense, expert, sharded) =>
    sharded ? dense / shardDegree + expert / expertShardDegree : dense + expert;
  const trainedWeights = full
    ? denseElements + params.expertLinear - params.selfFrozen
    : params.adapters;
  const trainedElementsSharded = (s: boolean) => {
    if (full) return shard(denseElements, params.expertLinear, s);
    return s ? params.adapters / shardDegree : params.adapters;
  };
  // Frozen by the model code: stored like the trained weights, with nothing else.
  const selfFrozen = full ? params.selfFrozen : 0;
  const optimizedElementsSharded = (s: boolean) =>
    trainedElementsSharded(s) - (s ? selfFrozen / shardDegree : selfFrozen);
  const steppedElementsSharded = (s: boolean) =>
    optimizedElementsSharded(s) - (s ? idle / shardDegree : idle);
  const frozenWeightBytes = full ? 0 : frozenBaseBytes(request, params, shard);

  const optimizerElements = steppedElementsSharded(zero >= 1);
  const placed = placeStates(request, optimizerElements, {
    weights: trainedElementsSharded(zero === 3) * trained.weight + frozenWeightBytes,
    gradients: steppedElementsSharded(zero >= 2) * trained.gradient,
    optimizerStates: optimizerStateBytes(request, params, optimizerElements, trained, shardDegree),
    // fp32 masters are made for every trained parameter when the model is set up
    masterWeights: optimizedElementsSharded(zero >= 1) * trained.master,
  });
  if (request.runtime.optimizerInBackward) {
    // Each parameter is updated as soon as its gradient exists: one gradient alive at a time.
    placed.gradients = Math.min(placed.gradients, params.largestTensor * trained.gradient);
  }

  return {
    ...placed,
    shardDegree,
    trainableElements: trainedWeights,
    gatheredWeightBytes: gatheredWeightBytes(request),
    gradientElementBytes: trained.gradient,
    stateBytes: trained,
  };
}

/** Bytes of the frozen base a LoRA or QLoRA rank holds. */
function frozenBaseBytes(request: PlanRequest, params: RankParameters, shard: Sharder): number {
  const { training } = request;
  const zero3 = request.parallelism.zeroStage === 3;
  // AMP keeps the whole model in fp32 and casts on the fly; otherwise the base is 16-bit.
  const ampBase =
    training.precision !== 'bf16-pure' && request.runtime.mixedPrecisionStyle === 'amp';
  const frozenBytes = training.precision === 'fp32' || ampBase ? 4 : 2;
  const linearBytes =
    training.method === 'qlora'
      ? nf4BytesPerWeight(training.qlora?.doubleQuant ?? true)
      : frozenBytes;
  // QLoRA quantises the decoder's linears (and bitsandbytes a vision tower's); embeddings and
  // norms stay 16-bit, and so does the head unless the quantiser replaces every linear
  // (Lightning's plugin). Routed experts stay 16-bit too: transformers v5 keeps them as fused
  // 3-D parameters, not nn.Linear, which bitsandbytes' conversion skips (bitsandbytes issue
  // #1849; recipes/hf-moe.ts).
  const fourBit = quantizedHeadElements(request, params) + quantizedTowerElements(request, params);
  return (
    shard(params.denseLinear + fourBit, 0, zero3) * linearBytes +
    shard(params.nonLinear - fourBit, params.expertLinear, zero3) * frozenBytes
  );
}

/** Optimizer-state bytes of the rank's `optimizerElements` trained elements. */
function optimizerStateBytes(
  request: PlanRequest,
  params: RankParameters,
  optimizerElements: number,
  trained: StateBytes,
  shardDegree: number,
): number {
  const { training } = request;
  if (training.optimizer !== 'adafactor') {
    return (
      optimizerElements * optimizerBytesPerElement(training.optimizer, trained.optimizerElement)
    );
  }
  // DeepSpeed's and Megatron's optimizers step flat 1-D partitions (stage_1_and_2.py
  // single_partition_of_fp32_groups, distrib_optimizer.py's main-parameter shards), which
  // Adafactor cannot factor: a full fp32 second moment over the partition.
  if (shardingEngine(request, shardDegree) !== 'pytorch') return optimizerElements * 4;
  // Adafactor keeps fp32 row and column second moments per matrix (Shazeer & Stern 2018).
  const factored = training.method === 'full' ? params.factoredStateElements : params.adapters;
  return (request.parallelism.zeroStage >= 1 ? factored / shardDegree : factored) * 4;
}

/** The states as sharded on the GPU, before any of them moves to the host or to paged memory. */
interface GpuStates {
  weights: number;
  gradients: number;
  optimizerStates: number;
  masterWeights: number;
}

/** Where each state lives once offload and paged optimizers move some off the allocator. */
function placeStates(
  request: PlanRequest,
  optimizerElements: number,
  states: GpuStates,
): GpuStates & { pagedOptimizerStates: number; hostBytes: number } {
  const { training, parallelism } = request;
  const placed = { ...states, pagedOptimizerStates: 0, hostBytes: 0 };
  if (parallelism.offload.optimizer === 'cpu') {
    // ZeRO-Offload: fp32 master, moments and gradients live in host memory; gradients reach it
    // through the reduce buckets (counted as buffers), so no gradient partition stays on the GPU.
    placed.hostBytes += placed.optimizerStates + placed.masterWeights + optimizerElements * 4;
    placed.optimizerStates = 0;
    placed.masterWeights = 0;
    placed.gradients = 0;
  } else if (training.optimizer === 'paged-adamw-8bit') {
    // bitsandbytes pages these through cudaMallocManaged, which PyTorch's allocator never sees.
    placed.pagedOptimizerStates = placed.optimizerStates;
    placed.optimizerStates = 0;
  }
  if (parallelism.offload.parameters === 'cpu' && parallelism.zeroStage === 3) {
    // ZeRO-Infinity / FSDP CPUOffload: sharded parameters and their gradients live in host
    // memory; only gathered units stay on the GPU (see buffers).
    placed.hostBytes += placed.weights + placed.gradients;
    placed.weights = 0;
    placed.gradients = 0;
  }
  return placed;
}

/** Bytes per element of a gathered unit as stored: NF4 for QLoRA's linears, else the compute dtype. */
function gatheredWeightBytes(request: PlanRequest): number {
  const { training } = request;
  if (training.method === 'qlora') return nf4BytesPerWeight(training.qlora?.doubleQuant ?? true);
  return training.precision === 'fp32' ? 4 : 2;
}
