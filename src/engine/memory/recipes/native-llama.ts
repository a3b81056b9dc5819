// A Llama-style decoder layer as code written against PyTorch's own kernels runs it: torchtune
// (torchtune/modules/transformer.py TransformerSelfAttentionLayer, attention.py
// MultiHeadAttention, rms_norm.py RMSNorm, feed_forward.py FeedForward, position_embeddings.py
// RotaryPositionalEmbeddings) and torchtitan (torchtitan/models/llama3/model/model.py
// TransformerBlock, Attention, FeedForward, nn.RMSNorm). Both expand grouped K/V into copies
// before SDPA, which they call with is_causal; torch.compile (fusedKernels) fuses norms,
// rotary and SwiGLU into kernels that keep only their inputs.
import { repeatKv } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { FP32 } from '../autograd/ops';
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

export type NativeCode = 'torchtune' | 'torchtitan';

interface NativeOptions {
  code: NativeCode;
  /** torch.compile over each layer (torchtune's compile, torchtitan's compile.enable). */
  compiled: boolean;
}

/** torchtune's RMSNorm (x.float() * rsqrt(mean(x^2) + eps)).type_as(x) * scale: Llama's eager
 * ops; torchtitan's nn.RMSNorm is F.rms_norm's fused kernel, as is any norm under compile. */
function norm(nn: Nn, x: Tensor, w: LayerWeights, name: string, o: NativeOptions): Tensor {
  const weight = w.norms.get(name)!;
  if (o.code === 'torchtitan' || o.compiled) return nn.fusedRmsNorm(x, weight);
  return nn.rmsNorm(x, weight);
}

/** TransformerSelfAttentionLayer / TransformerBlock: h = x + attn(norm(x)); h + mlp(norm(h)). */
function nativeLayer(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, o: NativeOptions) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const normed = norm(nn, x, w, 'input_layernorm', o);
    const attended = attention(nn, normed, w, inputs, o);
    rt.drop(normed);
    const h = ops.add(attended, x);
    rt.drop(attended);
    const normed2 = norm(nn, h, w, 'post_attention_layernorm', o);
    const mlpOut = feedForward(nn, normed2, w, o);
    rt.drop(normed2);
    return ops.add(h, mlpOut);
  });
}

/** MultiHeadAttention.forward (torchtune: q_proj and its RoPE first, then k_proj, v_proj, k's
 * RoPE) / Attention.forward (torchtitan: wq, wk, wv, apply_rotary_emb); K and V expanded to
 * every query head by expand + reshape (a copy for grouped queries); SDPA; output_proj. */
function attention(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, o: NativeOptions) {
  return nn.rt.scope(() => {
    const { rt } = nn;
    const q0 = nn.linear(x, linear(w, 'q_proj'));
    const q = rope(nn, q0, o);
    rt.drop(q0);
    const k0 = nn.linear(x, linear(w, 'k_proj'));
    const v0 = nn.linear(x, linear(w, 'v_proj'));
    const k = rope(nn, k0, o);
    rt.drop(k0);
    const keys = repeatKv(nn, k, inputs.heads);
    const values = repeatKv(nn, v0, inputs.heads);
    const context = attend(nn, [q, keys, values], inputs);
    return nn.linear(context, linear(w, 'o_proj'));
  });
}

/** Rotary embedding as each code writes it. torchtune (RotaryPositionalEmbeddings.forward):
 * x.float(), four half-width fp32 products, their difference and sum, torch.stack, .type_as(x);
 * torchtitan (apply_rotary_emb): x.float() viewed complex, one complex product with freqs_cis,
 * .type_as(x). Both multiply by a buffer that needs no gradient, so nothing is kept; compiled,
 * the whole rotation is one kernel. */
function rope(nn: Nn, x: Tensor, o: NativeOptions): Tensor {
  const { ops } = nn;
  if (o.compiled) return ops.unary(x);
  return nn.rt.scope(() => {
    const x32 = ops.to(x, FP32);
    const product = o.code === 'torchtitan' ? ops.unary(x32) : torchtuneRotation(nn, x32);
    return ops.to(product, x.elementBytes);
  });
}

