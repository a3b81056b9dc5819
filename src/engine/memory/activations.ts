// Tensors the forward pass saves for backward (memory-model.md section 4).
import { isMoeLayer, layerKind } from '../model/layers';
import { linearShapes } from '../model/parameters';
import { LoraSettings, ModelArchitecture, PlanRequest, Recompute, SsmConfig } from '../vocabulary';

/** The state-space mixer of layer `layerIndex`, if it is a Mamba layer. */
function stateSpaceMixer(arch: ModelArchitecture, layerIndex: number): SsmConfig | undefined {
  const mixer = layerKind(arch, layerIndex).mixer;
  return mixer === 'mamba' || mixer === 'mamba2' ? arch.ssm : undefined;
}

/** Bytes per token a Mamba mixer's forward keeps, as its projections' inputs and outputs
 * (HF MambaMixer.slow_forward: in_proj's x and z, the convolved x, x_proj's dt/B/C, dt, the scan
 * output and its gated product; Mamba2Mixer: in_proj's output, the convolved x/B/C, the scan
 * output, the gated norm's input and output). An interim estimate until the layer recipes. */
function ssmSavedBytesPerToken(ssm: SsmConfig, e: number): number {
  const inner = ssm.innerSize;
  if (ssm.version === 2) {
    const bc = 2 * ssm.groups * ssm.stateSize;
    return e * (2 * inner + bc + ssm.heads + (inner + bc) + 3 * inner);
  }
  return e * (2 * inner + inner + ssm.dtRank + 2 * ssm.stateSize + inner + 2 * inner);
}

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
  const { residual: r, matmul: m, softmax: sm, softmaxInput: smIn = 0 } = bytes;
  // Full recomputation keeps only the layer input (2sbh, sharded with sequence parallel).
  if (recompute === 'full') return sequenceParallel ? (r * h) / t : r * h;
  // Softmax output, its 1-byte dropout mask and the probabilities fed to the PV matmul: 5as.
  const scores = recompute === 'selective' ? 0 : ((sm + smIn + 1 + m) * a * s) / t;
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
  /** The softmax input where the framework saves it too (PyTorch < 1.11), else 0. */
  softmaxInput?: number;
}

const SIXTEEN_BIT: ActivationDtypes = { residual: 2, matmul: 2, softmax: 2 };

/** fp32 keeps everything in 4 bytes; AMP keeps the residual stream and softmax in fp32. */
function megatronDtypes(request: PlanRequest): ActivationDtypes {
  const { training, runtime } = request;
  let dtypes = SIXTEEN_BIT;
  if (training.precision === 'fp32') dtypes = { residual: 4, matmul: 4, softmax: 4 };
  else if (autocastOverFp32(request)) {
    dtypes = { residual: 4, matmul: 2, softmax: 4 }; // autocast runs layer_norm and softmax in fp32
  }
  // Old PyTorch kept softmax's input, which is in the softmax's own dtype (fp32 under autocast).
  return runtime.softmaxSavesInput ? { ...dtypes, softmaxInput: dtypes.softmax } : dtypes;
}

/** Autocast over fp32 parameters keeps the residual stream in fp32; FSDP (ZeRO-3) instead casts
 * the gathered parameters to 16 bits, so its layers compute and save in 16 bits. */
