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

// The backward's workspace block is 256 bytes larger than its parts in every allocator trace
// (data/calibration/allocator-traces: trace-10's 8,454,400 for 8,454,144, trace-30's
// 135,266,560 for 135,266,304, at every sequence and width recorded).
const FLASH_WORKSPACE_EXTRA = 256;

/** F.scaled_dot_product_attention on the flash (or memory-efficient) kernel: one output of q's
 * shape and an fp32 log-sum-exp per head and token, both saved with q, k and v; backward makes
 * dq, dk and dv and a workspace (aten _scaled_dot_product_flash_attention_backward). */
export function flashAttention(
  nn: Nn,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  heads: AttentionHeads,
  outCols = q.cols, // every query head's value width (DeepSeek's MLA: narrower than q's)
) {
  const { ops, rt } = nn;
  const [out, logSumExp] = rt.opOutputs('sdpa', () => [
    ops.empty(q, q.requiresGrad || k.requiresGrad || v.requiresGrad, outCols),
    rt.tensor(q.rows, heads.heads, FP32, false),
  ]);
  rt.record([q, k, v], [out], [q, k, v, out, logSumExp], () => {
    ops.give(q, () => ops.gradOf(q));
    ops.give(k, () => ops.gradOf(k));
    ops.give(v, () => ops.gradOf(v));
    ops.scratch(
      q.rows * heads.heads * flashBackwardBytes(heads, q.elementBytes) + FLASH_WORKSPACE_EXTRA,
    );
  });
  rt.drop(logSumExp);
  return out;
}

/** F.scaled_dot_product_attention on the memory-efficient kernel with a mask: the boolean
 * mask becomes an additive bias of q's dtype (attention.cpp convert_boolean_attn_mask:
 * at::where(mask, 0, -inf)), expanded over the heads as a view (preprocess_mask), and saved
 * with q, k, v, the output and an fp32 log-sum-exp padded to 32 queries
 * (_scaled_dot_product_efficient_attention in derivatives.yaml; attention.cu kAlignLSE). */
export function efficientAttention(
  nn: Nn,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  heads: AttentionHeads,
  mask: Tensor,
  queries = mask.cols, // each sequence's: as many as its keys, unless (Idefics2's latents) fewer
) {
  const { ops, rt } = nn;
  // A float mask in q's dtype is the bias as it is; a boolean one is converted first, and a
  // float one of another dtype cast to q's (autocast casts SDPA's floating arguments to its
  // lower precision: an fp32 mask becomes a 16-bit copy at each call).
  const bias =
    mask.elementBytes !== q.elementBytes
      ? rt.tensor(mask.rows, mask.cols, q.elementBytes, false)
      : mask;
  const sequences = q.rows / queries;
  const alignedQueries = Math.ceil(queries / LSE_ALIGNMENT) * LSE_ALIGNMENT;
  const [out, logSumExp] = rt.opOutputs('sdpa', () => [
    ops.empty(q, q.requiresGrad || k.requiresGrad || v.requiresGrad),
    rt.tensor(sequences * alignedQueries, heads.heads, FP32, false),
  ]);
  rt.record([q, k, v], [out], [q, k, v, bias, out, logSumExp], () => {
    ops.give(q, () => ops.gradOf(q));
    ops.give(k, () => ops.gradOf(k));
    ops.give(v, () => ops.gradOf(v));
    ops.scratch(q.rows * heads.heads * flashBackwardBytes(heads, q.elementBytes));
  });
  if (bias !== mask) rt.drop(bias);
  rt.drop(logSumExp);
  return out;
}

// attention.cu: the memory-efficient kernel pads its log-sum-exp to 32 queries (kAlignLSE).
const LSE_ALIGNMENT = 32;

/** transformers' eager_attention_forward: K/V repeated to every head, q @ k^T scaled, soft-capped
 * where the model caps its scores (Gemma-2: / cap, tanh, * cap, tanh keeping its output) and
 * masked, softmax in fp32 (softmax(dtype=float32) converts its input first: SoftMax.cpp) cast
 * back to q's dtype (both saved), or in the scores' own dtype (`softmaxFp32` false: BART's
 * eager_attention_forward), @ v, and the (b, s, h, d) copy for o_proj. `keys` is the
 * sequence length one query attends over. */
export function eagerAttention(
  nn: Nn,
  [q, k, v]: [Tensor, Tensor, Tensor],
  heads: AttentionHeads,
  keys: number,
  mask?: Tensor,
  softcap = false,
  dropout = false,
  softmaxFp32 = true,
) {
  return nn.rt.scope(() => {
    const { ops } = nn;
    const repeatedKeys = repeatKv(nn, k, heads);
    const values = repeatKv(nn, v, heads);
    const scores = matmulNT(nn, q, repeatedKeys, heads.heads * keys);
    let logits = ops.unary(scores); // * scaling
    nn.rt.drop(scores);
    if (softcap) {
      const capped = softcapped(nn, logits);
      nn.rt.drop(logits);
      logits = capped;
    }
    if (mask) {
      const masked = ops.add(logits, mask);
      nn.rt.drop(logits);
      logits = masked;
    }
    const cast = softmaxFp32 ? fp32Softmax(nn, logits, q.elementBytes) : ops.softmax(logits);
    if (!softmaxFp32) nn.rt.drop(logits); // BART's softmax in the scores' dtype keeps its output
    const weights = dropout ? dropped(nn, cast) : cast;
    const context = matmulNT(nn, weights, values, q.cols);
    return ops.unary(context); // transpose(1, 2).contiguous()
  });
}

