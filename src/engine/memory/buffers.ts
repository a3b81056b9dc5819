// Transient buffers outside the model states and saved activations (memory-model.md section 5).
import { autocastOverFp32 } from './activations';
import { ModelStates, quantizedHeadElements } from './model-states';
import { RankParameters } from '../model/placement';
import { PlanRequest } from '../vocabulary';

/** Buffer bytes alive in each phase of a step. */
export interface PhaseBuffers {
  forward: number;
  backward: number;
  optimizer: number;
  /** The part of `forward` and `backward` that backward frees layer by layer, as it does saved
   * activations: gone by the end of backward. */
  savedForBackward: number;
  /** Added to `backward` while the loss and the head are differentiated (FSDP: a head unit of
   * its own, gathered again for its backward). */
  lossBackward: number;
  /** Added to `backward` once the head's gradient exists (FSDP: that unit's reduce-scatter
   * input, when the head is a unit of its own). */
  headReduce: number;
  /** Added to `backward` while the first layer in backward is differentiated (FSDP: the
   * prefetched layer's all-gather buffer and the layer's unsharded gradients). */
  layerBackward: number;
  /** Added to `backward` while any later layer is differentiated (FSDP: as above, and the
   * previous layer's reduce-scatter input, which FSDP2 holds until the next reduce-scatter). */
  laterLayerBackward: number;
  /** Added to `backward` at its end, when the last unit's gradients are reduced (FSDP's root). */
  backwardEnd: number;
  /** What each buffer is, for the assumptions list. */
  notes: string[];
}

/** Whether ZeRO-3 actually gathers parameters: sharded over more than one rank, or its
 * parameters offloaded to the host. */
export function zero3Gathers(request: PlanRequest, shardDegree: number): boolean {
  const { parallelism } = request;
  return (
    parallelism.zeroStage === 3 && (shardDegree > 1 || parallelism.offload.parameters === 'cpu')
  );
}

/** Whether gathering ZeRO-3 runs as FSDP (torch's fully_shard: a root unit around per-layer
 * units) rather than DeepSpeed's parameter coordinator. */
export function fsdpGathers(request: PlanRequest, shardDegree: number): boolean {
  return zero3Gathers(request, shardDegree) && request.runtime.dataParallelEngine === 'pytorch';
}

