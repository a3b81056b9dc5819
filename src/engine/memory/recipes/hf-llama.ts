// One decoder layer of Hugging Face's Llama family (transformers models/llama/modeling_llama.py
// LlamaDecoderLayer, LlamaAttention, LlamaMLP), which Mistral, Qwen2, Qwen3, OLMo-2, Gemma and
// Phi-3 follow with the variations named in LlamaVariant.
import { AttentionHeads, rotary } from '../autograd/attention';
import { attend } from './attention-kernel';
import { Nn } from '../autograd/nn';
import { FP32 } from '../autograd/ops';
import { Tensor } from '../autograd/runtime';
import { LayerWeights, LinearParams } from '../model/rank-model';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder } from './recipe';
import { addMoeWeights, ExpertStyle, MIXTRAL_EXPERTS, moeMlp, ungatedMlp } from './hf-moe';
import { isMoeLayer } from '../../model/parameters';

/** Where a family departs from Llama's layer. */
export interface LlamaVariant {
  /** Gemma-2/3: norms after attention and after the MLP too (sandwich), added before the
   * residual; OLMo-2: only the post norms (no pre norms). */
  norms: 'pre' | 'sandwich' | 'post';
  /** How the RMSNorm applies its weight: Llama casts the normalised tensor back and multiplies
   * in the input dtype; OLMo-2 multiplies in fp32 then casts (Olmo2RMSNorm); Gemma multiplies
   * by (1 + weight) in fp32 then casts (Gemma2RMSNorm); Helium casts the weight to fp32 first
   * (HeliumRMSNorm); Phi-3.5-MoE's nn.LayerNorm; OLMo-1's
   * OlmoLayerNorm, an fp32 LayerNorm without weight or bias. */
  rmsNorm:
    | 'llama'
    | 'fp32-weight'
    | 'fp32-weight-cast'
    | 'gemma'
    | 'layernorm'
    | 'weightless'
    | 'layernorm1p';
  /** OLMo-2's rotary tables stay fp32 and q, k are cast back to their dtype after rotation
   * (modeling_olmo2.py apply_rotary_pos_emb: q_embed.to(q_type)). */
  rotaryCastBack?: boolean;
  /** ERNIE 4.5's rotation in fp32 (modular_ernie4_5.py apply_rotary_pos_emb): each layer
   * repeat-interleaves the fp32 tables, rotates q.float() and rotate_half(q).float(), and casts
   * back. */
  rotaryInFp32?: boolean;
  /** Helium's and GLM-4's apply_rotary_pos_emb (modular_helium.py, modular_glm.py): half of
   * cos and of sin repeat-interleaved into new tables each layer, kept by the products for q's
   * and k's gradients; rotate_half on the even and odd dimensions (the same sizes as Llama's).
   * The tables are this fraction of the head wide (GLM-4 rotates half of it). */
  interleavedRotary?: number;
  /** q/k RMSNorm before rotary: per head (Qwen3, Gemma-3) or over the whole projection
   * (OLMo-2); Llama-4's weightless L2 norm after rotary, on the layers that rotate. */
  qkNorm?: 'per-head' | 'whole' | 'l2';
  /** HunYuan: the q/k RMSNorms run after rotary (query_layernorm(apply_rotary_pos_emb(...))). */
  qkNormAfterRope?: boolean;
  /** Llama-4: the layers that apply RoPE (the others, NoPE, scale q by an attention
   * temperature instead: modeling_llama4.py Llama4TextAttention attn_temperature_tuning). */
  ropeFor?: (layer: number) => boolean;
  /** How the routed experts of MoE layers compute (gpt-oss's clamped GLU). */
  experts?: ExpertStyle;
  /** The MLP's activation: one kernel that saves its input (SiLU, tanh-GELU), or relu2
   * (Nemotron's and Arcee's ReLUSquaredActivation: relu, then torch.square). */
  activation: 'silu' | 'gelu' | 'relu2' | 'xielu';
  /** Granite: each sub-layer's output is multiplied by residual_multiplier before the residual
   * add (GraniteDecoderLayer: residual + hidden_states * self.residual_multiplier). */
  scaledResidual?: boolean;
  /** A plain MLP (up, the activation as one kernel, down) instead of the gated one: StarCoder2's
   * c_fc and c_proj (Starcoder2MLP), and any architecture whose `mlp` is 'plain'. */
  plainMlp?: boolean;
  /** StarCoder2: dropout on o_proj's and c_proj's outputs (residual_dropout) before each add. */
  residualDropout?: number;
  /** Qwen3-Next: q_proj also makes a gate per head, and sigmoid(gate) multiplies the
   * attention's output before o_proj (Qwen3NextAttention.forward). */
  outputGate?: boolean;
  /** Falcon-H1: k_proj's output times key_multiplier before RoPE (FalconH1Attention.forward), a
   * new tensor nothing keeps. */
  scaledKey?: boolean;
  /** ModernBERT: the first layer has no norm before its attention (its attn_norm is
   * nn.Identity()), so its attention reads the embeddings' output itself. */
  normlessFirstAttention?: boolean;
  /** Ministral 3: the rotated q times Llama-4's attention scale (its tokens' positions, no
   * gradient), a new q the kernel keeps in place of the rotated one. */
  scaledQuery?: boolean;
}

