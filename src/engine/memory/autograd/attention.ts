// Attention as model code runs it: rotary embeddings, the fused SDPA kernels and eager
// attention, each with what it keeps for backward.
import { FP32 } from './ops';
import { Nn } from './nn';
import { Tensor } from './runtime';

export interface AttentionHeads {
  /** Query heads on this rank. */
  heads: number;
  /** Key/value heads on this rank. */
  kvHeads: number;
  headDim: number;
}

/** transformers' apply_rotary_pos_emb for one of q or k: x * cos + rotate_half(x) * sin, where
 * rotate_half concatenates -x2 and x1 (slices of x). cos and sin are shared and need no grad. */
export function rotary(nn: Nn, x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  return nn.rt.scope(() => {
    const { ops } = nn;
    const withCos = ops.mul(x, cos);
    const half = x.cols / 2;
    const first = ops.slice(x, half);
    const second = ops.slice(x, half);
    const negated = ops.unary(second);
    const rotated = ops.cat([negated, first]);
    nn.rt.drop(negated);
    const withSin = ops.mul(rotated, sin);
    nn.rt.drop(rotated);
    return ops.add(withCos, withSin);
  });
}

// Flash attention's backward workspace per head and token (aten/src/ATen/native/transformers/
// cuda/flash_attn/flash_api.cpp mha_bwd): the fp32 dq accumulator (4 bytes per head dimension)
// and softmax_d (4 bytes), and under grouped queries dk_expanded and dv_expanded in q's dtype,
// made for every query head and summed into dk and dv. 8 x 64 + 4 bytes per head and token on
// the H200 traces' grouped-query Llamas (bf16, head dim 64).
function flashBackwardBytes(heads: AttentionHeads, elementBytes: number): number {
  const grouped = heads.kvHeads < heads.heads ? 2 * elementBytes * heads.headDim : 0;
  return FP32 * heads.headDim + FP32 + grouped;
}

/** F.scaled_dot_product_attention on the flash (or memory-efficient) kernel: one output of q's
 * shape and an fp32 log-sum-exp per head and token, both saved with q, k and v; backward makes
 * dq, dk and dv and a workspace (aten _scaled_dot_product_flash_attention_backward). */
export function flashAttention(nn: Nn, q: Tensor, k: Tensor, v: Tensor, heads: AttentionHeads) {
  const { ops, rt } = nn;
  const out = ops.empty(q, q.requiresGrad || k.requiresGrad || v.requiresGrad);
  const logSumExp = rt.tensor(q.rows, heads.heads, FP32, false);
  rt.record([q, k, v], [out], [q, k, v, out, logSumExp], () => {
    ops.give(q, () => ops.gradOf(q));
    ops.give(k, () => ops.gradOf(k));
    ops.give(v, () => ops.gradOf(v));
    ops.scratch(q.rows * heads.heads * flashBackwardBytes(heads, q.elementBytes));
  });
  rt.drop(logSumExp);
  return out;
}

/** transformers' eager_attention_forward: K/V repeated to every head, q @ k^T scaled and
 * masked, softmax in fp32 (softmax(dtype=float32) converts its input first: SoftMax.cpp) cast
 * back to q's dtype (both saved), @ v, and the (b, s, h, d) copy for o_proj. `keys` is the
 * sequence length one query attends over. */
export function eagerAttention(
  nn: Nn,
  [q, k, v]: [Tensor, Tensor, Tensor],
  heads: AttentionHeads,
  keys: number,
  mask?: Tensor,
) {
  return nn.rt.scope(() => {
    const { ops } = nn;
    const repeatedKeys = repeatKv(nn, k, heads);
    const values = repeatKv(nn, v, heads);
    const scores = matmulNT(nn, q, repeatedKeys, heads.heads * keys);
    let logits = ops.unary(scores); // * scaling
    nn.rt.drop(scores);
    if (mask) {
      const masked = ops.add(logits, mask);
      nn.rt.drop(logits);
      logits = masked;
    }
    const converted = ops.to(logits, FP32);
    nn.rt.drop(logits);
    const probabilities = ops.unarySavingOutput(converted);
    nn.rt.drop(converted);
    const cast = ops.to(probabilities, q.elementBytes);
    nn.rt.drop(probabilities);
    const context = matmulNT(nn, cast, values, q.cols);
    return ops.unary(context); // transpose(1, 2).contiguous()
  });
}

/** repeat_kv: expand and reshape, a copy whenever heads share a K/V head. */
function repeatKv(nn: Nn, x: Tensor, heads: AttentionHeads): Tensor {
  if (heads.kvHeads === heads.heads) return nn.ops.alias(x);
  return nn.ops.unary(x, heads.heads * heads.headDim);
}

/** A batched matmul of a and b giving `cols` columns per row: saves both inputs. */
function matmulNT(nn: Nn, a: Tensor, b: Tensor, cols: number): Tensor {
  const { ops, rt } = nn;
  const out = ops.empty(a, a.requiresGrad || b.requiresGrad, cols);
  rt.record([a, b], [out], [a.requiresGrad ? b : undefined, b.requiresGrad ? a : undefined], () => {
    ops.give(a, () => ops.gradOf(a));
    ops.give(b, () => ops.gradOf(b));
  });
  return out;
}

/** The math fallback of F.scaled_dot_product_attention (aten _scaled_dot_product_attention_math):
 * K/V repeated for grouped queries, q and k scaled, the scores and their fp32-or-input-dtype
 * softmax materialised (softmax output saved), then @ v; the (b, h, s, d) result is copied to
 * (b, s, h, d) by the model's transpose().contiguous(). A causal call builds its mask too. */
export function mathAttention(
  nn: Nn,
  [q, k, v]: [Tensor, Tensor, Tensor],
  heads: AttentionHeads,
  keys: number,
) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const repeatedKeys = repeatKv(nn, k, heads);
    const values = repeatKv(nn, v, heads);
    const scaledQ = ops.unary(q); // query * sqrt(scale)
    const scaledK = ops.unary(repeatedKeys); // key.transpose(-2, -1) * sqrt(scale)
    const mask = rt.tensor(keys, keys, q.elementBytes, false); // causal: ones(L, S).tril(), as a float mask
    const scores = matmulNT(nn, scaledQ, scaledK, heads.heads * keys);
    rt.drop(scaledQ, scaledK, mask);
    const probabilities = ops.unarySavingOutput(scores); // _safe_softmax
    rt.drop(scores);
    const context = matmulNT(nn, probabilities, values, q.cols);
    rt.drop(probabilities);
    return ops.unary(context); // transpose(1, 2).contiguous()
  });
}
