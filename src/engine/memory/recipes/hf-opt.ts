// One decoder layer of Hugging Face's OPT (transformers models/opt/modeling_opt.py
// OPTDecoderLayer, OPTAttention): pre-LayerNorm, q_proj(x) * scaling as its own tensor, the
// attention kernel (eager's scaling 1.0 still multiplies), out_proj, dropout, residual; then
// final_layer_norm, fc1, ReLU, fc2, dropout, residual. OPT-350m runs each norm after its add.
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { LayerWeights } from '../model/rank-model';
import { attend } from './attention-kernel';
import { linear } from './hf-llama';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

/** OPTAttention.forward: q_proj(x) * self.scaling, k_proj, v_proj, the kernel, out_proj. */
function optAttention(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs): Tensor {
  return nn.rt.scope(() => {
    const projected = nn.linear(x, linear(w, 'q_proj'));
    const q = nn.ops.unary(projected); // * self.scaling: MulBackward0 keeps only the scalar
    nn.rt.drop(projected);
    const k = nn.linear(x, linear(w, 'k_proj'));
    const v = nn.linear(x, linear(w, 'v_proj'));
    const qkv = [q, k, v].map((t) => nn.matmulInput(t)) as [Tensor, Tensor, Tensor];
    const context = attend(nn, qkv, inputs);
    nn.rt.drop(...qkv, q, k, v);
    return nn.linear(context, linear(w, 'o_proj'));
  });
}

/** OPTDecoderLayer.forward with do_layer_norm_before (every OPT but 350m). */
function optLayer(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, p: number): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const normed = nn.layerNorm(
      x,
      w.norms.get('self_attn_layer_norm')!,
      w.norms.get('self_attn_layer_norm.bias'),
    );
    const attended = nn.dropoutReplacing(optAttention(nn, normed, w, inputs), p);
    rt.drop(normed);
    const mid = ops.add(x, attended); // residual + hidden_states
    rt.drop(attended);
    const normed2 = nn.layerNorm(
      mid,
      w.norms.get('final_layer_norm')!,
      w.norms.get('final_layer_norm.bias'),
    );
    const up = nn.linear(normed2, linear(w, 'up_proj'));
    rt.drop(normed2);
    const activated = ops.unarySavingOutput(up); // nn.ReLU: threshold_backward reads its result
    rt.drop(up);
    const down = nn.dropoutReplacing(nn.linear(activated, linear(w, 'down_proj')), p);
    rt.drop(activated);
    return ops.add(mid, down);
  });
}

/** OPTDecoderLayer.forward without do_layer_norm_before (OPT-350m): attention on the layer
 * input, dropout, the residual add, then self_attn_layer_norm; fc1, ReLU, fc2, dropout, the add,
 * then final_layer_norm. `residual` holds the first norm's output until the layer returns. */
function optPostNormLayer(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, p: number) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const norm = (t: Tensor, name: string) => {
      const out = nn.layerNorm(t, w.norms.get(name)!, w.norms.get(`${name}.bias`));
      rt.drop(t); // rebound: LayerNorm's backward keeps its input as it needs it
      return out;
    };
    const attended = nn.dropoutReplacing(optAttention(nn, x, w, inputs), p);
    const sum = ops.add(x, attended); // residual + hidden_states
    rt.drop(attended);
    const mid = norm(sum, 'self_attn_layer_norm');
    const up = nn.linear(mid, linear(w, 'up_proj'));
    const activated = ops.unarySavingOutput(up); // nn.ReLU: threshold_backward reads its result
    rt.drop(up);
    const down = nn.dropoutReplacing(nn.linear(activated, linear(w, 'down_proj')), p);
    rt.drop(activated);
    const out = ops.add(mid, down);
    rt.drop(down);
    return norm(out, 'final_layer_norm');
  });
}

/** OPTDecoderLayer's modules in __init__ order: self_attn (k_proj, v_proj, q_proj, out_proj),
 * self_attn_layer_norm, fc1, fc2, final_layer_norm. */
function optWeights(context: WeightContext, layer: number): LayerWeights {
  const h = context.arch.hiddenSize;
  return new LayerWeightsBuilder(context, layer)
    .linears('k_proj', 'v_proj', 'q_proj', 'o_proj')
    .norm('self_attn_layer_norm', h)
    .linears('up_proj', 'down_proj')
    .norm('final_layer_norm', h)
    .build();
}

/** `normAfterResidual`: OPT-350m's layers (do_layer_norm_before false). */
export function hfOptRecipe(residualDropout: number, normAfterResidual: boolean): LayerRecipe {
  const layer = normAfterResidual ? optPostNormLayer : optLayer;
  return {
    source: 'transformers models/opt/modeling_opt.py (OPTDecoderLayer)',
    weights: optWeights,
    forward: (nn, x, weights, inputs) => layer(nn, x, weights, inputs, residualDropout),
    ends: { finalNorm: 'layer' },
  };
}