export const LLAMA: LlamaVariant = {
  norms: 'pre',
  rmsNorm: 'llama',
  activation: 'silu',
};

export function linear(weights: LayerWeights, name: string): LinearParams {
  const found = weights.linears.get(name);
  if (!found) throw new Error(`layer ${weights.index} has no linear '${name}'`);
  return found;
}

function norm(
  nn: Nn,
  x: Tensor,
  weights: LayerWeights,
  name: string,
  variant: LlamaVariant,
  width = x.cols, // a norm over each head: its statistics per head
) {
  if (variant.rmsNorm === 'weightless') return nn.weightlessLayerNorm(x);
  const weight = weights.norms.get(name)!;
  if (variant.rmsNorm === 'layernorm')
    return nn.layerNorm(x, weight, weights.norms.get(`${name}.bias`));
  if (variant.rmsNorm === 'layernorm1p')
    return nn.layerNorm1p(x, weight, weights.norms.get(`${name}.bias`)!);
  if (variant.rmsNorm === 'gemma') return nn.gemmaRmsNorm(x, weight, width);
  if (variant.rmsNorm === 'fp32-weight' || variant.rmsNorm === 'fp32-weight-cast')
    return nn.rmsNormFp32Weight(x, weight, width, variant.rmsNorm === 'fp32-weight-cast');
  return nn.rmsNorm(x, weight, width);
}

/** LlamaDecoderLayer.forward: attention and MLP blocks, each added to the residual stream; a
 * hybrid's state-space layer puts its `mixer` where attention was. */
export function hfLlamaLayer(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
  variant: LlamaVariant = LLAMA,
  mixer: (h: Tensor) => Tensor = (h) => hfLlamaAttention(nn, h, w, inputs, variant),
): Tensor {
  return nn.rt.scope(() => {
    const preAttention = firstNormless(variant, w.index) ? undefined : 'input_layernorm';
    const mid = block(nn, x, w, variant, preAttention, 'post_attention_layernorm', mixer);
    const preMlp =
      variant.norms === 'sandwich' ? 'pre_feedforward_layernorm' : 'post_attention_layernorm';
    return block(nn, mid, w, variant, preMlp, 'post_feedforward_layernorm', (h) =>
      inputs.routing && w.linears.has('router')
        ? moeMlp(nn, h, w, inputs.routing, expertStyleOf(variant, w))
        : gatedMlp(nn, h, w, variant),
    );
  });
}

/** Whether layer `index` of the variant runs its attention without a norm before it. */
function firstNormless(variant: LlamaVariant, index: number): boolean {
  return variant.normlessFirstAttention === true && index === 0;
}

/** residual + sublayer(norm(residual)), with the family's norm placement (no pre-norm where
 * `preNorm` is absent). */
function block(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  variant: LlamaVariant,
  preNorm: string | undefined,
  postNorm: string,
  sublayer: (h: Tensor) => Tensor,
): Tensor {
  return nn.rt.scope(() => {
    const input = variant.norms === 'post' || !preNorm ? x : norm(nn, x, w, preNorm, variant);
    let out = sublayer(input);
    if (input !== x) nn.rt.drop(input);
    if (variant.norms !== 'pre') {
      const normed = norm(nn, out, w, postNorm, variant);
      nn.rt.drop(out);
      out = normed;
    }
    if (variant.residualDropout) out = nn.dropoutReplacing(out, variant.residualDropout);
    if (variant.scaledResidual) {
      const scaled = nn.ops.unary(out); // * residual_multiplier: a new tensor, nothing saved
      nn.rt.drop(out);
      out = scaled;
    }
    return nn.ops.add(x, out);
  });
}

