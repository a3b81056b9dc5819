// One block of Hugging Face's GPT-2 (transformers models/gpt2/modeling_gpt2.py GPT2Block,
// GPT2Attention, GPT2MLP): LayerNorms, a fused c_attn split into q, k and v, dropout after
// attention and the MLP, and NewGELUActivation written out in Python (gelu_new).
import { matmulNT } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { LayerWeights, LinearParams } from '../model/rank-model';
import { attend } from './attention-kernel';
import { linear } from './hf-llama';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

/** GPT2Block.forward: ln_1, attention, residual; ln_2, MLP, residual. */
function gpt2Block(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, dropout: number) {
  return nn.rt.scope(() => {
    const normed = nn.layerNorm(x, w.norms.get('ln_1')!, w.norms.get('ln_1.bias'));
    const attended = gpt2Attention(nn, normed, w, inputs, dropout);
    nn.rt.drop(normed);
    const mid = nn.ops.add(attended, x);
    nn.rt.drop(attended);
    const normed2 = nn.layerNorm(mid, w.norms.get('ln_2')!, w.norms.get('ln_2.bias'));
    const mlp = gpt2Mlp(nn, normed2, w, dropout);
    nn.rt.drop(normed2);
    return nn.ops.add(mid, mlp);
  });
}

/** GPT2Attention.forward: c_attn(x).split(3), attention, c_proj, resid_dropout. */
function gpt2Attention(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, p: number) {
  return nn.rt.scope(() => {
    const qkv = nn.linear(x, linear(w, 'c_attn'));
    const parts = nn.ops.split(qkv, 3);
    nn.rt.drop(qkv);
    const [q, k, v] = parts.map((t) => nn.matmulInput(t)) as [Tensor, Tensor, Tensor];
    const context =
      inputs.attention === 'eager'
        ? gpt2EagerAttention(nn, [q, k, v], inputs, p)
        : attend(nn, [q, k, v], inputs);
    nn.rt.drop(q, k, v, ...parts);
    const projected = nn.linear(context, linear(w, 'attn.c_proj'));
    nn.rt.drop(context);
    return nn.dropoutReplacing(projected, p);
  });
}

/** modeling_gpt2.py eager_attention_forward: q @ k^T, then the scores as eagerScores runs them
 * (/ sqrt(d), torch.where with the causal buffer). */
function gpt2EagerAttention(nn: Nn, qkv: [Tensor, Tensor, Tensor], inputs: LayerInputs, p: number) {
  return nn.rt.scope(() => {
    const [q, k, v] = qkv;
    const scores = matmulNT(nn, q, k, inputs.heads.heads * inputs.keys);
    return eagerScores(nn, scores, v, q.cols, p);
  });
}

/** What GPT-2's and GPT-J's eager attention do with their scores (`steps`: 1 where the model
 * code does one of the two in place, CodeGen's mask): scaled, masked, a softmax in
 * the scores' dtype (fp32 under autocast) keeping its output, cast to v's dtype, attn_dropout,
 * @ v (keeping the probabilities), and the heads merged as (b, s, h) with a contiguous copy for
 * the output projection. */
export function eagerScores(
  nn: Nn,
  scores: Tensor,
  v: Tensor,
  outCols: number,
  p: number,
  steps: 1 | 2 = 2,
): Tensor {
  const { ops, rt } = nn;
  const scaled = steps === 2 ? ops.unary(scores) : scores; // scaled by 1 / sqrt(head_dim)
  if (scaled !== scores) rt.drop(scores);
  const masked = ops.unary(scaled); // the causal mask applied
  rt.drop(scaled);
  const input = nn.fp32Input(masked);
  const probabilities = ops.softmax(input);
  rt.drop(masked, input);
  const cast = ops.to(probabilities, v.elementBytes);
  rt.drop(probabilities);
  const weights = nn.dropout(cast, p);
  rt.drop(cast);
  const context = matmulNT(nn, weights, v, outCols);
  rt.drop(weights);
  return ops.unary(context); // permute(0, 2, 1, 3).contiguous()
}

/** GPT2MLP: c_fc, act, c_proj, dropout. */
function gpt2Mlp(nn: Nn, x: Tensor, w: LayerWeights, p: number): Tensor {
  return geluNewMlp(nn, x, linear(w, 'c_fc'), linear(w, 'mlp.c_proj'), p);
}

/** GPT2MLP's and GPTNeoMLP's forward: up, gelu_new written out, down, dropout. */
export function geluNewMlp(nn: Nn, x: Tensor, up: LinearParams, down: LinearParams, p: number) {
  return nn.rt.scope(() => {
    const upOut = nn.linear(x, up);
    const activated = geluNew(nn, upOut);
    nn.rt.drop(upOut);
    const downOut = nn.linear(activated, down);
    nn.rt.drop(activated);
    return nn.dropoutReplacing(downOut, p);
  });
}

/** NewGELUActivation (activations.py): 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 *
 * pow(x, 3)))), each op its own tensor. Python computes 0.5 * x first; autocast runs pow in
 * fp32, so the chain after it is fp32 by promotion. */
export function geluNew(nn: Nn, x: Tensor): Tensor {
  return nn.rt.scope(() => {
    const { ops } = nn;
    const half = ops.unary(x); // 0.5 * x
    const x32 = nn.fp32Input(x);
    const cubed = ops.unarySavingInput(x32); // pow(x, 3)
    const scaledCube = ops.unary(cubed); // 0.044715 * ...
    nn.rt.drop(cubed);
    const inner = ops.add(x, scaledCube);
    nn.rt.drop(scaledCube);
    const scaled = ops.unary(inner); // sqrt(2 / pi) * ...
    nn.rt.drop(inner);
    const tanh = ops.unarySavingOutput(scaled);
    nn.rt.drop(scaled);
    const onePlus = ops.unary(tanh); // 1.0 + tanh
    nn.rt.drop(tanh);
    return ops.mul(half, onePlus);
  });
}

/** GPT2Block's modules in __init__ order: ln_1, attn (its causal-mask buffer, c_attn,
 * c_proj), ln_2, mlp (c_fc, c_proj); Conv1D registers weight, then bias. */
function gpt2Weights(context: WeightContext, layer: number): LayerWeights {
  const { arch } = context;
  const h = arch.hiddenSize;
  const positions = arch.maxPositionEmbeddings;
  return new LayerWeightsBuilder(context, layer)
    .norm('ln_1', h)
    .buffer('attn.bias', positions * positions, 1) // torch.tril(torch.ones(n, n, dtype=bool))
    .module('c_attn', ['q_proj', 'k_proj', 'v_proj'])
    .module('attn.c_proj', ['o_proj'])
    .norm('ln_2', h)
    .module('c_fc', ['up_proj'])
    .module('mlp.c_proj', ['down_proj'])
    .build();
}

export function hfGpt2Recipe(residualDropout: number): LayerRecipe {
  return {
    source: 'transformers models/gpt2/modeling_gpt2.py (GPT2Block)',
    weights: gpt2Weights,
    forward: (nn, x, weights, inputs) => gpt2Block(nn, x, weights, inputs, residualDropout),
    // GPT2Model.forward: position_ids = cache_position.unsqueeze(0), so wpe's lookup is
    // (1, s, h), broadcast over the batch in the add.
    ends: { positionsPerSequence: true },
  };
}
