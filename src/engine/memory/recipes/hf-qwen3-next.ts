// Qwen3-Next's layers as transformers runs them with its fast path installed (models/qwen3_next/
// modular_qwen3_next.py Qwen3NextDecoderLayer): Llama's pre-norm layer with Gemma-3's RMSNorms,
// gated attention or Qwen3NextGatedDeltaNet as the token mixer, and Qwen2-MoE's sparse block.
// The Gated DeltaNet's kernels are causal-conv1d's (causal_conv1d_interface.py CausalConv1dFn,
// read at v1.6.1) and flash-linear-attention's (fla/ops/gated_delta_rule/chunk.py
// ChunkGatedDeltaRuleFunction, fla/modules/fused_norm_gate.py LayerNormGatedFunction, read at
// v0.4.1; v0.5 fuses the fp32 A below away).
import { Nn } from '../autograd/nn';
import { FP32 } from '../autograd/ops';
import { Storage, Tensor } from '../autograd/runtime';
import { GatedDeltaConfig, ModelArchitecture } from '../../vocabulary';
import { layerKind } from '../../model/layers';
import { gatedDeltaConvChannels } from '../../model/parameters';
import { LayerWeights } from '../model/rank-model';
import { linear, LlamaVariant } from './hf-llama';
import { llamaLayersWithMixer } from './hybrid-layers';
import { paramsNamed } from './hf-mamba';
import { LayerRecipe } from './recipe';

// fla's chunk length (chunk.py: chunk_size 64): A holds 64 entries a token and head, and the
// recurrent state h is kept once per 64-token chunk.
const CHUNK = 64;
// chunk_bwd_dqkwg's dg partial sums, one per key block (NK = K / BK; 2 for K = 128 on H100 and
// H200, whose shared memory takes BK = 64).
const KEY_BLOCKS = 2;

/** The Gated DeltaNet's sizes on one tensor-parallel rank, for `tokens` tokens of sequences of
 * `keys` positions. */
interface DeltaShape {
  tokens: number;
  /** Value heads on the rank: q and k are repeated to as many (repeat_interleave). */
  heads: number;
  /** Value heads per key head. */
  repeats: number;
  keyDim: number;
  valueDim: number;
  /** Recurrent states h: one per head and 64-token chunk of each sequence. */
  stateBytes: number;
}

function deltaShape(
  delta: GatedDeltaConfig,
  w: LayerWeights,
  tokens: number,
  keys: number,
  elementBytes: number,
): DeltaShape {
  const heads = delta.splitProjections
    ? linear(w, 'in_proj_b').outFeatures // b: one per value head
    : linear(w, 'in_proj_ba').outFeatures / 2; // b and a: one each per value head
  const ranks = delta.valueHeads / heads;
  const chunks = (tokens / keys) * Math.ceil(keys / CHUNK);
  return {
    tokens,
    heads,
    repeats: delta.valueHeads / delta.keyHeads,
    keyDim: (delta.keyHeads / ranks) * delta.keyHeadDim,
    valueDim: heads * delta.valueHeadDim,
    stateBytes: chunks * heads * delta.keyHeadDim * delta.valueHeadDim * elementBytes,
  };
}

/** Hands a kernel's gradient to its input, or frees it where the input takes none. */
function handOver(nn: Nn, target: Tensor, grad: Storage): void {
  if (target.requiresGrad) nn.rt.deliver(target, grad);
  else nn.rt.release(grad);
}

/** A kernel's fp32 weight gradient handed to the weight in its own dtype: as it is where the
 * weight is fp32, else cast (`.type_as(weight)`, `.to(weight.dtype)`) and the fp32 one freed. */
function deliverInWeightDtype(nn: Nn, weight: Tensor, fp32: Storage): void {
  if (weight.elementBytes === FP32) return nn.rt.deliver(weight, fp32);
  nn.ops.give(weight, () => nn.ops.gradOf(weight));
  nn.rt.release(fp32);
}

/** CausalConv1dFn with SiLU: the channel-last input needs no copy and the output is its size;
 * it keeps the input and the weight as stored (no autocast around a custom Function) and
 * recomputes the convolution and SiLU in backward, which makes dx, and dweight as fp32 zeros
 * cast to the weight's dtype (`.type_as(weight)`). */
