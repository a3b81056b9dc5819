// The key/value cache a decoder keeps per token while serving (docs/memory-model.md §7).
import {
  attendsLayer,
  isEncoderLayer,
  layerKind,
  mixerAttends,
  MIXER_CODES,
} from '../model/layers';
import { gatedDeltaConvChannels, ssmConvChannels } from '../model/parameters';
import {
  GatedDeltaConfig,
  KvCacheDtype,
  LayerKind,
  MixerKind,
  ModelArchitecture,
  SsmConfig,
} from '../vocabulary';

/** Bytes of one cached element: bf16 2, fp8 and int8 1 (per-tensor scales are negligible). */
export function kvBytesPerElement(dtype: KvCacheDtype): number {
  return dtype === 'bf16' ? 2 : 1;
}

/** Whether decoder layer `layer` attends through the sliding window (model/layers.ts reads
 * layer_types, or the sliding fraction: every other layer for Gemma-2). */
export function usesSlidingWindow(arch: ModelArchitecture, layer: number): boolean {
  return layerKind(arch, layer).attentionWindow.kind === 'sliding';
}

/** Tokens per sequence layer `layer` keeps: the whole context, at most the window (Mistral 7B
 * paper, Jiang et al. 2023, section 2: a rolling buffer cache of W tokens) or the current chunk
 * (Llama-4's chunked attention), and none in a state-space layer, which keeps its fixed-size
 * state instead of keys and values. An encoder-decoder's encoder runs once over the prompt and
 * keeps none; each decoder layer keeps its own tokens (self-attention) and the prompt's keys and
 * values (cross-attention: transformers EncoderDecoderCache), the context's tokens in all.
 * Whisper's encoder runs over its audio frames instead: each decoder layer keeps the text's
 * tokens (prompt and output) and the frames' keys and values. */
export function cachedTokens(
  arch: ModelArchitecture,
  layer: number,
  contextTokens: number,
): number {
  return tokensKept(arch, layer, layerKind(arch, layer), contextTokens);
}

function tokensKept(
  arch: ModelArchitecture,
  layer: number,
  kind: LayerKind,
  contextTokens: number,
): number {
  if (!mixerAttends(kind.mixer) || isEncoderLayer(arch, layer)) return 0;
  const window = kind.attentionWindow;
  const own = window.kind === 'full' ? contextTokens : Math.min(contextTokens, window.size);
  return own + crossAttendedFrames(arch);
}

/** Frames each Whisper decoder layer's cross-attention caches per sequence
 * (modeling_whisper.py WhisperAttention over encoder_hidden_states, EncoderDecoderCache's
 * cross_attention_cache): the encoder's max_source_positions whatever the audio's length, as
 * the feature extractor pads every clip to 30 s. None for a text model. */
export function crossAttendedFrames(arch: ModelArchitecture): number {
  return arch.encoder?.audio?.frames ?? 0;
}

/** Cached elements per token of one layer on one tensor-parallel rank. */
export function kvElementsPerTokenPerLayer(
  arch: ModelArchitecture,
  tensorParallel: number,
): number {
  if (arch.mla) {
    // DeepSeek-V2 paper (Liu et al. 2024, section 2.1 and Table 1): MLA caches the compressed
    // latent c_KV (kv_lora_rank) and the decoupled RoPE key (qk_rope_head_dim) per token and
    // layer, no separate K and V; every tensor-parallel rank keeps the whole latent (vLLM MLA).
    return arch.mla.kvLoraRank + arch.mla.qkRopeHeadDim;
  }
  // K and V, g heads of d each; each TP rank keeps g / t heads, at least one (replicated when g < t).
  const kvHeadsPerRank = Math.max(1, Math.ceil(arch.numKeyValueHeads / tensorParallel));
  return 2 * kvHeadsPerRank * arch.headDim;
}

/** Whole-model cache bytes per token of context (no parallelism, no window): the figure papers
 * quote, e.g. Llama-3-8B in bf16 2 x 32 x 8 x 128 x 2 = 131,072 bytes. */
export function kvCacheBytesPerToken(arch: ModelArchitecture, dtype: KvCacheDtype): number {
  let attending = 0; // state-space layers and an encoder keep no keys or values
  for (let layer = 0; layer < arch.numLayers; layer++) {
    if (attendsLayer(arch, layer) && !isEncoderLayer(arch, layer)) attending++;
  }
  return attending * kvElementsPerTokenPerLayer(arch, 1) * kvBytesPerElement(dtype);
}

