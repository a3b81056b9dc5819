// Serving speed from a roofline: prefill is compute-bound, decode is memory-bound
// (docs/memory-model.md §7 and §8; Williams et al. 2009, "Roofline").
import { countParameters, embeddingWidthOf, projectionElements } from '../model/parameters';
import { ModelArchitecture } from '../vocabulary';
import { isEncoderLayer } from '../model/layers';
import { cachedTokens, crossAttendedFrames } from './kv-cache';

/** Query-key pairs a causal layer scores over a prompt of `tokens`: s^2/2, or w*s - w^2/2 when
 * each query sees at most the `window` previous keys. */
export function causalAttentionPairs(tokens: number, window?: number): number {
  if (window === undefined || tokens <= window) return (tokens * tokens) / 2;
  return window * tokens - (window * window) / 2;
}

/** FLOPs per query-key pair of one layer: QK^T and AV, 2 FLOPs per multiply-add, every head
 * (MLA counted with its decompressed heads: qk nope + rope, v head dim). */
export function attentionFlopsPerPair(arch: ModelArchitecture): number {
  const qkDim = arch.mla ? arch.mla.qkNopeHeadDim + arch.mla.qkRopeHeadDim : arch.headDim;
  const vDim = arch.mla ? arch.mla.vHeadDim : arch.headDim;
  return 2 * arch.numAttentionHeads * (qkDim + vDim);
}

/** Active parameters of the decoder layers: each token multiplies through them once. */
export function activeLayerParameters(arch: ModelArchitecture): number {
  return countParameters(arch).layers.reduce((sum, layer) => sum + layer.activeTotal, 0);
}

/** Prefill FLOPs of a batch: 2 x active layer parameters per prompt token (Kaplan et al. 2020),
 * the output head on the last position only (2 V h per sequence), and causal attention
 * (2 a (d_qk + d_v) per pair, s^2/2 pairs per layer: PaLM's 4 L h s counted with causal savings). */
export function prefillFlops(arch: ModelArchitecture, batch: number, promptLength: number): number {
  if (arch.encoder)
    return batch * (encoderDecoderPrefillFlops(arch, promptLength) + headFlops(arch));
  let attention = 0;
  for (let layer = 0; layer < arch.numLayers; layer++) {
    // A layer that keeps fewer keys than the prompt attends through that window; one that
    // keeps none (a state-space layer) has no attention.
    const keys = cachedTokens(arch, layer, promptLength);
    if (keys === 0) continue;
    const window = keys < promptLength ? keys : undefined;
    attention += causalAttentionPairs(promptLength, window) * attentionFlopsPerPair(arch);
  }
  // OPT-350m's project_in runs on every prompt token; the head (and project_out) on the last.
  const perToken = 2 * (activeLayerParameters(arch) + projectionElements(arch));
  return batch * (perToken * promptLength + headFlops(arch) + attention);
}

/** One encoder-decoder request's prefill without the head: the encoder over its input, every
 * query against every key (no mask), then the decoder's first forward, its self-attention causal
 * and its cross-attention against every encoded position. A text model's encoder reads the
 * prompt and its decoder starts from decoder_start_token_id alone; Whisper's encoder reads the
 * audio's frames, after conv1 (mel bins to h over 2F frames) and conv2 (h to h, stride 2, over
 * F), kernel 3 each, and its decoder the prompt (modeling_whisper.py, modeling_t5.py). */
function encoderDecoderPrefillFlops(arch: ModelArchitecture, prompt: number): number {
  const frames = crossAttendedFrames(arch);
  const encoded = frames || prompt;
  const decoded = frames ? prompt : 1;
  const h = arch.hiddenSize;
  const melBins = arch.encoder?.audio?.melBins ?? 0;
  const convolutions = 2 * 3 * (melBins * h * 2 * frames + h * h * frames);
  const perPair = attentionFlopsPerPair(arch);
  return countParameters(arch).layers.reduce((flops, layer, index) => {
    if (isEncoderLayer(arch, index))
      return flops + 2 * layer.activeTotal * encoded + perPair * encoded * encoded;
    const pairs = causalAttentionPairs(decoded) + decoded * encoded;
    return flops + 2 * layer.activeTotal * decoded + perPair * pairs;
  }, convolutions);
}

/** The head's FLOPs for one token: project_out where the model has it, then vocab x width. */
function headFlops(arch: ModelArchitecture): number {
  return 2 * (projectionElements(arch) + arch.vocabSize * embeddingWidthOf(arch));
}

/** FLOPs to produce one output token at `contextTokens` of context: 2 x active parameters plus
 * the head, and one query against every cached key (at most the window on windowed layers).
 * An encoder-decoder's encoder ran once, in prefill: its decode steps run the decoder alone. */
export function decodeFlopsPerToken(arch: ModelArchitecture, contextTokens: number): number {
  let attention = 0;
  for (let layer = 0; layer < arch.numLayers; layer++) {
    attention += cachedTokens(arch, layer, contextTokens) * attentionFlopsPerPair(arch);
  }
  const perToken = 2 * (decodedLayerParameters(arch) + projectionElements(arch));
  return perToken + headFlops(arch) + attention;
}

/** Active parameters a decode step runs through: every layer's, an encoder-decoder's decoder's
 * alone. */
function decodedLayerParameters(arch: ModelArchitecture): number {
  if (!arch.encoder) return activeLayerParameters(arch);
  return countParameters(arch)
    .layers.filter((_, index) => !isEncoderLayer(arch, index))
    .reduce((sum, layer) => sum + layer.activeTotal, 0);
}

/** Expected share of a layer's routed experts that `tokens` tokens touch, each picking k of E
 * uniformly: 1 - (1 - k/E)^tokens (a decode step reads only those experts' weights). */
export function routedExpertReadFraction(
  numExperts: number,
  expertsPerToken: number,
  tokens: number,
): number {
  return 1 - Math.pow(1 - expertsPerToken / numExperts, tokens);
}

/** Seconds of a ring all-reduce of `bytes` over `ranks` GPUs: each sends 2 (n - 1) / n of the
 * message (NCCL's bus-bandwidth convention); per-call latency is not counted. */
export function ringAllReduceSeconds(bytes: number, ranks: number, bandwidth: number): number {
  if (ranks <= 1) return 0;
  return (bytes * 2 * (ranks - 1)) / ranks / bandwidth;
}

export interface RooflineInputs {
  /** FLOPs the tensor-parallel group shares. */
  flops: number;
  /** HBM bytes each GPU reads, summed over the pipeline stages that run one after another. */
  bytesReadPerGpu: number;
  /** GPUs computing at the same time (the tensor-parallel group; pipeline stages take turns). */
  parallelGpus: number;
  peakFlopsPerSecond: number;
  /** Fraction of peak FLOP/s reached on the matmuls (the request's MFU). */
  efficiency: number;
  memoryBandwidthBytesPerSecond: number;
  /** Communication not overlapped with compute (tensor-parallel all-reduces). */
  communicationSeconds: number;
}

/** Roofline time: the slower of compute and memory traffic, plus exposed communication. */
export function rooflineSeconds(inputs: RooflineInputs): number {
  const compute =
    inputs.flops / (inputs.parallelGpus * inputs.peakFlopsPerSecond * inputs.efficiency);
  const memory = inputs.bytesReadPerGpu / inputs.memoryBandwidthBytesPerSecond;
  return Math.max(compute, memory) + inputs.communicationSeconds;
}