/** x[..., 0] * cos - x[..., 1] * sin and x[..., 1] * cos + x[..., 0] * sin, then stacked. */
function torchtuneRotation(nn: Nn, x32: Tensor): Tensor {
  const { ops, rt } = nn;
  const half = x32.cols / 2;
  const products = [0, 1, 2, 3].map(() => ops.unary(x32, half));
  const first = ops.add(products[0], products[1]);
  const second = ops.add(products[2], products[3]);
  rt.drop(...products);
  return ops.cat([first, second]); // torch.stack(..., -1).flatten(3)
}

/** FeedForward: w2(F.silu(w1(x)) * w3(x)) (torchtune names them gate, up, down); compiled, the
 * SiLU and the product are one kernel keeping w1(x) and w3(x). */
function feedForward(nn: Nn, x: Tensor, w: LayerWeights, o: NativeOptions): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const gate = nn.linear(x, linear(w, 'gate_proj'));
    let product: Tensor;
    if (o.compiled) {
      const up = nn.linear(x, linear(w, 'up_proj'));
      product = nn.fusedGatedProduct(gate, up);
    } else {
      const activated = ops.unarySavingInput(gate);
      rt.drop(gate);
      const up = nn.linear(x, linear(w, 'up_proj'));
      product = ops.mul(activated, up);
    }
    return nn.linear(product, linear(w, 'down_proj'));
  });
}

/** The layer's modules in __init__ order: attention (q, k, v, output projections), the MLP
 * (w1/gate, w2/down, w3/up), then the two norms (torchtune: sa_norm, mlp_norm). */
function nativeWeights(context: WeightContext, layer: number): LayerWeights {
  const h = context.arch.hiddenSize;
  return new LayerWeightsBuilder(context, layer)
    .linears('q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'down_proj', 'up_proj')
    .norm('input_layernorm', h)
    .norm('post_attention_layernorm', h)
    .build();
}

/** Both call SDPA with is_causal and K/V already expanded, whatever the request asks. */
function nativeAttention(code: NativeCode) {
  return (request: AttentionRequest): AttentionPlan => {
    const { arch, asked, computeBytes } = request;
    const notes = new Set<string>();
    if (asked === 'eager') notes.add(`${code} has no eager attention: it always calls SDPA`);
    const kernel = sdpaKernel(computeBytes, arch.headDim, false);
    if (kernel.note) notes.add(kernel.note);
    const choice: LayerAttention = { kernel: kernel.kernel };
    return planByKind(arch, () => choice, notes);
  };
}

/** The recipe for torchtune's or torchtitan's decoder layer. */
export function nativeLlamaRecipe(
  arch: ModelArchitecture,
  code: NativeCode,
  compiled: boolean,
): LayerRecipe {
  const options = { code, compiled };
  return {
    source:
      code === 'torchtune'
        ? 'torchtune/modules/transformer.py (TransformerSelfAttentionLayer)'
        : 'torchtitan/models/llama3/model/model.py (TransformerBlock)',
    weights: nativeWeights,
    forward: (nn, x, weights, inputs) => nativeLayer(nn, x, weights, inputs, options),
    attention: nativeAttention(code),
    ends: {
      // torchtitan's final nn.RMSNorm is F.rms_norm; torchtune's compiled norm fuses too.
      finalNorm: code === 'torchtitan' || compiled ? 'fused' : 'rms',
      rotaryBuffer: true, // torchtune's RoPE cache, torchtitan's freqs_cis: model buffers
      embeddingLocal: 'none', // h = self.tok_embeddings(tokens), then h = layer(h, ...)
      // torchtune's compile_loss only takes hold of the chunked loss (training/_compile.py,
      // its return value unused by the recipes); torchtitan's train.py left its loss
      // uncompiled ("compiling loss function causes CUDA errors") until compile.components
      // made it optional: planned uncompiled, the larger of the two.
      compiledLoss: compiled && code === 'torchtune' && 'chunked',
    },
  };
}