// A state-space layer's cache is in the model's 16-bit dtype whatever the KV cache's (transformers
// MambaCache, Mamba2Cache, HybridMambaAttentionDynamicCache and Lfm2Cache allocate with the
// model's dtype).
const SSM_STATE_BYTES = 2;

/** The fixed-size state one sequence keeps in a state-space layer, on one tensor-parallel rank
 * (its heads' or channels' share): the convolution's last d_conv inputs (Mamba-1 and Jamba:
 * d_inner channels; Mamba-2 and Bamba: x, B and C, d_inner + 2 x groups x d_state) and the
 * scan's state (Mamba-1: d_inner x d_state; Mamba-2: heads x head_dim x d_state, the same
 * count) (modeling_mamba.py MambaCache, modeling_mamba2.py Mamba2Cache, modeling_jamba.py and
 * modeling_bamba.py HybridMambaAttentionDynamicCache: conv_states, ssm_states). */
export function ssmStateBytesPerSequence(ssm: SsmConfig, tensorParallel: number): number {
  const elements = ssmConvChannels(ssm) * ssm.convKernel + ssm.innerSize * ssm.stateSize;
  return Math.ceil(elements / tensorParallel) * SSM_STATE_BYTES;
}

// The delta rule's recurrent state is float32 (gatedDeltaStateBytesPerSequence).
const RECURRENT_STATE_BYTES = 4;

/** What one sequence keeps in a Gated DeltaNet layer on one tensor-parallel rank (transformers'
 * linear-attention cache layer): conv_states, the last linear_conv_kernel_dim inputs of q, k
 * and v in the model's dtype (F.pad of mixed_qkv), and recurrent_states, each value head's
 * dk x dv state in fp32 (the delta rule's final state: torch_chunk_gated_delta_rule computes in
 * float32, fla's chunk_gated_delta_rule_fwd_h allocates final_state as float32). */
export function gatedDeltaStateBytesPerSequence(
  delta: GatedDeltaConfig,
  tensorParallel: number,
): number {
  const conv = gatedDeltaConvChannels(delta) * delta.convKernel * SSM_STATE_BYTES;
  const recurrent =
    delta.valueHeads * delta.keyHeadDim * delta.valueHeadDim * RECURRENT_STATE_BYTES;
  return (conv + recurrent) / tensorParallel;
}

/** Cache bytes one rank of a pipeline stage holds for `sequences` sequences of `contextTokens`
 * tokens each (the stage's layers only; each attention layer capped at its window, each
 * state-space layer its fixed state). */
export function stageKvCacheBytes(
  arch: ModelArchitecture,
  firstLayer: number,
  layers: number,
  tensorParallel: number,
  dtype: KvCacheDtype,
  sequences: number,
  contextTokens: number,
): number {
  const perTokenPerLayer =
    kvElementsPerTokenPerLayer(arch, tensorParallel) * kvBytesPerElement(dtype);
  let tokens = 0;
  let stateBytes = 0;
  for (let layer = firstLayer; layer < firstLayer + layers; layer++) {
    const kind = layerKind(arch, layer);
    tokens += tokensKept(arch, layer, kind, contextTokens);
    stateBytes += fixedStateBytesPerSequence(arch, kind.mixer, tensorParallel);
  }
  return (perTokenPerLayer * tokens + stateBytes) * sequences;
}

/** The fixed state one sequence keeps in the layer on one tensor-parallel rank: a Mamba
 * mixer's, or LFM2's convolution cache (Lfm2Cache's conv_state, [h, conv_L_cache] in the
 * model's dtype); none in an attention layer. */
function fixedStateBytesPerSequence(
  arch: ModelArchitecture,
  mixer: MixerKind,
  tensorParallel: number,
): number {
  const block = MIXER_CODES[mixer]?.block;
  if (block === 'ssm' && arch.ssm) return ssmStateBytesPerSequence(arch.ssm, tensorParallel);
  if (block === 'gatedDelta' && arch.gatedDelta)
    return gatedDeltaStateBytesPerSequence(arch.gatedDelta, tensorParallel);
  if (block !== 'shortConv' || !arch.shortConv) return 0;
  const elements = arch.hiddenSize * arch.shortConv.cacheLength;
  return Math.ceil(elements / tensorParallel) * SSM_STATE_BYTES;
}
