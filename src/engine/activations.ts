// Tensors the forward pass saves for backward (memory-model.md section 4).
import { linearShapes } from './parameters';
import { LoraSettings, ModelArchitecture, PlanRequest, Recompute } from './types';

/** Bytes per token of one layer, split by what tensor (and sequence) parallelism divides. */
export interface LayerTokenBytes {
  /** Inside the tensor-parallel region: divided by t. */
  insideTp: number;
  /** Outside it (norms, residual stream): divided by t only with sequence parallelism. */
  outsideTp: number;
  /** Attention score matrices, bytes per token per unit of sequence length (x s, / t). */
  scoresPerSeqToken: number;
}

/** Korthikanti et al. 2022, eq. 1-5: bytes per token per layer of a GPT-3 style layer
 * (LayerNorm, GeLU MLP of 4h, dropout, attention without flash), divided by t and recompute. */
export function megatronLayerBytesPerToken(
  h: number,
  a: number,
  s: number,
  t: number,
  sequenceParallel: boolean,
  recompute: Recompute,
  bytes: ActivationDtypes = SIXTEEN_BIT,
): number {
  const { residual: r, matmul: m, softmax: sm } = bytes;
  // Full recomputation keeps only the layer input (2sbh, sharded with sequence parallel).
  if (recompute === 'full') return sequenceParallel ? (r * h) / t : r * h;
  // Softmax output, its 1-byte dropout mask and the probabilities fed to the PV matmul: 5as.
  const scores = recompute === 'selective' ? 0 : ((sm + 1 + m) * a * s) / t;
  // Outside the TP region: two LayerNorm inputs, the QKV and MLP inputs, two dropout masks: 10h.
  const outside = 2 * r * h + 2 * m * h + 2 * h;
  // Inside: Q, K, V, the out-projection input, GeLU input and the second linear's input: 24h.
  const inside = 12 * m * h;
  if (sequenceParallel) return (outside + inside) / t + scores;
  return outside + inside / t + scores;
}

/** Bytes per element of the three kinds of saved tensors in a GPT-3 style layer. */
export interface ActivationDtypes {
  /** Residual stream and LayerNorm inputs. */
  residual: number;
  /** Matmul inputs and outputs. */
  matmul: number;
  /** The softmax output. */
  softmax: number;
}

const SIXTEEN_BIT: ActivationDtypes = { residual: 2, matmul: 2, softmax: 2 };

/** fp32 keeps everything in 4 bytes; AMP keeps the residual stream and softmax in fp32. */
function megatronDtypes(request: PlanRequest): ActivationDtypes {
  const { training } = request;
  if (training.precision === 'fp32') return { residual: 4, matmul: 4, softmax: 4 };
  if (autocastOverFp32(request)) {
    return { residual: 4, matmul: 2, softmax: 4 }; // autocast runs layer_norm and softmax in fp32
  }
  return SIXTEEN_BIT;
}

/** Autocast over fp32 parameters keeps the residual stream in fp32; FSDP (ZeRO-3) instead casts
 * the gathered parameters to 16 bits, so its layers compute and save in 16 bits. */
function autocastOverFp32(request: PlanRequest): boolean {
  const { training, runtime, parallelism } = request;
  return (
    training.precision !== 'fp32' &&
    training.precision !== 'bf16-pure' &&
    runtime.mixedPrecisionStyle === 'amp' &&
    parallelism.zeroStage < 3
  );
}

function adapted(lora: LoraSettings | undefined, module: string): boolean {
  if (!lora) return false;
  return lora.targetModules === 'all-linear' || lora.targetModules.includes(module);
}

/** Whether this model is a GPT-3 style block the Megatron formula describes exactly. */
export function isMegatronStyleLayer(arch: ModelArchitecture): boolean {
  return arch.mlp === 'plain' && arch.norm === 'layernorm' && !arch.moe && !arch.mla;
}

