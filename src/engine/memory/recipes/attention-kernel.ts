// Which attention kernel actually runs: what the user asks for is not always what PyTorch
// dispatches (aten/src/ATen/native/transformers/cuda/sdp_utils.cpp), and some model code never
// calls SDPA at all. The plan's assumptions say so when it differs.
import {
  eagerAttention,
  efficientAttention,
  flashAttention,
  mathAttention,
  repeatKv,
  sinkAttention,
} from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { layerKind } from '../../model/layers';
import { AttentionKernel, ModelArchitecture } from '../../vocabulary';
import { LayerInputs } from './recipe';

/** flash: the fused kernels that keep no scores and take no mask (FlashAttention, or the
 * memory-efficient kernel without a bias); efficient: the memory-efficient kernel with an
 * additive bias it keeps for backward; math: SDPA's materialising fallback; eager: the model's
 * own softmax(q k^T) v code. */
export type AttentionKernelRun = 'flash' | 'efficient' | 'math' | 'eager';

export interface KernelChoice {
  kernel: AttentionKernelRun;
  /** Why it differs from what was asked, for the plan's assumptions. */
  note?: string;
}

/** A mask the model builds once per forward and hands to the layers that need it. */
export interface MaskSpec {
  /** Layers with equal keys share one tensor (full causal, sliding, chunked). */
  key: string;
  /** Eager's additive mask in the hidden dtype (0 or the dtype's minimum), or the boolean mask
   * SDPA takes (one byte an element). */
  additive: boolean;
  /** One (s x s) mask broadcast over the batch (litgpt's torch.full((T, T))) rather than one
   * per sequence. */
  shared?: boolean;
  /** Bytes an element where the model code keeps the int64 attention_mask's type
   * (DebertaV2Encoder.get_attention_mask: the (b, 1, s, s) product of the mask with itself). */
  elementBytes?: number;
}

/** The attention one layer runs, and the mask it receives. */
export interface LayerAttention {
  kernel: AttentionKernelRun;
  mask?: MaskSpec;
}

const FLASH_MAX_HEAD_DIM = 256; // sdp_utils.cpp check_head_dim_size_flash: head dims up to 256

/** SDPA's dispatch without a mask (is_causal): flash needs 16-bit inputs and a head dim up to
 * 256; the memory-efficient kernel takes fp32 but not grouped K/V (enable_gqa), so fp32
 * grouped-query SDPA falls back to math (sdp_utils.cpp check_grouped_query_attention,
 * check_tensor_dtype, check_head_dim_size_flash). */
export function sdpaKernel(
  computeBytes: number,
  headDim: number,
  groupedQueries: boolean,
): KernelChoice {
  if (computeBytes === 2 && headDim <= FLASH_MAX_HEAD_DIM) return { kernel: 'flash' };
  const why =
    computeBytes === 2
      ? `head dim ${headDim} is above flash attention's ${FLASH_MAX_HEAD_DIM}`
      : 'flash attention takes 16-bit inputs only';
  if (!groupedQueries)
    return {
      kernel: 'flash',
      note: `SDPA runs the memory-efficient kernel (${why}); it keeps no scores either`,
    };
  return {
    kernel: 'math',
    note: `grouped-query SDPA without a fused kernel (${why}, and the memory-efficient kernel takes no enable_gqa): the math kernel keeps every score matrix`,
  };
}

/** SDPA handed a boolean mask (Hugging Face passes one whenever the mask cannot be replaced
 * by is_causal: sliding or chunked windows shorter than the sequence): flash takes no mask, so
 * the memory-efficient kernel runs with the mask converted to an additive bias, which it keeps
 * (attention.cpp convert_boolean_attn_mask, preprocess_mask). */
export const MASKED_SDPA_NOTE =
  'SDPA receives an explicit mask (sliding or chunked window shorter than the sequence): flash attention takes no mask, so the memory-efficient kernel runs and keeps the mask as a float bias per layer; Hugging Face repeats grouped K/V for it';

/** The note of a vision-language model whose image tokens attend both ways in training (the
 * mask's own or_mask_function keeps create_causal_mask from leaving it to is_causal). */
export function bidirectionalImagesNote(kind: 'images' | 'prefix'): string {
  const who =
    kind === 'prefix'
      ? "the prefix (images and prompt) attends to itself both ways (PaliGemma's token_type_ids)"
      : "each image's tokens attend to one another (Gemma-3's token_type_ids)";
  return `in training ${who}: every layer's SDPA receives an explicit mask, so the memory-efficient kernel runs and keeps it as a float bias per layer`;
}

/** The attention of one layer with the kernel the plan chose. */
export function attend(nn: Nn, qkv: [Tensor, Tensor, Tensor], inputs: LayerInputs): Tensor {
  switch (inputs.attention) {
    case 'flash':
      return flashAttention(nn, ...qkv, inputs.heads);
    case 'efficient':
      return maskedSdpa(nn, qkv, inputs);
    case 'math':
      return mathAttention(nn, qkv, inputs.heads, inputs.keys, inputs.dropout);
    case 'eager':
      if (inputs.sinks) return sinkAttention(nn, qkv, inputs.heads, inputs.keys, inputs.mask);
      return eagerAttention(
        nn,
        qkv,
        inputs.heads,
        inputs.keys,
        inputs.mask,
        inputs.softcap,
        inputs.dropout,
      );
  }
}