/** LlamaAttention.forward: q, k, v projections, rotary on q and k, the attention kernel,
 * o_proj. The old q and k die once apply_rotary_pos_emb has returned both. */
export function hfLlamaAttention(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
  variant: LlamaVariant = LLAMA,
): Tensor {
  return nn.rt.scope(() => {
    const [projectedQ, projectedK, v] = projections(nn, x, w, inputs.heads);
    const k0 = variant.scaledKey ? nn.ops.unary(projectedK) : projectedK;
    if (k0 !== projectedK) nn.rt.drop(projectedK);
    const [q0, gate] = variant.outputGate ? queryAndGate(nn, projectedQ) : [projectedQ];
    const rmsQk = variant.qkNorm === 'per-head' || variant.qkNorm === 'whole';
    const beforeRope = rmsQk && !variant.qkNormAfterRope;
    const [q, k] = beforeRope ? qkNorms(nn, q0, k0, w, variant, inputs.heads.headDim) : [q0, k0];
    const [qPositioned, kPositioned] = positioned(nn, [q, k], w.index, inputs, variant);
    nn.rt.drop(q, k, q0, k0);
    const afterRope = rmsQk && variant.qkNormAfterRope;
    const [qNormed, kRotated] = afterRope
      ? qkNorms(nn, qPositioned, kPositioned, w, variant, inputs.heads.headDim)
      : [qPositioned, kPositioned];
    if (afterRope) nn.rt.drop(qPositioned, kPositioned);
    // query_states * _get_llama_4_attn_scale(...): the scale needs no gradient, so nothing is kept
    const qRotated = variant.scaledQuery ? nn.ops.unary(qNormed) : qNormed;
    if (qRotated !== qNormed) nn.rt.drop(qNormed);
    // Under autocast the kernel takes 16-bit q, k, v: rotary promoted q and k to the fp32 tables.
    const qkv = [qRotated, kRotated, v].map((t) => nn.matmulInput(t)) as [Tensor, Tensor, Tensor];
    nn.rt.drop(...[qRotated, kRotated].filter((t, i) => t !== qkv[i]));
    const context = attend(nn, qkv, inputs);
    nn.rt.drop(...qkv, v);
    // attn_output * torch.sigmoid(gate): sigmoid keeps its output, the product both sides.
    const gated = gate ? nn.ops.mul(context, nn.ops.unarySavingOutput(gate)) : context;
    return nn.linear(gated, linear(w, 'o_proj'));
  });
}

/** Qwen3NextAttention: q_proj's output chunked into each head's query and gate (views of it;
 * SplitBackward0 joins their gradients into one), the gate reshaped to [tokens, heads x d], a
 * copy since its view is not contiguous. The gate lives until the attention returns. */
function queryAndGate(nn: Nn, projected: Tensor): [Tensor, Tensor] {
  const [query, gateView] = nn.ops.split(projected, 2);
  nn.rt.drop(projected);
  const gate = nn.ops.unary(gateView);
  nn.rt.drop(gateView);
  return [query, gate];
}

/** q, k and v: three linears, or views sliced out of Phi-3's one qkv_proj output where the
 * layer has one (each view keeps the whole output alive). */
function projections(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  heads: AttentionHeads,
): [Tensor, Tensor, Tensor] {
  if (!w.linears.has('qkv_proj')) {
    return [
      nn.linear(x, linear(w, 'q_proj')),
      nn.linear(x, linear(w, 'k_proj')),
      nn.linear(x, linear(w, 'v_proj')),
    ];
  }
  const qkv = nn.linear(x, linear(w, 'qkv_proj'));
  const kvCols = heads.kvHeads * heads.headDim;
  const parts: [Tensor, Tensor, Tensor] = [
    nn.ops.slice(qkv, heads.heads * heads.headDim),
    nn.ops.slice(qkv, kvCols),
    nn.ops.slice(qkv, kvCols),
  ];
  nn.rt.drop(qkv);
  return parts;
}

