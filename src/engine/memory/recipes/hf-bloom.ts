// One block of Hugging Face's BLOOM (transformers models/bloom/modeling_bloom.py BloomBlock,
// BloomAttention, BloomMLP): LayerNorms, an interleaved query_key_value, attention written out
// with ALiBi (alibi.baddbmm(q, k^T), + mask, fp32 softmax cast back, bmm with v) since BLOOM has
// no SDPA path, and BloomGelu's custom autograd Function that keeps only its input.
import { matmulNT } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { FP32 } from '../autograd/ops';
import { Tensor } from '../autograd/runtime';
import { LayerWeights } from '../model/rank-model';
import { eagerOnly } from './attention-kernel';
import { linear } from './hf-llama';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

interface BloomDropout {
  attention: number;
  hidden: number;
}

/** BloomBlock.forward: input_layernorm, attention (its dense and dropout_add with the input),
 * post_attention_layernorm, MLP (dense_h_to_4h, BloomGelu, dense_4h_to_h, dropout_add). */
function bloomBlock(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, p: BloomDropout) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const normed = nn.layerNorm(
      x,
      w.norms.get('input_layernorm')!,
      w.norms.get('input_layernorm.bias'),
    );
    const context = bloomAttention(nn, normed, inputs, w, p.attention);
    rt.drop(normed);
    const attended = dropoutAdd(nn, nn.linear(context, linear(w, 'o_proj')), x, p.hidden);
    rt.drop(context);
    const normed2 = nn.layerNorm(
      attended,
      w.norms.get('post_attention_layernorm')!,
      w.norms.get('post_attention_layernorm.bias'),
    );
    const up = nn.linear(normed2, linear(w, 'up_proj'));
    rt.drop(normed2);
    const activated = ops.unarySavingInput(up); // GeLUFunction.apply: ctx.save_for_backward(input)
    rt.drop(up);
    return dropoutAdd(nn, nn.linear(activated, linear(w, 'down_proj')), attended, p.hidden);
  });
}

/** dropout_add: residual + F.dropout(x, p). */
function dropoutAdd(nn: Nn, x: Tensor, residual: Tensor, p: number): Tensor {
  const dropped = nn.dropout(x, p);
  nn.rt.drop(x);
  const out = nn.ops.add(residual, dropped);
  nn.rt.drop(dropped);
  return out;
}

/** BloomAttention.forward: _reshape gives (b, heads, s, d) views of query_key_value, and
 * reshape(b * heads, s, d) copies each unless the batch is one sequence; baddbmm with ALiBi
 * keeps q and k, softmax(dtype=float32) converts first and keeps its output, the cast back is
 * kept by bmm with v; _merge_heads copies the context to (b, s, h). */
function bloomAttention(nn: Nn, x: Tensor, inputs: LayerInputs, w: LayerWeights, p: number) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const { heads, keys } = inputs;
    const qkv = nn.linear(x, linear(w, 'query_key_value'));
    const width = heads.heads * heads.headDim;
    const oneSequence = x.rows === keys;
    const [q, k, v] = [0, 1, 2].map(() => {
      const part = ops.slice(qkv, width);
      return oneSequence ? part : ops.unary(part);
    });
    rt.drop(qkv);
    const scores = matmulNT(nn, q, k, heads.heads * keys); // alibi.baddbmm(q, k^T)
    const masked = inputs.mask ? ops.add(scores, inputs.mask) : scores;
    const converted = ops.to(masked, FP32);
    const probabilities = ops.softmax(converted);
    rt.drop(scores, masked, converted);
    const cast = ops.to(probabilities, q.elementBytes);
    rt.drop(probabilities);
    const dropped = nn.dropout(cast, p);
    const context = matmulNT(nn, dropped, v, width);
    return ops.unary(context); // _merge_heads: permute and reshape to (b, s, h)
  });
}

/** BloomBlock's modules in __init__ order. */
function bloomWeights(context: WeightContext, layer: number): LayerWeights {
  const h = context.arch.hiddenSize;
  return new LayerWeightsBuilder(context, layer)
    .norm('input_layernorm', h)
    .module('query_key_value', ['q_proj', 'k_proj', 'v_proj'])
    .linears('o_proj')
    .norm('post_attention_layernorm', h)
    .linears('up_proj', 'down_proj')
    .build();
}

export function hfBloomRecipe(dropout: BloomDropout): LayerRecipe {
  return {
    source: 'transformers models/bloom/modeling_bloom.py (BloomBlock)',
    weights: bloomWeights,
    forward: (nn, x, weights, inputs) => bloomBlock(nn, x, weights, inputs, dropout),
    // BLOOM has no SDPA path: its own attention code runs whatever is asked, with a mask.
    attention: eagerOnly(
      "BLOOM's model code has no SDPA path: its ALiBi attention is written out and keeps every score matrix (fp32 softmax and its cast)",
    ),
    ends: { alibi: 'per-sequence', finalNorm: 'layer' },
  };
}
