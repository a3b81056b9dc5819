// Transient tensors of a forward pass while serving: one layer at a time, no saved activations
// (docs/memory-model.md §7: "the activations of one layer at a time, and the logits").
import { isEncoderLayer } from '../model/layers';
import { isMoeLayer } from '../model/parameters';
import { crossAttendedFrames } from './kv-cache';
import { AttentionKernel, ModelArchitecture } from '../vocabulary';

/** Activations are computed in 16 bits whatever the weights' storage precision. */
const ACTIVATION_BYTES = 2;

/** 16-bit elements per token alive inside one layer on one tensor-parallel rank: the residual
 * stream and the normalised input (h each, replicated) plus the larger of the attention block
 * (q, k, v and the attention output) and the MLP block (gated: fused gate/up 2f plus the
 * activated f; plain: f and its activation), which never coexist. */
export function layerWorkspaceElementsPerToken(
  arch: ModelArchitecture,
  layer: number,
  tensorParallel: number,
): number {
  const t = tensorParallel;
  const h = arch.hiddenSize;
  const a = arch.numAttentionHeads;
  let attention: number;
  if (arch.mla) {
    // MLA prefill decompresses the latent (kv_lora + rope, replicated) into per-head K and V.
    const { qLoraRank, kvLoraRank, qkNopeHeadDim, qkRopeHeadDim, vHeadDim } = arch.mla;
    const qk = (a * (qkNopeHeadDim + qkRopeHeadDim)) / t;
    attention = qLoraRank + kvLoraRank + qkRopeHeadDim + 2 * qk + (2 * a * vHeadDim) / t;
  } else {
    const kvHeads = Math.max(1, Math.ceil(arch.numKeyValueHeads / t));
    attention = (2 * a * arch.headDim) / t + 2 * kvHeads * arch.headDim;
  }
  const expansion = arch.mlp === 'gated' ? 3 : 2;
  let mlp = (expansion * arch.intermediateSize) / t;
  const moe = arch.moe;
  if (moe && isMoeLayer(arch, layer)) {
    // Fused MoE: each token's k expert widths, plus k partial outputs of h before the weighted
    // sum (vLLM fused_moe intermediate caches), plus the shared experts.
    mlp =
      (moe.expertsPerToken * expansion * moe.expertIntermediateSize) / t +
      moe.expertsPerToken * h +
      (moe.sharedExperts * expansion * moe.sharedExpertIntermediateSize) / t;
  }
  return 2 * h + Math.max(attention, mlp);
}

/** Bytes of the largest layer working set of a stage while it prefills `batch` prompts of
 * `promptLength` tokens, at most `chunkTokens` per forward (chunked prefill); eager attention adds
 * the scores and probabilities of those tokens against up to `promptLength` keys. Whisper's
 * encoder layers run over the audio's frames instead, and the decoder's attend to them. */
export function prefillWorkspaceBytes(
  arch: ModelArchitecture,
  firstLayer: number,
  layers: number,
  tensorParallel: number,
  batch: number,
  promptLength: number,
  attention: AttentionKernel,
  chunkTokens = Infinity,
): number {
  const frames = crossAttendedFrames(arch);
  const perToken = (encoder: boolean) => {
    let elements = 0;
    for (let layer = firstLayer; layer < firstLayer + layers; layer++) {
      if (frames > 0 && isEncoderLayer(arch, layer) !== encoder) continue;
      elements = Math.max(elements, layerWorkspaceElementsPerToken(arch, layer, tensorParallel));
    }
    return elements;
  };
  // Flash attention never materialises the scores (Dao et al. 2022); eager keeps two a-by-s
  // matrices, against every frame in Whisper's cross-attention.
  const scores = (queries: number, keys: number) =>
    attention === 'eager'
      ? ((2 * arch.numAttentionHeads) / tensorParallel) * keys * queries * ACTIVATION_BYTES
      : 0;
  const tokens = Math.min(batch * promptLength, chunkTokens);
  const text = perToken(false) * tokens * ACTIVATION_BYTES + scores(tokens, frames || promptLength);
  if (frames === 0) return Math.ceil(text);
  // Whisper: the encoder runs over every sequence's frames, bidirectional and unchunked; its
  // output (encoder_outputs, h per frame) waits beside the decoder's prefill of the prompt.
  const encoded = batch * frames;
  const encoder = perToken(true) * encoded * ACTIVATION_BYTES + scores(encoded, frames);
  const heldOutput = encoded * arch.hiddenSize * ACTIVATION_BYTES;
  return Math.ceil(Math.max(encoder, perToken(false) > 0 ? text + heldOutput : 0));
}

/** The sampler's fp32 logits of the last position of every sequence, over the whole
 * vocabulary (the vocab-parallel head's shards are gathered before sampling). */
export function lastPositionLogitsBytes(arch: ModelArchitecture, batch: number): number {
  return batch * arch.vocabSize * 4;
}