/** Qwen3's q_norm / k_norm (RMSNorm over head_dim) and OLMo-2's (over the whole projection). */
function qkNorms(
  nn: Nn,
  q: Tensor,
  k: Tensor,
  w: LayerWeights,
  variant: LlamaVariant,
  headDim: number,
) {
  const width = (t: Tensor) => (variant.qkNorm === 'per-head' ? headDim : t.cols);
  return [norm(nn, q, w, 'q_norm', variant, width(q)), norm(nn, k, w, 'k_norm', variant, width(k))];
}

/** RoPE on q and k (then Llama-4's L2 norm), or on Llama-4's NoPE layers q scaled by the
 * attention temperature ((query_states * attn_scales).to(dtype)) and k as it is. */
function positioned(
  nn: Nn,
  [q, k]: Tensor[],
  layer: number,
  inputs: LayerInputs,
  variant: LlamaVariant,
): Tensor[] {
  if (variant.ropeFor && !variant.ropeFor(layer)) {
    // Llama-4's NoPE layers scale q by the attention temperature; Jamba's attention has no RoPE.
    const query = variant.qkNorm === 'l2' ? nn.ops.unary(q) : nn.rt.view(q);
    return [query, nn.rt.view(k)];
  }
  const out = variant.rotaryInFp32
    ? rotatedInFp32(nn, [q, k], inputs)
    : variant.interleavedRotary
      ? rotatedInterleaved(nn, [q, k], inputs, variant)
      : [q, k].map((t) => rotated(nn, t, inputs, variant));
  if (variant.qkNorm !== 'l2') return out;
  const normed = out.map((t) => nn.l2Norm(t, inputs.heads.headDim)); // Llama4TextL2Norm, per head
  nn.rt.drop(...out);
  return normed;
}

/** ERNIE 4.5's apply_rotary_pos_emb: cos and sin, half of each repeat-interleaved into a new
 * fp32 table of the head's width (kept by the products for q's and k's gradients), then for
 * each of q and k: q.float() * cos + rotate_half(q).float() * sin, cast back to q's dtype. */
function rotatedInFp32(nn: Nn, qk: Tensor[], inputs: LayerInputs): Tensor[] {
  return nn.rt.scope(() => {
    const [cos, sin] = [inputs.cos, inputs.sin].map((t) => nn.ops.unary(t)); // repeat_interleave
    return qk.map((x) => {
      const { ops, rt } = nn;
      const x32 = ops.to(x, FP32);
      const withCos = ops.mul(x32, cos);
      rt.drop(x32);
      const half = x.cols / 2;
      const [odd, even] = [ops.slice(x, half), ops.slice(x, half)]; // x[..., 1::2], x[..., 0::2]
      const negated = ops.unary(odd);
      const rotatedHalf = ops.cat([negated, even]); // torch.stack((-x2, x1), -1).flatten(-2)
      rt.drop(negated, odd, even);
      const rotated32 = ops.to(rotatedHalf, FP32);
      rt.drop(rotatedHalf);
      const withSin = ops.mul(rotated32, sin);
      rt.drop(rotated32);
      const sum = ops.add(withCos, withSin);
      rt.drop(withCos, withSin);
      return ops.to(sum, x.elementBytes);
    });
  });
}

/** Helium's and GLM-4's apply_rotary_pos_emb: cos[..., : d // 2].repeat_interleave(2) and the
 * same of sin, new tables in their dtype as wide as the rotated part, then Llama's products with
 * them (over the whole head: the rotated q and k they keep are the same size either way). */
function rotatedInterleaved(
  nn: Nn,
  qk: Tensor[],
  inputs: LayerInputs,
  variant: LlamaVariant,
): Tensor[] {
  return nn.rt.scope(() => {
    const width = Math.round(inputs.cos.cols * (variant.interleavedRotary ?? 1));
    const [cos, sin] = [inputs.cos, inputs.sin].map((t) => nn.ops.unary(t, width)); // repeat_interleave
    return qk.map((x) => rotated(nn, x, { ...inputs, cos, sin }, variant));
  });
}

