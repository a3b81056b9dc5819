// Which attention kernel actually runs: what the user asks for is not always what PyTorch
// dispatches (aten/src/ATen/native/transformers/cuda/sdp_utils.cpp), and some model code never
// calls SDPA at all. The plan's assumptions say so when it differs.
import { eagerAttention, flashAttention, mathAttention } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { LayerInputs } from './recipe';

/** flash: the fused kernels (FlashAttention, memory-efficient) that keep no scores; math:
 * SDPA's materialising fallback; eager: the model's own softmax(q k^T) v code. */
export type AttentionKernelRun = 'flash' | 'math' | 'eager';

export interface KernelChoice {
  kernel: AttentionKernelRun;
  /** Why it differs from what was asked, for the plan's assumptions. */
  note?: string;
}

/** SDPA's dispatch: flash needs 16-bit inputs and a head dim up to 256; the memory-efficient
 * kernel takes fp32 and masks but not grouped K/V (enable_gqa), so fp32 grouped-query SDPA
 * falls back to math (sdp_utils.cpp check_grouped_query_attention, check_tensor_dtype). */
export function sdpaKernel(
  computeBytes: number,
  headDim: number,
  groupedQueries: boolean,
): KernelChoice {
  if (computeBytes === 2 && headDim <= 256) return { kernel: 'flash' };
  if (!groupedQueries)
    return { kernel: 'flash', note: 'SDPA runs the memory-efficient kernel (no scores kept)' };
  return {
    kernel: 'math',
    note: 'fp32 grouped-query SDPA has no fused kernel (flash takes 16-bit inputs only, memory-efficient takes no enable_gqa): the math kernel keeps every fp32 score matrix',
  };
}

/** The attention of one layer with the kernel the plan chose. */
export function attend(nn: Nn, qkv: [Tensor, Tensor, Tensor], inputs: LayerInputs): Tensor {
  switch (inputs.attention) {
    case 'flash':
      return flashAttention(nn, ...qkv, inputs.heads);
    case 'math':
      return mathAttention(nn, qkv, inputs.heads, inputs.keys);
    case 'eager':
      return eagerAttention(nn, qkv, inputs.heads, inputs.keys, inputs.mask);
  }
}
