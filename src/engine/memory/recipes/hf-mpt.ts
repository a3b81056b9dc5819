// One block of Hugging Face's MPT (transformers models/mpt/modeling_mpt.py MptBlock,
// MptAttention, MptMLP): bias-free LayerNorms and linears, Wqkv chunked into views, attention
// written out with ALiBi (MPT has no other path): the scaled scores plus the fp32 ALiBi tensor,
// which the sum is promoted to, masked_fill out of place, an fp32 softmax cast back, exact GELU;
// every dropout is attn_config.attn_pdrop.
import { matmulNT } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { FP32 } from '../autograd/ops';
import { Tensor } from '../autograd/runtime';
import { LayerWeights } from '../model/rank-model';
import { eagerOnly } from './attention-kernel';
import { linear } from './hf-llama';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

/** MptBlock.forward: norm_1, attention, resid_attn_dropout + residual; norm_2, MptMLP (up_proj,
 * GELU, down_proj, dropout, + residual). */
function mptBlock(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, p: number) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const normed = nn.layerNorm(x, w.norms.get('norm_1')!);
    const attended = nn.dropoutReplacing(mptAttention(nn, normed, w, inputs, p), p);
    rt.drop(normed);
    const mid = ops.add(attended, x);
    rt.drop(attended);
    const normed2 = nn.layerNorm(mid, w.norms.get('norm_2')!);
    const up = nn.linear(normed2, linear(w, 'up_proj'));
    rt.drop(normed2);
    const activated = ops.unarySavingInput(up); // nn.GELU(approximate='none') keeps its input
    rt.drop(up);
    const down = nn.dropoutReplacing(nn.linear(activated, linear(w, 'down_proj')), p);
    rt.drop(activated);
    return ops.add(down, mid);
  });
}

/** MptAttention.forward: Wqkv(x).chunk(3) (views the scores' and the context's matmuls keep,
 * so the whole Wqkv output stays), q @ k^T * softmax_scale, + position_bias (fp32: the sum is
 * fp32), masked_fill with the bool causal mask, softmax(.float()) kept, .to(value.dtype) kept
 * by the matmul with v, the context's contiguous permute, out_proj. */
function mptAttention(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, p: number) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const qkv = nn.linear(x, linear(w, 'Wqkv'));
    const [q, k, v] = ops.split(qkv, 3);
    rt.drop(qkv);
    const scores = matmulNT(nn, q, k, inputs.heads.heads * inputs.keys);
    const scaled = ops.unary(scores); // * self.softmax_scale
    rt.drop(scores);
    const biased = ops.unary(scaled, scaled.cols, FP32); // + position_bias, an fp32 tensor
    rt.drop(scaled);
    const masked = inputs.mask ? ops.maskedFill(biased, inputs.mask) : biased;
    if (masked !== biased) rt.drop(biased);
    const probabilities = ops.softmax(masked); // attention_scores.float() is the tensor itself
    rt.drop(masked);
    const cast = ops.to(probabilities, v.elementBytes);
    rt.drop(probabilities);
    const weights = nn.dropout(cast, p);
    rt.drop(cast);
    const context = matmulNT(nn, weights, v, q.cols);
    rt.drop(weights, q, k, v);
    const merged = ops.unary(context); // permute(0, 2, 1, 3).contiguous()
    rt.drop(context);
    return nn.linear(merged, linear(w, 'o_proj'));
  });
}

/** MptBlock's modules in __init__ order: norm_1 (weight only), attn (Wqkv, out_proj), norm_2,
 * ffn (up_proj, down_proj). */
function mptWeights(context: WeightContext, layer: number): LayerWeights {
  const h = context.arch.hiddenSize;
  return new LayerWeightsBuilder(context, layer)
    .norm('norm_1', h)
    .module('Wqkv', ['q_proj', 'k_proj', 'v_proj'])
    .linears('o_proj')
    .norm('norm_2', h)
    .linears('up_proj', 'down_proj')
    .build();
}

export function hfMptRecipe(dropout: number): LayerRecipe {
  return {
    source: 'transformers models/mpt/modeling_mpt.py (MptBlock)',
    weights: mptWeights,
    forward: (nn, x, weights, inputs) => mptBlock(nn, x, weights, inputs, dropout),
    // MptAttention is the model's one attention, with the bool mask MptModel makes
    // (causal_mask.bool()).
    attention: eagerOnly(
      "MPT's model code has one attention, written out with ALiBi: it runs whatever kernel was asked and keeps fp32 scores",
      false,
    ),
    // ALiBi, no rotary tables; norm_f has no bias either.
    ends: { alibi: 'max-length', finalNorm: 'layer' },
  };
}