/** Saved bytes per token of one decoder layer of a modern (or any) decoder, no recompute. */
export function layerTokenBytes(
  arch: ModelArchitecture,
  request: PlanRequest,
  layerIndex: number,
): LayerTokenBytes {
  const { runtime, training } = request;
  const e = training.precision === 'fp32' ? 4 : 2; // activation element bytes
  const h = arch.hiddenSize;
  const a = arch.numAttentionHeads;
  const g = arch.numKeyValueHeads;
  const d = arch.headDim;
  const lora = training.method === 'full' ? undefined : training.lora;
  const frozen = training.method !== 'full';
  const fused = runtime.fusedKernels;
  const eager = runtime.attention === 'eager';
  // AMP with fp32 params keeps the residual stream and norms in fp32.
  const residualBytes = autocastOverFp32(request) ? 4 : e;

  // Norms keep input and output; an eager RMSNorm (x.float() ... .type_as(x) * w) keeps the fp32
  // input and the 16-bit normalized tensor instead of the 16-bit input: +4h (torchtune/HF code).
  const perNorm = 2 * residualBytes * h + (fused ? 0 : 4 * h);
  let outsideTp = arch.normsPerLayer * perNorm;
  // Parallel blocks normalise one layer input twice: the saved input is one tensor.
  if (arch.parallelResidual) outsideTp -= (arch.normsPerLayer - 1) * residualBytes * h;
  let insideTp = 0;
  let scoresPerSeqToken = 0;

  // Attention: flash saves q, k, v, the output and an fp32 log-sum-exp per head.
  const mla = arch.mla;
  const qDim = mla ? a * (mla.qkNopeHeadDim + mla.qkRopeHeadDim) : a * d;
  const vDim = mla ? a * mla.vHeadDim : a * d;
  // Eager/unfused paths expand K/V to all heads before the kernel (HF repeat_kv).
  const kvHeads = fused ? g : a;
  const kDim = mla ? qDim : kvHeads * d;
  const vSaved = mla ? vDim : kvHeads * d;
  insideTp += e * (qDim + kDim + vSaved + vDim);
  // Eager code copies the (b, heads, s, d) output to (b, s, h) for o_proj: a second copy.
  if (!fused) insideTp += e * vDim;
  if (mla) {
    // MLA latents and their norms (q_a / kv_a outputs) sit outside the head split.
    outsideTp += 2 * e * (mla.qLoraRank + mla.kvLoraRank + mla.qkRopeHeadDim);
  }
  if (eager) {
    // Eager attention keeps the fp32 softmax output and its 16-bit cast (HF eager_attention).
    scoresPerSeqToken += (4 + e) * a;
  } else {
    insideTp += 4 * a; // fp32 log-sum-exp per head (FlashAttention-2)
  }

  // MLP: gated keeps gate and up outputs and the down input; eager activations keep +f more.
  const mlpActs = (width: number) =>
    arch.mlp === 'gated' ? e * (3 * width) + (fused ? 0 : e * width) : e * 2 * width;
  const moe = arch.moe;
  if (moe && layerIndex >= moe.firstDenseLayers) {
    const k = moe.expertsPerToken;
    // Each token's routed MLP runs k times; dispatched copies of its input are kept per expert.
    insideTp += k * (mlpActs(moe.expertIntermediateSize) + e * h);
    insideTp += moe.sharedExperts * mlpActs(moe.sharedExpertIntermediateSize);
    outsideTp += e * moe.numExperts + 4 * moe.numExperts; // router logits and fp32 probabilities
  } else {
    insideTp += mlpActs(arch.intermediateSize);
  }

  // bitsandbytes' MatMul4Bit saves its input even when its weight is frozen (QLoRA).
  const savesFrozenInputs =
    training.method === 'qlora' && runtime.quantizationKernel === 'bitsandbytes';
  if (frozen && !savesFrozenInputs) {
    // A frozen linear keeps its input only for a weight gradient no one needs (section 4).
    const attentionInputs = mla
      ? ['q_a_proj', 'kv_a_proj_with_mqa', 'q_proj']
      : ['q_proj', 'k_proj', 'v_proj'];
    if (!attentionInputs.some((m) => adapted(lora, m))) outsideTp -= residualBytes * h;
    const mlpInputs = arch.mlp === 'gated' ? ['gate_proj', 'up_proj'] : ['up_proj', 'fc1', 'c_fc'];
    if (!mlpInputs.some((m) => adapted(lora, m))) outsideTp -= residualBytes * h;
    if (
      !adapted(lora, 'down_proj') &&
      !adapted(lora, 'c_proj') &&
      !(moe && layerIndex >= moe.firstDenseLayers)
    ) {
      insideTp -= e * arch.intermediateSize; // the down projection's input
    }
  }
  if (lora) {
    // Each adapter keeps its rank-r intermediate; dropout keeps a dropped copy and a mask.
    for (const shape of linearShapes(arch, layerIndex)) {
      if (!adapted(lora, shape.name) || shape.group === 'router') continue;
      const copies = shape.group === 'expert' ? moe!.expertsPerToken : shape.copies;
      let bytes = e * lora.rank;
      if (lora.dropout > 0) bytes += (e + 1) * shape.inFeatures;
      insideTp += bytes * copies;
    }
  }
  return { insideTp, outsideTp, scoresPerSeqToken };
}

export interface LayerActivation {
  /** Saved bytes of one layer for one micro-batch under the recompute policy. */
  saved: number;
  /** The layer's full set without recompute: what backward rebuilds and works on. */
  workingSet: number;
}