/** apply_rotary_pos_emb for one of q and k, cast back where the family does. */
function rotated(nn: Nn, x: Tensor, inputs: LayerInputs, variant: LlamaVariant): Tensor {
  const out = rotary(nn, x, inputs.cos, inputs.sin);
  if (!variant.rotaryCastBack || out.elementBytes === x.elementBytes) return out;
  const cast = nn.ops.to(out, x.elementBytes);
  nn.rt.drop(out);
  return cast;
}

/** LlamaMLP: down_proj(act_fn(gate_proj(x)) * up_proj(x)), evaluated left to right, the
 * activation as its own op; where the layer has a gate_up_proj (Phi3MLP, GLM's) it is computed
 * once and chunked. */
export function gatedMlp(nn: Nn, x: Tensor, w: LayerWeights, variant: LlamaVariant = LLAMA) {
  if (variant.plainMlp) return plainMlp(nn, x, w, variant.activation);
  return nn.rt.scope(() => {
    const { ops } = nn;
    let activated: Tensor;
    let up: Tensor;
    if (w.linears.has('gate_up_proj')) {
      const both = nn.linear(x, linear(w, 'gate_up_proj'));
      const gate = ops.slice(both, both.cols / 2);
      up = ops.slice(both, both.cols / 2);
      nn.rt.drop(both);
      activated = ops.unarySavingInput(gate);
      nn.rt.drop(gate);
    } else {
      const gate = nn.linear(x, linear(w, 'gate_proj'));
      activated = ops.unarySavingInput(gate);
      nn.rt.drop(gate);
      up = nn.linear(x, linear(w, 'up_proj'));
    }
    const product = ops.mul(activated, up);
    nn.rt.drop(activated, up);
    return nn.linear(product, linear(w, 'down_proj'));
  });
}

/** Starcoder2MLP: c_fc, the activation as one kernel keeping its input (gelu_pytorch_tanh),
 * c_proj; NemotronMLP (Arcee's): up_proj, relu2, down_proj. */
function plainMlp(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  activation: LlamaVariant['activation'],
): Tensor {
  return ungatedMlp(nn, x, w, '', plainActivation(activation, w));
}

/** The experts of the variant's sparse block: its family's style, and where the model's MLP is
 * plain, experts of up_proj and down_proj alone with the MLP's activation (NemotronHExperts),
 * as addMoeWeights builds them for such a model. */
export function expertStyleOf(variant: LlamaVariant, w: LayerWeights): ExpertStyle {
  const style = variant.experts ?? MIXTRAL_EXPERTS;
  if (!variant.plainMlp) return style;
  return { ...style, ungated: plainActivation(variant.activation, w) };
}

/** A plain MLP's activation of its up_proj output: relu2, xIELU, or one kernel keeping its
 * input. */
export function plainActivation(
  activation: LlamaVariant['activation'],
  w: LayerWeights,
): (nn: Nn, up: Tensor) => Tensor {
  if (activation === 'relu2') return reluSquared;
  if (activation === 'xielu') return (nn, up) => xielu(nn, up, w);
  return (nn, up) => nn.ops.unarySavingInput(up);
}

/** activations.py XIELUActivation._xielu_python, which runs unless the xielu CUDA extension is
 * installed: softplus of the two (1,)-shaped parameters, then
 * where(x > 0, alpha_p * x * x + beta * x, (expm1(min(x, eps)) - x) * alpha_n + beta * x),
 * each op its own tensor. The parameters are in the model's dtype and one-dimensional, so an
 * fp32 alpha promotes its products to fp32; beta and eps are 0-dim buffers and do not. Kept:
 * the mask, alpha_p * x, expm1's output and the difference (alpha_n's gradient needs it). */
function xielu(nn: Nn, x: Tensor, w: LayerWeights): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const alpha = (name: string) =>
      ops.weight(
        w.other.find((param) => param.name === `act_fn.${name}`)!,
        1,
        1,
      );
    const [alphaP, alphaN] = [alpha('alpha_p'), alpha('alpha_n')];
    const softP = ops.unarySavingInput(alphaP); // softplus(alpha_p)
    const softN = ops.unarySavingInput(alphaN); // softplus(alpha_n)
    const shiftedN = ops.unary(softN); // beta + softplus(alpha_n)
    const mask = rt.tensor(x.rows, x.cols, 1, false); // x > 0
    const px = ops.mul(softP, x);
    const pxx = ops.mul(px, x);
    const betaX = ops.unary(x); // beta * x
    const positive = ops.add(pxx, betaX);
    rt.drop(pxx, betaX);
    const clamped = ops.unarySavingInput(x); // torch.min(x, eps)
    const expm1 = ops.unarySavingOutput(clamped);
    rt.drop(clamped);
    const difference = ops.sub(expm1, x);
    const scaled = ops.mul(difference, shiftedN);
    const betaX2 = ops.unary(x);
    const negative = ops.add(scaled, betaX2);
    rt.drop(scaled, betaX2);
    return ops.where(mask, positive, negative);
  });
}