/** integrations/sdpa_attention.py with a mask: use_gqa_in_sdpa is false, so repeat_kv copies
 * K and V to every query head before SDPA's memory-efficient kernel. */
function maskedSdpa(nn: Nn, [q, k, v]: [Tensor, Tensor, Tensor], inputs: LayerInputs): Tensor {
  return nn.rt.scope(() => {
    const keys = repeatKv(nn, k, inputs.heads);
    const values = repeatKv(nn, v, inputs.heads);
    return efficientAttention(nn, q, keys, values, inputs.heads, inputs.mask!);
  });
}

/** Which kernel and mask every layer of a stage gets, and what the plan should say about it. */
export interface AttentionPlan {
  attentionFor(index: number): LayerAttention;
  notes: string[];
}

/** What decides a plan: the architecture, what the request asks for, and the compute dtype. */
export interface AttentionRequest {
  arch: ModelArchitecture;
  /** The kernel the request asks for. */
  asked: AttentionKernel;
  computeBytes: number;
  /** Keys one query attends over (the sequence on this rank). */
  keys: number;
  /** Why every layer is handed an explicit mask (image tokens that attend both ways, a
   * vision-language model's VisionTower.bidirectional), where the causal one cannot be left to
   * the kernel. */
  explicitMask?: string;
}

/** Hugging Face's attention (transformers masking_utils.py, integrations/sdpa_attention.py):
 * eager layers add a mask of their kind in the hidden dtype; SDPA layers get is_causal unless
 * their window is shorter than the sequence (_ignore_causal_mask_sdpa skips the mask only when
 * kv_length < the window), in which case they get a boolean mask of their kind. */
export function hfAttentionPlan(request: AttentionRequest): AttentionPlan {
  const { arch, asked, computeBytes, keys } = request;
  const grouped = arch.numKeyValueHeads < arch.numAttentionHeads;
  const unmasked = sdpaKernel(computeBytes, arch.headDim, grouped);
  const notes = new Set<string>();
  const choose = (index: number): LayerAttention => {
    if (asked === 'eager') return eagerLayer(arch, index);
    const window = layerKind(arch, index).attentionWindow;
    const maskKey = maskKeyOf(window);
    if (request.explicitMask) {
      notes.add(request.explicitMask);
      return { kernel: 'efficient', mask: { key: maskKey, additive: false } };
    }
    if (window.kind !== 'full' && keys >= window.size) {
      notes.add(MASKED_SDPA_NOTE);
      return { kernel: 'efficient', mask: { key: maskKey, additive: false } };
    }
    if (unmasked.note) notes.add(unmasked.note);
    return { kernel: unmasked.kernel };
  };
  return planByKind(arch, choose, notes);
}

/** The mask a layer's window needs, named so layers that attend alike share it. */
function maskKeyOf(window: ReturnType<typeof layerKind>['attentionWindow']): string {
  return window.kind === 'full' ? 'full' : `${window.kind}-${window.size}`;
}

/** Eager attention with the mask of the layer's window: added to the scores in the hidden dtype
 * (Hugging Face's eager_attention_forward), or a bool mask the code fills with (MPT's). */
export function eagerLayer(
  arch: ModelArchitecture,
  index: number,
  additive = true,
): LayerAttention {
  const key = maskKeyOf(layerKind(arch, index).attentionWindow);
  return { kernel: 'eager', mask: { key, additive } };
}

/** The attention of model code with no SDPA path: eager on every layer, and `note` saying so
 * where another kernel was asked for. */
export function eagerOnly(note: string, additiveMask = true) {
  return (request: AttentionRequest): AttentionPlan => {
    const notes = new Set<string>(request.asked === 'eager' ? [] : [note]);
    const choose = (index: number) => eagerLayer(request.arch, index, additiveMask);
    return planByKind(request.arch, choose, notes);
  };
}

/** A plan that decides once per layer kind: every layer of the model is looked at once, so the
 * notes cover the whole model whatever the stage simulates. */
export function planByKind(
  arch: ModelArchitecture,
  choose: (index: number) => LayerAttention,
  notes: Set<string>,
): AttentionPlan {
  const byKind = new Map<string, LayerAttention>();
  const perLayer: LayerAttention[] = [];
  for (let index = 0; index < arch.numLayers; index++) {
    const key = layerKind(arch, index).key;
    let choice = byKind.get(key);
    if (!choice) byKind.set(key, (choice = choose(index)));
    perLayer.push(choice);
  }
  const last = perLayer[perLayer.length - 1];
  return { attentionFor: (index) => perLayer[index] ?? last, notes: [...notes] };
}