function causalConv1d(nn: Nn, x: Tensor, w: LayerWeights): Tensor {
  const { ops, rt } = nn;
  const [param] = paramsNamed(w, ['conv1d.weight']);
  const weight = ops.weight(param, 1, param.elements);
  const out = ops.empty(x, x.requiresGrad || weight.requiresGrad);
  rt.record([x, weight], [out], [x, weight], () => {
    ops.give(x, () => ops.gradOf(x));
    if (!weight.requiresGrad) return;
    const fp32 = rt.allocate((weight.bytes / weight.elementBytes) * FP32, 'gradients');
    deliverInWeightDtype(nn, weight, fp32);
  });
  rt.drop(weight);
  return out;
}

/** g = -A_log.float().exp() * F.softplus(a.float() + dt_bias): fp32, one per value head and
 * token; softplus keeps its input, exp its output, the product both sides. */
function decayRate(nn: Nn, a: Tensor, w: LayerWeights): Tensor {
  const { ops, rt } = nn;
  const [dtBias, aLog] = paramsNamed(w, ['dt_bias', 'A_log']).map((p) =>
    ops.weight(p, 1, p.elements),
  );
  const aFloat = ops.to(a, FP32);
  const shifted = ops.add(aFloat, dtBias);
  rt.drop(aFloat);
  const softplus = ops.unarySavingInput(shifted);
  rt.drop(shifted);
  const logFloat = ops.to(aLog, FP32);
  const rate = ops.unarySavingOutput(logFloat); // .exp()
  const negated = ops.unary(rate);
  rt.drop(logFloat, rate);
  const g = ops.mul(negated, softplus);
  rt.drop(negated, softplus, dtBias, aLog);
  return g;
}

/** ChunkGatedDeltaRuleFunction.forward with use_qk_l2norm_in_kernel: input_guard's contiguous
 * copy of v (a strided view of the convolution's output), l2norm_fwd's normalised q and k with
 * their fp32 rstd, the fp32 chunk-local cumsum of g, A (fp32 from chunk_scaled_dot_kkt_fwd,
 * then solve_tril's bf16 inverse), w, u, the chunk states h and v_new (freed on return), and o.
 * It keeps q̂, q_rstd, k̂, k_rstd, the v copy, g's cumsum, beta and A; h is recomputed. */
function chunkGatedDeltaRule(
  nn: Nn,
  [q, k, v, g, beta]: [Tensor, Tensor, Tensor, Tensor, Tensor],
  s: DeltaShape,
): Tensor {
  const { rt } = nn;
  const element = v.elementBytes;
  const made = (cols: number, bytes = element) => rt.tensor(s.tokens, cols, bytes, false);
  // input_guard's .contiguous(): q and k too where no repeat_interleave copied them already
  const copies = s.repeats === 1 ? [made(s.keyDim), made(s.keyDim)] : [];
  const vCopy = made(s.valueDim);
  const [qHat, qRstd, kHat, kRstd] = [q, k].flatMap(() => [
    made(s.keyDim * s.repeats),
    made(s.heads, FP32),
  ]);
  const gCumsum = made(s.heads, FP32);
  const aFp32 = made(s.heads * CHUNK, FP32);
  const a = made(s.heads * CHUNK);
  rt.drop(aFp32);
  const transients = [
    made(s.keyDim * s.repeats), // w
    made(s.valueDim), // u
    rt.tensor(1, s.stateBytes, 1, false), // h
    made(s.valueDim), // v_new
  ];
  const inputs = [q, k, v, g, beta];
  const o = rt.tensor(
    s.tokens,
    s.valueDim,
    element,
    inputs.some((t) => t.requiresGrad),
  );
  rt.drop(...copies, ...transients);
  const saved = [qHat, qRstd, kHat, kRstd, vCopy, gCumsum, beta, a];
  rt.record(inputs, [o], saved, () => chunkGatedDeltaRuleBackward(nn, inputs, s));
  rt.drop(vCopy, qHat, qRstd, kHat, kRstd, gCumsum, a);
  return o;
}

/** chunk_gated_delta_rule_bwd, then l2norm_bwd for q and k: w, u, h and v_new recomputed; dv
 * then dh and dv2 (dv freed); dq, dk, dw and dg (from its per-key-block fp32 partials); dk2,
 * dv3, dg2 and dbeta (dv2 freed); g's reverse cumsum replacing dg; the locals freed on return;
 * l2norm_bwd's new dq and dk replacing the old. */