/** activations.py ReLUSquaredActivation: relu (ReluBackward0 keeps its output), then
 * torch.square of it (PowBackward0 keeps its input, the same tensor). */
function reluSquared(nn: Nn, x: Tensor): Tensor {
  const relu = nn.ops.unarySavingOutput(x);
  const squared = nn.ops.square(relu);
  nn.rt.drop(relu);
  return squared;
}

/** The norms a variant's layer `index` creates, in module order. */
function normNames(variant: LlamaVariant, index: number): string[] {
  if (variant.norms === 'post') return ['post_attention_layernorm', 'post_feedforward_layernorm'];
  const inputNorm = firstNormless(variant, index) ? [] : ['input_layernorm'];
  const pre = [...inputNorm, 'post_attention_layernorm'];
  return variant.norms === 'sandwich'
    ? [...pre, 'pre_feedforward_layernorm', 'post_feedforward_layernorm']
    : pre;
}

/** The recipe for one variant of the Llama layer. */
export function hfLlamaRecipe(variant: LlamaVariant): LayerRecipe {
  return {
    source: 'transformers models/llama/modeling_llama.py (LlamaDecoderLayer)',
    weights(context, layer) {
      const { arch } = context;
      const builder = new LayerWeightsBuilder(context, layer).linears(
        'q_proj',
        'k_proj',
        'v_proj',
        'qkv_proj',
        'o_proj',
      );
      if (arch.attentionSinks)
        builder.other('sinks', arch.numAttentionHeads / context.tensorParallel);
      if (variant.qkNorm === 'per-head' || variant.qkNorm === 'whole') {
        const perHead = variant.qkNorm === 'per-head';
        const heads = (n: number) => Math.max(1, n / context.tensorParallel);
        builder.norm(
          'q_norm',
          perHead ? arch.headDim : heads(arch.numAttentionHeads) * arch.headDim,
          false,
        );
        builder.norm(
          'k_norm',
          perHead ? arch.headDim : heads(arch.numKeyValueHeads) * arch.headDim,
          false,
        );
      }
      const moe = arch.moe;
      if (moe && isMoeLayer(arch, layer)) addMoeWeights(builder, context, moe);
      else builder.linears('gate_proj', 'up_proj', 'gate_up_proj', 'down_proj');
      // ApertusMLP's act_fn, after up_proj and down_proj: XIELUActivation's alpha_p, alpha_n
      if (variant.activation === 'xielu' && !(moe && isMoeLayer(arch, layer)))
        builder.other('act_fn.alpha_p', 1).other('act_fn.alpha_n', 1);
      for (const name of normNames(variant, layer)) builder.norm(name, arch.hiddenSize);
      return builder.build();
    },
    forward: (nn, x, weights, inputs) => hfLlamaLayer(nn, x, weights, inputs, variant),
  };
}

/** A decoder layer's second half as DeepseekV3DecoderLayer and JambaMambaDecoderLayer write it:
 * the residual add of the mixer's output, post_attention_layernorm, the sparse MoE block where
 * the layer has a router (else the gated MLP), and the residual add. Runs in the layer's scope. */
export function feedForwardHalf(
  nn: Nn,
  x: Tensor,
  mixed: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
): Tensor {
  const { ops, rt } = nn;
  const mid = ops.add(x, mixed);
  rt.drop(mixed);
  const normed = nn.rmsNorm(mid, w.norms.get('post_attention_layernorm')!);
  const mlpOut =
    inputs.routing && w.linears.has('router')
      ? moeMlp(nn, normed, w, inputs.routing)
      : gatedMlp(nn, normed, w);
  rt.drop(normed);
  return ops.add(mid, mlpOut);
}
