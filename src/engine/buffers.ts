// Transient buffers outside the model states and saved activations (memory-model.md section 5).
import { autocastOverFp32 } from './activations';
import { ModelStates, quantizedHeadElements } from './model-states';
import { RankParameters } from './placement';
import { PlanRequest } from './types';

/** Buffer bytes alive in each phase of a step. */
export interface PhaseBuffers {
  forward: number;
  backward: number;
  optimizer: number;
  /** The part of `forward` and `backward` that backward frees layer by layer, as it does saved
   * activations: gone by the end of backward. */
  savedForBackward: number;
  /** What each buffer is, for the assumptions list. */
  notes: string[];
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
  const shardedOver = states.shardDegree;
  const full = training.method === 'full';

  if (zero === 3 && (shardedOver > 1 || parallelism.offload.parameters === 'cpu')) {
    // FSDP / ZeRO-3 gathers the unit being computed (a layer, or the embedding / head) and
    // prefetches the next one, in the dtype the shards are stored in.
    const unit = Math.max(params.largestLayer, params.embeddingUnit);
    // DeepSpeed keeps up to stage3_max_live_parameters gathered for reuse.
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
      runtime.zero3LiveParameters > 0
        ? `ZeRO-3: up to ${runtime.zero3LiveParameters.toExponential(1)} live parameters gathered (stage3_max_live_parameters), one unsharded unit gradient`
        : 'ZeRO-3/FSDP: two gathered units (current + prefetch) and one unsharded unit gradient',
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
    const computeBytes = training.precision === 'fp32' ? 4 : 2;
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
  return { forward, backward, optimizer, savedForBackward, notes };
}
