// One TransformerLayer of Megatron-core with Transformer Engine's spec (megatron/core/
// transformer/transformer_layer.py, attention.py SelfAttention, mlp.py MLP;
// megatron/core/extensions/transformer_engine.py TELayerNormColumnParallelLinear,
// TEDotProductAttention, TERowParallelLinear): each norm fused into the linear after it (keeping
// the norm's input, its output and the per-row rsigma), one fused QKV linear whose q, k and v are
// views, TE's fused RoPE (nothing kept), TE's fused attention taking grouped K/V as they are,
// SwiGLU as one autograd Function keeping its input (fusions/fused_bias_swiglu.py), and
// bias-dropout-add keeping nothing at dropout 0. The fp32 main gradients and the distributed
// optimizer are the sharding model's.
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { ModelArchitecture } from '../../vocabulary';
import { LayerWeights } from '../model/rank-model';
import {
  attend,
  AttentionPlan,
  AttentionRequest,
  LayerAttention,
  planByKind,
  sdpaKernel,
} from './attention-kernel';
import { linear } from './hf-llama';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

/** A norm fused into the following linear (TELayerNormLinear): the normalisation kernel keeps
 * its input and rsigma, the GEMM keeps the norm's output. */
function normLinear(nn: Nn, x: Tensor, w: LayerWeights, norm: string, name: string): Tensor {
  return nn.rt.scope(() => {
    const weight = w.norms.get(norm)!;
    const bias = w.norms.get(`${norm}.bias`); // LayerNorm; RMSNorm has none
    const normed = bias ? nn.layerNorm(x, weight, bias) : nn.fusedRmsNorm(x, weight);
    return nn.linear(normed, linear(w, name));
  });
}

/** TransformerLayer.forward: x + attention(x); + mlp. */
function megatronLayer(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const attended = selfAttention(nn, x, w, inputs);
    const mid = ops.add(attended, x); // bias_dropout_add at hidden_dropout 0
    rt.drop(attended);
    const fc1 = normLinear(nn, mid, w, 'pre_mlp_layernorm', 'linear_fc1');
    const activated = swiglu(nn, fc1);
    rt.drop(fc1);
    const out = nn.linear(activated, linear(w, 'down_proj'));
    rt.drop(activated);
    return ops.add(out, mid);
  });
}

/** SelfAttention.forward: linear_qkv (with the input norm), split into views, fused RoPE on q
 * and k, TEDotProductAttention, linear_proj. */
function selfAttention(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const { heads } = inputs;
    const qkv = normLinear(nn, x, w, 'input_layernorm', 'linear_qkv');
    const kvCols = heads.kvHeads * heads.headDim;
    const [q, k, v] = [heads.heads * heads.headDim, kvCols, kvCols].map((c) => ops.slice(qkv, c));
    rt.drop(qkv);
    const [qr, kr] = [q, k].map((t) => ops.unary(t)); // fused_apply_rotary_pos_emb: freqs only
    rt.drop(q, k);
    const context = attend(nn, [qr, kr, v], inputs);
    return nn.linear(context, linear(w, 'o_proj'));
  });
}

/** SwiGLUFunction (bias_swiglu_impl): one kernel, its input (gate and up side by side) kept. */
function swiglu(nn: Nn, x: Tensor): Tensor {
  const { ops, rt } = nn;
  const out = ops.empty(x, x.requiresGrad, x.cols / 2);
  rt.record([x], [out], [x], () => ops.give(x, () => ops.gradOf(x)));
  return out;
}

/** The layer's modules: self_attention (linear_qkv with its layer_norm_weight, linear_proj),
 * mlp (linear_fc1 with its layer_norm_weight, linear_fc2). */
function megatronWeights(context: WeightContext, layer: number): LayerWeights {
  const h = context.arch.hiddenSize;
  return new LayerWeightsBuilder(context, layer)
    .norm('input_layernorm', h)
    .fused('linear_qkv', ['q_proj', 'k_proj', 'v_proj'])
    .linears('o_proj')
    .norm('pre_mlp_layernorm', h)
    .fused('linear_fc1', ['gate_proj', 'up_proj'])
    .linears('down_proj')
    .build();
}

/** TEDotProductAttention: TE's fused (flash / cuDNN) attention with grouped K/V as they are. */
function teAttention(request: AttentionRequest): AttentionPlan {
  const notes = new Set<string>();
  if (request.asked === 'eager') notes.add("Megatron's TE layers always run TE's fused attention");
  const kernel = sdpaKernel(request.computeBytes, request.arch.headDim, false);
  if (kernel.note) notes.add(kernel.note);
  const choice: LayerAttention = { kernel: kernel.kernel };
  return planByKind(request.arch, () => choice, notes);
}

export function megatronRecipe(arch: ModelArchitecture): LayerRecipe {
  return {
    source: 'megatron/core/transformer/transformer_layer.py (TransformerLayer, TE spec)',
    weights: megatronWeights,
    forward: (nn, x, weights, inputs) => megatronLayer(nn, x, weights, inputs),
    attention: teAttention,
    ends: {
      finalNorm: arch.norm === 'rmsnorm' ? 'fused' : 'layer',
      rotaryBuffer: true, // RotaryEmbedding's freqs: one buffer for the model
      // GPTModel.forward: decoder_input = self.embedding(...) lives on through the output layer
      // and compute_language_model_loss, which the same forward runs.
      embeddingLocal: 'decoder-input',
      fusedLoss: 'megatron',
    },
  };
}