function chunkGatedDeltaRuleBackward(nn: Nn, inputs: Tensor[], s: DeltaShape): void {
  const { rt } = nn;
  const [q, k, v, g, beta] = inputs;
  const element = v.elementBytes;
  const make = (cols: number, bytes = element) =>
    rt.allocate(s.tokens * cols * bytes, 'activations');
  const keyWidth = s.keyDim * s.repeats;
  const w = make(keyWidth);
  const u = make(s.valueDim);
  const h = rt.allocate(s.stateBytes, 'activations');
  const vNew = make(s.valueDim);
  const dv = make(s.valueDim);
  const dh = rt.allocate(s.stateBytes, 'activations');
  const dv2 = make(s.valueDim);
  rt.release(dv);
  const [dq, dk, dw] = [make(keyWidth), make(keyWidth), make(keyWidth)];
  const dgPartials = make(KEY_BLOCKS * s.heads, FP32);
  const dg = make(s.heads, FP32);
  rt.release(dgPartials);
  const [dk2, dv3, dg2, dBeta] = [
    make(keyWidth),
    make(s.valueDim),
    make(s.heads, FP32),
    make(s.heads),
  ];
  rt.release(dv2);
  const dgReversed = make(s.heads, FP32); // chunk_local_cumsum(dg, reverse=True)
  rt.release(dg);
  for (const local of [w, u, h, vNew, dh, dw, dk2, dg2]) rt.release(local);
  const dqNormed = make(keyWidth);
  rt.release(dq);
  const dkNormed = make(keyWidth);
  rt.release(dk);
  handOver(nn, q, dqNormed);
  handOver(nn, k, dkNormed);
  handOver(nn, v, dv3);
  handOver(nn, g, dgReversed);
  handOver(nn, beta, dBeta);
}

/** LayerNormGatedFunction (FusedRMSNormGated, SiLU gate) over each value head: y and the fp32
 * rstd; it keeps x (o), z, the weight and rstd. Backward makes dx and dz, and the weight's
 * gradient from one fp32 partial row per SM, summed in fp32 and cast to the weight's dtype. */
function fusedRmsNormGated(nn: Nn, x: Tensor, z: Tensor, w: LayerWeights, s: DeltaShape): Tensor {
  const { ops, rt } = nn;
  const [param] = paramsNamed(w, ['norm.weight']);
  const weight = ops.weight(param, 1, param.elements);
  const inputs = [x, z, weight];
  const y = ops.empty(
    x,
    inputs.some((t) => t.requiresGrad),
  );
  const rstd = rt.tensor(s.tokens, s.heads, FP32, false);
  rt.record(inputs, [y], [x, z, weight, rstd], () => {
    ops.give(x, () => ops.gradOf(x));
    ops.give(z, () => ops.gradOf(z));
    if (!weight.requiresGrad) return;
    const width = weight.bytes / weight.elementBytes;
    // one row per SM (get_multiprocessor_count); one where the catalog has no SM count
    const rows = ops.reduceDevice?.multiprocessors ?? 1;
    const partials = rt.allocate(rows * width * FP32, 'gradients');
    const summed = rt.allocate(width * FP32, 'gradients');
    rt.release(partials);
    deliverInWeightDtype(nn, weight, summed);
  });
  rt.drop(rstd, weight);
  return y;
}

/** Qwen3NextGatedDeltaNet.forward in training (no cache): in_proj_qkvz and in_proj_ba, locals
 * until it returns; fix_query_key_value_ordering's reshapes copy v, z, b and a (strided views
 * where a key head serves several value heads; with one value head a key head, the copies of v
 * and z come at the next reshape and b and a stay views) and the flattening copies q and k; torch.cat
 * joins q, k and v for the convolution (the copies die as the names are rebound after it);
 * q, k and v are views of its output; beta = b.sigmoid(), g as decayRate; q and k
 * repeat-interleaved to the value heads (copies); the delta rule, the gated norm, out_proj. */