export function autocastOverFp32(request: PlanRequest): boolean {
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

/** Bytes per MLP intermediate element that HF's NewGELUActivation ('gelu_new': GPT-2, Phi) saves
 * beyond its input and output: it is written out in Python, so tanh's output, 1 + tanh and 0.5x
 * are saved too (3e); under autocast pow runs in fp32, so the chain saves an fp32 copy of x,
 * tanh and 1 + tanh in fp32 and 0.5x in 16 bits (+12 over the 16-bit pair; H100 runs 16-18, 44). */
function geluNewExtraBytes(arch: ModelArchitecture, request: PlanRequest): number {
  const { runtime, training } = request;
  if (runtime.fusedKernels || arch.activation !== 'gelu_new') return 0;
  if (runtime.modelCode !== 'hf-transformers') return 0;
  if (autocastOverFp32(request)) return 12;
  return 3 * (training.precision === 'fp32' ? 4 : 2);
}

/** What one LoRA adapter (PEFT's, torchtune's or litgpt's lora_B(lora_A(dropout(x)))) saves. */
interface AdapterSaves {
  /** Bytes per input feature: the input copy lora_A saves, plus dropout's 1-byte mask. */
  inputBytes: number;
  /** Bytes per rank element of lora_A's output, saved by lora_B. */
  rankBytes: number;
  /** lora_A saves the frozen linear's own input tensor (counted once per input, not here). */
  sharesInput: boolean;
}

function adapterSavedBytes(request: PlanRequest, lora: LoraSettings): AdapterSaves {
  const e = request.training.precision === 'fp32' ? 4 : 2;
  const mask = lora.dropout > 0 ? 1 : 0;
  if (autocastOverFp32(request)) {
    // Autocast casts lora_A's input to 16 bits per module, dropped or not (H100 runs 54, 55).
    return { inputBytes: 2 + mask, rankBytes: 2, sharesInput: false };
  }
  const adapterBytes = request.runtime.adapterDtype === 'fp32' ? 4 : 2;
  if (adapterBytes !== e) {
    // PEFT casts x to the adapter's dtype in each adapted module (_cast_input_dtype), and lora_A
    // saves that copy, or dropout's output in that dtype (H100 runs 61 and 62).
    return { inputBytes: adapterBytes + mask, rankBytes: adapterBytes, sharesInput: false };
  }
  // Same dtype: dropout saves its output and mask; without it lora_A saves x itself.
  return {
    inputBytes: mask > 0 ? e + mask : 0,
    rankBytes: adapterBytes,
    sharesInput: mask === 0,
  };
}

/** bitsandbytes' MatMul4Bit keeps each input even when its weight is frozen (QLoRA), as a ctx
 * attribute; torchao's linear_nf4 keeps only the weight. */
export function bitsandbytesKeepsInputs(request: PlanRequest): boolean {
  return request.training.method === 'qlora' && request.runtime.quantizationKernel !== 'torchao';
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
  // FlashAttention has no fp32 kernel and PyTorch's memory-efficient one takes no grouped K/V
  // (enable_gqa), so fp32 SDPA over grouped-query attention runs the math kernel, which
  // materialises the fp32 softmax like eager code (H100 runs 38 and 58).
  const mathSdpa =
    runtime.attention === 'flash' && training.precision === 'fp32' && g < a && !arch.mla;
  const eager = runtime.attention === 'eager' || mathSdpa;
  // AMP with fp32 params keeps the residual stream and norms in fp32.
  const residualBytes = autocastOverFp32(request) ? 4 : e;

  // Norms keep input and output; an eager RMSNorm (x.float() ... .type_as(x) * w) keeps the fp32
  // input and the 16-bit normalized tensor instead of the 16-bit input: +4h (torchtune/HF code).
  // That normalized tensor is saved only for the norm weight's gradient: a frozen norm (LoRA)
  // keeps the fp32 input and its output alone (H100 LoRA runs, tools/measure/anatomy.py).
  // torch's LayerNorm is one native kernel: it keeps its input (and small statistics), no copy.
  const eagerRmsNorm = !fused && arch.norm === 'rmsnorm';
  const perNorm = !eagerRmsNorm
    ? 2 * residualBytes * h
    : frozen
      ? 4 * h + residualBytes * h
      : 2 * residualBytes * h + 4 * h;
  let outsideTp = arch.normsPerLayer * perNorm;
  // Parallel blocks normalise one layer input twice: the saved input is one tensor.
  if (arch.parallelResidual) outsideTp -= (arch.normsPerLayer - 1) * residualBytes * h;
  let insideTp = 0;
  let scoresPerSeqToken = 0;

  const mla = arch.mla;
  const ssm = stateSpaceMixer(arch, layerIndex);
  // Interim guard until the layer recipes: a state-space layer has no q, k, v or scores.
  if (ssm) insideTp += ssmSavedBytesPerToken(ssm, e);
  else {
    // Attention: flash saves q, k, v, the output and an fp32 log-sum-exp per head.
    const qDim = mla ? a * (mla.qkNopeHeadDim + mla.qkRopeHeadDim) : a * d;
    const vDim = mla ? a * mla.vHeadDim : a * d;
    // Unfused code expands K/V to all heads before attention (repeat_kv, repeat_interleave), except
    // Hugging Face's SDPA path, which hands grouped K/V to the kernel (enable_gqa, transformers
    // >= 4.48 on torch >= 2.5; H100 anatomy of run 10).
    const groupedSdpa = !eager && runtime.modelCode === 'hf-transformers';
    const kvHeads = fused || groupedSdpa ? g : a;
    const kDim = mla ? qDim : kvHeads * d;
    const vSaved = mla ? vDim : kvHeads * d;
    insideTp += e * (qDim + kDim + vSaved + vDim);
    // Eager code copies the (b, heads, s, d) output to (b, s, h) for o_proj: a second copy.
    if (!fused) insideTp += e * vDim;
    // litgpt computes q, k, v with one fused linear and, without grouped heads to repeat, passes
    // v to attention as a view of that output: the saved view keeps all of it, q and k parts too
    // (tools/measure/probes.py on the H100: 12h bytes per token saved, 6h of them the whole qkv).
    // HF Phi-3 slices q, k and v out of its qkv_proj output the same way; grouped v reaches SDPA
    // as that view too, while eager code's repeat_kv copies it (H100 run 100's anatomy).
    const vViewsQkv =
      (runtime.modelCode === 'litgpt' && g === a) ||
      (runtime.modelCode === 'hf-transformers' && arch.fusedQkv && (g === a || !eager));
    if (vViewsQkv && !mla) insideTp += e * (qDim + kDim);
    if (mla) {
      // MLA latents and their norms (q_a / kv_a outputs) sit outside the head split.
      outsideTp += 2 * e * (mla.qLoraRank + mla.kvLoraRank + mla.qkRopeHeadDim);
    }
    if (eager) {
      // Eager attention keeps the fp32 softmax output and its 16-bit cast (HF eager_attention);
      // in fp32 the cast is the same tensor.
      scoresPerSeqToken += (e === 4 ? 4 : 4 + e) * a;
      // Soft-capping (cap * tanh(scores / cap), HF Gemma-2's eager code) keeps tanh's output for
      // its backward; SDPA's math kernel skips the cap and flash-attn applies it inside the kernel.
      if (arch.attentionLogitSoftcapping && runtime.attention === 'eager')
        scoresPerSeqToken += e * a;
      // PyTorch < 1.11 also kept softmax's input: fp32 under autocast, which casts it first.
      if (runtime.softmaxSavesInput) scoresPerSeqToken += (autocastOverFp32(request) ? 4 : e) * a;
    } else {
      insideTp += 4 * a; // fp32 log-sum-exp per head (FlashAttention-2)
    }
  }

  // MLP: gated keeps gate and up outputs and the down input; eager activations keep +f more.
  const mlpActs = (width: number) =>
    arch.mlp === 'gated'
      ? e * (3 * width) + (fused ? 0 : e * width)
      : (e * 2 + geluNewExtraBytes(arch, request)) * width;
  const moe = arch.moe;
  if (moe && isMoeLayer(arch, layerIndex)) {
    const k = moe.expertsPerToken;
    // Each token's routed MLP runs k times; dispatched copies of its input are kept per expert.
    insideTp += k * (mlpActs(moe.expertIntermediateSize) + e * h);
    insideTp += moe.sharedExperts * mlpActs(moe.sharedExpertIntermediateSize);
    outsideTp += e * moe.numExperts + 4 * moe.numExperts; // router logits and fp32 probabilities
  } else {
    insideTp += mlpActs(arch.intermediateSize);
  }

  const savesFrozenInputs = bitsandbytesKeepsInputs(request);
  const adapter = lora ? adapterSavedBytes(request, lora) : undefined;
  // An adapter keeps the very input its frozen linear reads only when it neither casts nor drops it.
  const keepsInput = (module: string) => adapted(lora, module) && adapter!.sharesInput;
  if (frozen && !savesFrozenInputs) {
    // A frozen linear keeps its input only for a weight gradient no one needs (section 4).
    const attentionInputs = mla
      ? ['q_a_proj', 'kv_a_proj_with_mqa', 'q_proj']
      : ['q_proj', 'k_proj', 'v_proj', 'qkv_proj'];
    if (!attentionInputs.some(keepsInput)) outsideTp -= residualBytes * h;
    const mlpInputs =
      arch.mlp === 'gated' ? ['gate_proj', 'up_proj', 'gate_up_proj'] : ['up_proj', 'fc1', 'c_fc'];
    const hasMlp = layerKind(arch, layerIndex).mlp !== 'none';
    if (hasMlp && !mlpInputs.some(keepsInput)) outsideTp -= residualBytes * h;
    if (!keepsInput('down_proj') && !keepsInput('c_proj') && !isMoeLayer(arch, layerIndex)) {
      insideTp -= e * arch.intermediateSize; // the down projection's input
    }
  }
  if (lora && adapter) {
    // Each adapter keeps its rank-r intermediate and its own copy of the input (see below).
    for (const shape of linearShapes(arch, layerIndex)) {
      if (!adapted(lora, shape.name) || shape.group === 'router') continue;
      const copies = shape.group === 'expert' ? moe!.expertsPerToken : shape.copies;
      const bytes = adapter.rankBytes * lora.rank + adapter.inputBytes * shape.inFeatures;
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
    const gelu = (geluNewExtraBytes(arch, request) * arch.intermediateSize) / t;
    const geluSaved = recompute === 'full' ? 0 : gelu;
    return { saved: (perToken + geluSaved) * tokens, workingSet: (working + gelu) * tokens };
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
  /** Saved bytes of the stage's last layer for one micro-batch: freed first in backward. */
  lastLayerSaved: number;
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
  let lastLayerSaved = 0;
  for (let layer = firstLayer; layer < firstLayer + layers; layer++) {
    const bytes = layerActivationBytes(arch, request, layer);
    perMicroBatch += bytes.saved;
    layerWorkingSet = Math.max(layerWorkingSet, bytes.workingSet);
    lastLayerSaved = bytes.saved;
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
  return {
    saved,
    layerWorkingSet,
    perMicroBatch,
    lastLayerSaved,
    contextParallelBuffers,
    expertParallelBuffers,
  };
}

/**
 * Inputs of one micro-batch's 4-bit linears that bitsandbytes' MatMul4Bit keeps as ctx
 * attributes (`ctx.tensors = (A, B)`), which backward does not release: they live as long as
 * anything references the graph. Layers run without recompute (a reentrant checkpoint rebuilds
 * them inside backward, whose graph dies with it).
 */
export function quantizedLinearInputBytes(
  arch: ModelArchitecture,
  request: PlanRequest,
  firstLayer: number,
  layers: number,
  quantizedHead: boolean,
): number {
  const { training, parallelism } = request;
  const e = training.precision === 'fp32' ? 4 : 2;
  const t = parallelism.tensorParallel;
  const sp = parallelism.sequenceParallel && t > 1;
  const tokens = (training.microBatchSize * training.sequenceLength) / parallelism.contextParallel;
  const h = arch.hiddenSize;
  const residualBytes = autocastOverFp32(request) ? 4 : e;
  const replicated = (bytes: number) => (sp ? bytes / t : bytes);
  const vDim = arch.mla
    ? arch.numAttentionHeads * arch.mla.vHeadDim
    : arch.numAttentionHeads * arch.headDim;
  let perToken = 0;
  for (let layer = firstLayer; layer < firstLayer + layers; layer++) {
    // The attention block's normalised input and o_proj's input.
    perToken += replicated(residualBytes * h) + (e * vDim) / t;
    // A parallel block with one norm feeds the MLP the same tensor as attention.
    const sharedNorm = arch.parallelResidual && arch.normsPerLayer === 1;
    if (!sharedNorm) perToken += replicated(residualBytes * h);
    const moe = arch.moe;
    if (moe && isMoeLayer(arch, layer)) {
      // Each routed copy of a token enters its expert and that expert's down projection.
      const k = moe.expertsPerToken;
      perToken += (k * e * (h + moe.expertIntermediateSize)) / t;
      perToken += (moe.sharedExperts * e * moe.sharedExpertIntermediateSize) / t;
    } else {
      perToken += (e * arch.intermediateSize) / t; // the down projection's input
    }
  }
  if (quantizedHead) perToken += replicated(e * h); // the final norm's output, the head's input
  return perToken * tokens;
}