export function transientBuffers(
  request: PlanRequest,
  params: RankParameters,
  states: ModelStates,
  dataParallel: number,
  /** Output-head weight elements on this rank (0 off the last stage or for a pooled head). */
  headElements = 0,
  /** How many times the loss applies the head (once per chunk for a chunked loss). */
  headCalls = 1,
): PhaseBuffers {
  const { training, parallelism, runtime } = request;
  const zero = parallelism.zeroStage;
  const notes: string[] = [];
  let forward = 0;
  let backward = 0;
  let optimizer = 0;
  let savedForBackward = 0;
  let layerBackward = 0;
  let laterLayerBackward = 0;
  let lossBackward = 0;
  let headReduce = 0;
  let backwardEnd = 0;
  const shardedOver = states.shardDegree;
  const full = training.method === 'full';

  // Layers compute in 16 bits unless the run is fp32 (QLoRA's dequantised weights too).
  const computeBytes = training.precision === 'fp32' ? 4 : 2;
  if (fsdpGathers(request, shardedOver)) {
    // FSDP (torch fully_shard, one unit per decoder layer and a root unit for the rest): the
    // root is not resharded after forward, since backward needs it at once, and the last layer
    // stays gathered (torchtitan's reshard_after_forward=False for it; FSDP2's docstring).
    // With the embedding and the head as units of their own, only the head is gathered
    // around the loss, and its gradient is reduce-scattered right after its backward.
    const layer = params.largestLayer * states.gatheredWeightBytes;
    // QLoRA quantises only the layers' linears: the root stays in the 16-bit compute dtype.
    const rootBytes = training.method === 'qlora' ? computeBytes : states.gatheredWeightBytes;
    const separate = runtime.fsdpEmbeddingUnits;
    const root = separate ? 0 : params.rootUnit * rootBytes;
    const head = separate ? headElements * rootBytes : 0;
    // Forward ends with the root, the last layer and the all-gather buffer FSDP2 holds until
    // the next all-gather: the last layer's, or the head's once the head is resharded after its
    // forward (H100 anatomy of runs 202, 205, 208 and 215, tools/measure/anatomy.py).
    forward += root + head + (separate ? layer : 2 * layer);
    backward += root + layer;
    lossBackward += head;
    headReduce += separate && full ? headElements * states.gradientElementBytes : 0;
    // A layer's backward adds the prefetched layer's all-gather buffer (freed at its copy-out)
    // and the layer's unsharded gradients in the gathered dtype; each later layer also the
    // previous one's reduce-scatter input in the reduce dtype (fp32 under FSDP2's
    // MixedPrecisionPolicy(reduce_dtype=float32)), held until the next reduce-scatter starts.
    const unshardedGradients = full ? params.largestLayer * states.gatheredWeightBytes : 0;
    const reduceInput = full ? params.largestLayer * states.gradientElementBytes : 0;
    layerBackward += layer + unshardedGradients;
    laterLayerBackward += layer + unshardedGradients + reduceInput;
    // At backward's end the root's (or the embedding's) gradients are reduce-scattered from a
    // reduce-dtype copy.
    const lastUnit = separate ? params.rootUnit - headElements : params.rootUnit;
    backwardEnd += full ? Math.max(0, lastUnit) * states.gradientElementBytes : 0;
    notes.push(
      "FSDP: the root unit (embedding, head) and one layer gathered, a prefetched layer, and in backward a layer's unsharded gradients with their reduce-scatter input",
    );
  } else if (zero3Gathers(request, shardedOver)) {
    // DeepSpeed ZeRO-3 gathers the unit being computed (a layer, or the embedding / head) and
    // prefetches the next one, in the dtype the shards are stored in, and keeps up to
    // stage3_max_live_parameters gathered for reuse.
    const unit = Math.max(params.largestLayer, params.embeddingUnit);
    const gatheredElements = Math.max(
      2 * unit,
      Math.min(runtime.zero3LiveParameters, params.totalOnRank),
    );
    const gathered = gatheredElements * states.gatheredWeightBytes;
    // Backward also holds the unit's unsharded gradient before its reduce-scatter.
    const unshardedGrad = full ? unit * states.gradientElementBytes : 0;
    forward += gathered;
    backward += gathered + unshardedGrad;
    notes.push(
      `ZeRO-3: up to ${runtime.zero3LiveParameters.toExponential(1)} live parameters gathered (stage3_max_live_parameters), one unsharded unit gradient`,
    );
  }

  const deepSpeedBuckets =
    (zero === 1 || zero === 2) && runtime.dataParallelEngine !== 'megatron' && shardedOver > 1;
  if (deepSpeedBuckets) {
    // DeepSpeed reduce_bucket_size in backward, allgather_bucket_size in the step (16-bit each).
    const bucket = Math.min(runtime.bucketElements, states.trainableElements) * 2;
    backward += bucket;
    optimizer += bucket;
    notes.push(
      `DeepSpeed ZeRO-${zero}: reduce and allgather buckets of ${runtime.bucketElements.toExponential(1)} elements`,
    );
  }

  if (zero === 0 && dataParallel > 1 && runtime.dataParallelEngine === 'pytorch') {
    // DDP's buckets are a second copy of the gradients (gradient_as_bucket_view=False default).
    const ddpBuckets = states.trainableElements * states.gradientElementBytes;
    forward += ddpBuckets;
    backward += ddpBuckets;
    optimizer += ddpBuckets;
    notes.push(
      'DDP gradient buckets: a second copy of the gradients (gradient_as_bucket_view=False)',
    );
  }

  const optimizerOnGpu = parallelism.offload.optimizer === 'none' && !runtime.optimizerInBackward;
  const stepMakesTemporary =
    training.optimizer === 'adamw' ||
    training.optimizer === 'lion' ||
    training.optimizer === 'adafactor';
  if (optimizerOnGpu && runtime.foreachOptimizer && stepMakesTemporary) {
    // torch's multi-tensor (foreach) step allocates a state-sized temporary over the whole group
    // (AdamW's sqrt of the second moment, Adafactor's full-size variance estimate).
    const elements = zero >= 1 ? states.trainableElements / shardedOver : states.trainableElements;
    optimizer += elements * states.stateBytes.optimizerElement;
    notes.push('foreach optimizer step: one state-sized temporary');
  } else if (optimizerOnGpu && training.optimizer === 'adafactor') {
    // The per-parameter step still builds each matrix's full variance estimate (row x column):
    // one temporary the size of the largest tensor (torch.optim.Adafactor, HF Adafactor).
    optimizer += params.largestTensor * states.stateBytes.optimizerElement;
    notes.push("Adafactor's step: a variance estimate the size of the largest tensor");
  }

  if (training.method === 'qlora') {
    // bitsandbytes dequantises each 4-bit linear to a 16-bit copy while it computes.
    const largest = Math.max(params.largestLinear, quantizedHeadElements(request, params));
    // Lightning quantises from an fp16 copy (as bitsandbytes 0.41 did), so dequantize_4bit
    // returns fp16 and MatMul4Bit's .to(A.dtype) makes the bf16 copy while the fp16 one lives.
    const viaFp16 =
      runtime.quantizationKernel === 'bitsandbytes-lightning' &&
      training.precision !== 'fp16-mixed';
    const dequantised = largest * (viaFp16 ? 2 + computeBytes : 2);
    forward += dequantised;
    backward += dequantised;
    notes.push(
      viaFp16
        ? 'QLoRA: one dequantised linear at a time, as fp16 and its cast to the compute dtype'
        : 'QLoRA: one dequantised 16-bit linear at a time',
    );
  }

  const autocastOverFp32Weights = autocastOverFp32(request);
  const layerLinears = params.denseLinear + params.expertLinear;
  if (autocastOverFp32Weights && full) {
    // Autocast caches a 16-bit copy of every fp32 linear weight until backward has used it.
    // Backward frees each layer's copies once it has used them. Checkpointed layers drop theirs
    // when autocast's cache clears after the loss, and backward recasts one layer at a time
    // (H100 runs 37 and 43).
    const castCopies = (layerLinears + headElements) * 2;
    const recompute = training.activationCheckpointing === 'full';
    const keptForBackward = recompute ? headElements * 2 : castCopies;
    forward += castCopies;
    backward += keptForBackward + (recompute ? params.largestLayer * 2 : 0);
    savedForBackward += keptForBackward;
    notes.push('autocast: 16-bit copies of the fp32 linear weights held by the graph');
  } else if (autocastOverFp32Weights) {
    // Frozen fp32 weights are cast anew at each use (autocast caches only weights that need a
    // gradient), and each matmul saves its 16-bit cast to compute the input's gradient;
    // checkpointed layers drop theirs until backward rebuilds one layer. QLoRA's 4-bit layers
    // dequantise instead (above): only its 16-bit-or-wider head is cast, once per application
    // when the loss applies it chunk by chunk (litgpt's lm_head_chunk_size; probes.py on the
    // H100 saved 1, 8 and 32 head casts for 1, 8 and 32 chunks).
    const castLayers = training.method === 'lora';
    const recompute = training.activationCheckpointing === 'full';
    const saved = ((castLayers && !recompute ? layerLinears : 0) + headElements * headCalls) * 2;
    forward += saved;
    backward += saved + (castLayers && recompute ? params.largestLayer * 2 : 0);
    savedForBackward += saved;
    notes.push('autocast over frozen fp32 weights: each linear saves its 16-bit cast for backward');
  }
  return {
    forward,
    backward,
    optimizer,
    savedForBackward,
    lossBackward,
    headReduce,
    layerBackward,
    laterLayerBackward,
    backwardEnd,
    notes,
  };
}