/** softmax(scores, dtype=torch.float32).to(query.dtype): the fp32 copy (the scores dropped
 * once made), its softmax, the cast back. */
function fp32Softmax(nn: Nn, logits: Tensor, elementBytes: number): Tensor {
  const converted = nn.ops.to(logits, FP32);
  nn.rt.drop(logits);
  const probabilities = nn.ops.softmax(converted);
  nn.rt.drop(converted);
  const cast = nn.ops.to(probabilities, elementBytes);
  nn.rt.drop(probabilities);
  return cast;
}

/** gpt-oss's eager_attention_forward (models/gpt_oss/modeling_gpt_oss.py): K/V repeated, q k^T
 * scaled and masked, a learned sink logit per head concatenated as one more key, the row max
 * subtracted, softmax in the logits' own dtype (kept), the sink column dropped by a view (which
 * keeps the whole), @ v, transposed contiguous. */
export function sinkAttention(
  nn: Nn,
  [q, k, v]: [Tensor, Tensor, Tensor],
  heads: AttentionHeads,
  keys: number,
  mask?: Tensor,
) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const repeatedKeys = repeatKv(nn, k, heads);
    const values = repeatKv(nn, v, heads);
    const scores = matmulNT(nn, q, repeatedKeys, heads.heads * keys);
    const scaled = ops.unary(scores); // * scaling
    rt.drop(scores);
    const masked = mask ? ops.add(scaled, mask) : scaled;
    const combined = ops.unary(masked, heads.heads * (keys + 1)); // torch.cat([attn_weights, sinks])
    rt.drop(scaled, masked);
    const shifted = ops.unary(combined); // - combined_logits.max(dim=-1).values
    rt.drop(combined);
    const probabilities = ops.softmax(shifted); // dtype=combined_logits.dtype
    rt.drop(shifted);
    const withoutSink = ops.slice(probabilities, heads.heads * keys); // probs[..., :-1]
    const context = matmulNT(nn, withoutSink, values, q.cols);
    return ops.unary(context); // transpose(1, 2).contiguous()
  });
}

/** cap * tanh(x / cap): the division, tanh (which keeps its output) and the product. */
export function softcapped(nn: Nn, x: Tensor): Tensor {
  const { ops, rt } = nn;
  const divided = ops.unary(x);
  const tanh = ops.unarySavingOutput(divided);
  rt.drop(divided);
  const capped = ops.unary(tanh);
  rt.drop(tanh);
  return capped;
}

/** repeat_kv: expand and reshape, a copy whenever heads share a K/V head. */
export function repeatKv(nn: Nn, x: Tensor, heads: AttentionHeads): Tensor {
  if (heads.kvHeads === heads.heads) return nn.ops.alias(x);
  return nn.ops.unary(x, heads.heads * heads.headDim);
}

/** A batched matmul (torch.matmul, bmm) of a and b giving `cols` columns per row: saves each
 * input for the other's gradient. */
export function matmulNT(nn: Nn, a: Tensor, b: Tensor, cols: number): Tensor {
  const { ops, rt } = nn;
  const out = ops.empty(a, a.requiresGrad || b.requiresGrad, cols);
  rt.record([a, b], [out], [a.requiresGrad ? b : undefined, b.requiresGrad ? a : undefined], () => {
    ops.give(a, () => ops.gradOf(a));
    ops.give(b, () => ops.gradOf(b));
  });
  return out;
}

/** Dropout on the attention probabilities in training (eager_attention_forward's
 * nn.functional.dropout, SDPA math's at::dropout): native_dropout keeps a one-byte mask for
 * backward and returns a new tensor, which the matmul with v saves in place of its input. */
function dropped(nn: Nn, probabilities: Tensor): Tensor {
  const out = nn.ops.dropout(probabilities);
  nn.rt.drop(probabilities);
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
  dropout = false,
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
    const probabilities = ops.softmax(scores); // _safe_softmax
    rt.drop(scores);
    // attention.cpp: attn = at::dropout(attn, dropout_p, true) when dropout_p > 0.
    const weights = dropout ? dropped(nn, probabilities) : probabilities;
    const context = matmulNT(nn, weights, values, q.cols);
    rt.drop(probabilities);
    return ops.unary(context); // transpose(1, 2).contiguous()
  });
}