/** One layer, one micro-batch, on one rank, with recompute applied. */
export function layerActivationBytes(
  arch: ModelArchitecture,
  request: PlanRequest,
  layerIndex: number,
): LayerActivation {
  const { training, parallelism, runtime } = request;
  const t = parallelism.tensorParallel;
  const sp = parallelism.sequenceParallel && t > 1;
  const c = parallelism.contextParallel;
  const s = training.sequenceLength;
  const tokens = (training.microBatchSize * s) / c; // context parallel splits the sequence
  const recompute = training.activationCheckpointing;
  const e = training.precision === 'fp32' ? 4 : 2;

  if (isMegatronStyleLayer(arch) && runtime.attention === 'eager' && training.method === 'full') {
    const perToken = megatronLayerBytesPerToken(
      arch.hiddenSize,
      arch.numAttentionHeads,
      s,
      t,
      sp,
      recompute,
      megatronDtypes(request),
    );
    const working = megatronLayerBytesPerToken(
      arch.hiddenSize,
      arch.numAttentionHeads,
      s,
      t,
      sp,
      'none',
      megatronDtypes(request),
    );
    return { saved: perToken * tokens, workingSet: working * tokens };
  }

  const parts = layerTokenBytes(arch, request, layerIndex);
  const scores = (parts.scoresPerSeqToken * s) / c / t;
  const full = parts.insideTp / t + (sp ? parts.outsideTp / t : parts.outsideTp) + scores;
  let perToken = full;
  if (recompute === 'full') {
    perToken = sp ? (e * arch.hiddenSize) / t : e * arch.hiddenSize; // layer input only
  } else if (recompute === 'selective') {
    if (runtime.attention === 'eager') {
      perToken = full - scores; // Megatron: recompute the attention core
    } else {
      // torchtitan's op-level policy: keep the layer input, SDPA outputs and every other matmul.
      const h = arch.hiddenSize;
      const a = arch.numAttentionHeads;
      const matmulOutputs =
        h * 2 +
        arch.numAttentionHeads * arch.headDim +
        2 * arch.numKeyValueHeads * arch.headDim +
        2 * arch.intermediateSize;
      perToken =
        (sp ? (e * h) / t : e * h) +
        (e * a * arch.headDim + 4 * a) / t +
        (0.5 * e * matmulOutputs) / t;
      perToken = Math.min(perToken, full);
    }
  }
  return { saved: perToken * tokens, workingSet: full * tokens };
}

export interface StageActivations {
  /** All saved activations of the stage's layers for the micro-batches in flight. */
  saved: number;
  /** One layer's working set: recomputed in backward or being differentiated. */
  layerWorkingSet: number;
  /** Saved bytes for one micro-batch across the stage's layers. */
  perMicroBatch: number;
  /** Context-parallel K/V chunks received from peers while attention runs. */
  contextParallelBuffers: number;
  /** Expert-parallel all-to-all send and receive buffers. */
  expertParallelBuffers: number;
}

/** The stage's activations given how many micro-batches it keeps in flight. */
export function stageActivations(
  arch: ModelArchitecture,
  request: PlanRequest,
  firstLayer: number,
  layers: number,
  microBatchesInFlight: number,
): StageActivations {
  let perMicroBatch = 0;
  let layerWorkingSet = 0;
  for (let layer = firstLayer; layer < firstLayer + layers; layer++) {
    const bytes = layerActivationBytes(arch, request, layer);
    perMicroBatch += bytes.saved;
    layerWorkingSet = Math.max(layerWorkingSet, bytes.workingSet);
  }
  let saved = perMicroBatch * microBatchesInFlight;
  if (request.runtime.activationOffloading && layers > 0) {
    // Offloaded saved tensors stream to host; about two layers' worth stays on the GPU.
    saved = Math.min(saved, (2 * perMicroBatch) / layers);
  }
  const { training, parallelism } = request;
  const e = training.precision === 'fp32' ? 4 : 2;
  const tokens = (training.microBatchSize * training.sequenceLength) / parallelism.contextParallel;
  const t = parallelism.tensorParallel;
  const kvHeadsPerRank = Math.max(1, arch.numKeyValueHeads / t);
  const contextParallelBuffers =
    parallelism.contextParallel > 1 ? 2 * 2 * e * kvHeadsPerRank * arch.headDim * tokens : 0; // ring: current + next K/V chunk
  const moe = arch.moe;
  const expertParallelBuffers =
    moe && parallelism.expertParallel > 1
      ? 2 * e * tokens * arch.hiddenSize * moe.expertsPerToken // all-to-all send + receive
      : 0;
  return { saved, layerWorkingSet, perMicroBatch, contextParallelBuffers, expertParallelBuffers };
}