function gatedDeltaNet(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  delta: GatedDeltaConfig,
  keys: number,
): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const qkvz = nn.linear(x, linear(w, 'in_proj_qkvz'));
    const ba = nn.linear(x, linear(w, 'in_proj_ba'));
    const s = deltaShape(delta, w, x.rows, keys, qkvz.elementBytes);
    // fix_query_key_value_ordering: v, z, b and a reshaped (copies), then q and k flattened
    const [qView, kView, vView, zView] = ops.split(qkvz, [
      s.keyDim,
      s.keyDim,
      s.valueDim,
      s.valueDim,
    ]);
    const [value, z] = [vView, zView].map((t) => ops.unary(t));
    const [bView, aView] = ops.split(ba, [s.heads, s.heads]);
    const [b, a] = [bView, aView].map((t) => ops.unary(t));
    rt.drop(vView, zView, bView, aView);
    const [query, key] = [qView, kView].map((t) => ops.unary(t));
    rt.drop(qView, kView);
    const mixed = ops.cat([query, key, value]);
    const convolved = causalConv1d(nn, mixed, w);
    rt.drop(mixed, query, key, value);
    return afterConvolution(nn, convolved, { z, b, a }, w, s);
  });
}

/** From the convolution's output on, as both families run it: q, k and v views of it,
 * beta = b.sigmoid(), g as decayRate, q and k repeat-interleaved to the value heads where there
 * are more of them (copies), the delta rule, the gated norm, out_proj. */
function afterConvolution(
  nn: Nn,
  convolved: Tensor,
  { z, b, a }: { z: Tensor; b: Tensor; a: Tensor },
  w: LayerWeights,
  s: DeltaShape,
): Tensor {
  const { ops } = nn;
  const [qConv, kConv, vConv] = ops.split(convolved, [s.keyDim, s.keyDim, s.valueDim]);
  const beta = ops.unarySavingOutput(b);
  const g = decayRate(nn, a, w);
  const [q, k] =
    s.repeats > 1 ? [qConv, kConv].map((t) => ops.unary(t, t.cols * s.repeats)) : [qConv, kConv];
  const o = chunkGatedDeltaRule(nn, [q, k, vConv, g, beta], s);
  const normed = fusedRmsNormGated(nn, o, z, w, s);
  return nn.linear(normed, linear(w, 'out_proj'));
}

/** Qwen3_5GatedDeltaNet.forward in training (no cache): in_proj_qkv's output goes to the
 * convolution as a channel-last view (no cat, no copy), z, b and a are their projections'
 * outputs (z reshaped as a view), locals until it returns; then as Qwen3-Next's. */
function gatedDeltaNetSplit(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  delta: GatedDeltaConfig,
  keys: number,
): Tensor {
  return nn.rt.scope(() => {
    const mixed = nn.linear(x, linear(w, 'in_proj_qkv'));
    const [z, b, a] = ['in_proj_z', 'in_proj_b', 'in_proj_a'].map((name) =>
      nn.linear(x, linear(w, name)),
    );
    const s = deltaShape(delta, w, x.rows, keys, mixed.elementBytes);
    const convolved = causalConv1d(nn, mixed, w);
    nn.rt.drop(mixed);
    return afterConvolution(nn, convolved, { z, b, a }, w, s);
  });
}

/** Llama's layer with the Gated DeltaNet in place of attention on the `linear_attention`
 * layers, Qwen3-Next's gated attention on the others (Qwen3.5's layers are the same). */
export function hfQwen3NextRecipe(
  arch: ModelArchitecture,
  variant: LlamaVariant,
  source = 'transformers models/qwen3_next/modular_qwen3_next.py (Qwen3NextDecoderLayer, Qwen3NextGatedDeltaNet)',
): LayerRecipe {
  const delta = arch.gatedDelta!;
  const forward = delta.splitProjections ? gatedDeltaNetSplit : gatedDeltaNet;
  return llamaLayersWithMixer(arch, variant, source, {
    runs: (layer) => layerKind(arch, layer).mixer === 'gated-delta',
    addWeights(builder, context) {
      const ranks = context.tensorParallel;
      const heads = delta.valueHeads / ranks;
      const channels = gatedDeltaConvChannels(delta) / ranks;
      // __init__ order: conv1d, in_proj_qkvz, in_proj_ba, dt_bias, A_log, norm, out_proj;
      // Qwen3.5 deletes the two projections and makes its four after out_proj
      builder.other('conv1d.weight', channels * delta.convKernel);
      if (!delta.splitProjections) builder.linears('in_proj_qkvz', 'in_proj_ba');
      builder.other('dt_bias', heads).other('A_log', heads);
      builder.other('norm.weight', delta.valueHeadDim);
      builder.linears('out_proj');
      if (delta.splitProjections)
        builder.linears('in_proj_qkv', 'in_proj_z', 'in_proj_b', 'in_proj_a');
    },
    forward: (nn, x, w, inputs) => forward(nn, x, w, delta, inputs.keys),
  });
}
