// Mllama's text stack (transformers models/mllama/modeling_mllama.py): Llama self-attention layers
// with MllamaCrossAttentionDecoderLayer between them, whose attention reads the projected image
// states (q from the text, k and v from the images, RMSNorm on each head's q and k) and whose
// attention and MLP outputs are scaled by tanh gates. MllamaTextModel skips them when a batch
// has no images.
import { flashAttention } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { ModelArchitecture } from '../../vocabulary';
import { layerKind } from '../../model/layers';
import { LayerWeights } from '../model/rank-model';
import { gatedMlp, hfLlamaRecipe, linear, LLAMA } from './hf-llama';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

/** MllamaCrossAttentionDecoderLayer.forward: input_layernorm, cross-attention, residual +
 * tanh(gate) * out; post_attention_layernorm, MLP, residual + tanh(gate) * out. */
function crossLayer(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs): Tensor {
  const states = inputs.encoderStates!;
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const normed = nn.rmsNorm(x, w.norms.get('input_layernorm')!);
    const attended = crossAttention(nn, normed, states, w, inputs);
    rt.drop(normed);
    const gated = ops.unary(attended); // cross_attn_attn_gate.tanh() * hidden_states
    rt.drop(attended);
    const mid = ops.add(x, gated);
    rt.drop(gated);
    const normed2 = nn.rmsNorm(mid, w.norms.get('post_attention_layernorm')!);
    const mlpOut = gatedMlp(nn, normed2, w);
    rt.drop(normed2);
    const gated2 = ops.unary(mlpOut); // cross_attn_mlp_gate.tanh() * hidden_states
    rt.drop(mlpOut);
    return ops.add(mid, gated2);
  });
}

/** MllamaTextCrossAttention.forward: q_proj(text), k_proj and v_proj(image states), q_norm and
 * k_norm per head, SDPA (the cross-attention mask planned as absent), o_proj. */
function crossAttention(nn: Nn, x: Tensor, states: Tensor, w: LayerWeights, inputs: LayerInputs) {
  return nn.rt.scope(() => {
    const q = nn.rmsNorm(nn.linear(x, linear(w, 'cross_attn.q_proj')), w.norms.get('q_norm')!);
    const k = nn.rmsNorm(nn.linear(states, linear(w, 'cross_attn.k_proj')), w.norms.get('k_norm')!);
    const v = nn.linear(states, linear(w, 'cross_attn.v_proj'));
    const context = flashAttention(nn, q, k, v, inputs.heads);
    return nn.linear(context, linear(w, 'cross_attn.o_proj'));
  });
}

/** The cross-attention layer's modules: cross_attn (q, k, v, o, q_norm, k_norm), its gates,
 * the MLP and the two norms. */
function crossWeights(context: WeightContext, layer: number): LayerWeights {
  const { arch } = context;
  return new LayerWeightsBuilder(context, layer)
    .linears('cross_attn.q_proj', 'cross_attn.k_proj', 'cross_attn.v_proj', 'cross_attn.o_proj')
    .norm('q_norm', arch.headDim, false)
    .norm('k_norm', arch.headDim, false)
    .other('cross_attn_attn_gate', 1)
    .other('cross_attn_mlp_gate', 1)
    .linears('gate_proj', 'up_proj', 'down_proj')
    .norm('input_layernorm', arch.hiddenSize)
    .norm('post_attention_layernorm', arch.hiddenSize)
    .build();
}

export function hfMllamaRecipe(arch: ModelArchitecture): LayerRecipe {
  const text = hfLlamaRecipe(LLAMA);
  const isCross = (layer: number) => layerKind(arch, layer).mixer === 'cross-attention';
  return {
    source:
      'transformers models/mllama/modeling_mllama.py (MllamaSelfAttentionDecoderLayer, MllamaCrossAttentionDecoderLayer)',
    weights: (context, layer) =>
      isCross(layer) ? crossWeights(context, layer) : text.weights(context, layer),
    forward: (nn, x, weights, inputs) =>
      isCross(weights.index)
        ? crossLayer(nn, x, weights, inputs)
        : text.forward(nn, x, weights, inputs),
    // MllamaTextModel.forward: `continue` for a cross-attention layer without image states.
    skips: (layer, inputs) => isCross(layer) && !inputs.encoderStates,
    ends: { imageStates: 'cross-attention' },
  };
}
