// The routers of Hugging Face's MoE blocks: how each picks and weighs a token's experts, and
// what it keeps for backward (MoeConfig.router names one per model).
// - softmax: Mixtral's MixtralTopKRouter (models/mixtral/modeling_mixtral.py; Qwen-MoE's and
//   OLMoE's the same): logits in the hidden dtype, an fp32 softmax over every expert, top-k,
//   the weights left in fp32 (v5 returns router_top_value as the softmax made it; the fp32
//   weights and the experts' fp32 weighted outputs are in trace-90, transformers 5.17).
// - top-k-softmax: gpt-oss's GptOssTopKRouter (models/gpt_oss/modeling_gpt_oss.py): top-k of
//   the logits, then a softmax over the k in their dtype.
// - fp32-softmax: DeepSeek-V2's DeepseekV2Moe (models/deepseek_v2/modular_deepseek_v2.py): an
//   fp32 linear, an fp32 softmax, top-k times routed_scaling_factor, left in fp32.
// - grouped-sigmoid: DeepSeek-V3's DeepseekV3TopkRouter and DeepseekV3MoE.route_tokens_to_experts
//   (models/deepseek_v3/modeling_deepseek_v3.py; GLM-4.5's Glm4MoeTopkRouter is the same class):
//   the fp32 linear, sigmoid scores, a group-limited top-k over the scores plus
//   e_score_correction_bias, the chosen scores gathered, renormalised and scaled, left in fp32.
// - top-k-sigmoid: Llama-4's Llama4Router (models/llama4/modeling_llama4.py): top-k of the
//   logits scattered into a row of -inf, an fp32 sigmoid cast back: a weight for every expert.
// - biased-softmax: ERNIE 4.5's Ernie4_5_MoeTopKRouter (models/ernie4_5_moe/
//   modular_ernie4_5_moe.py): an fp32 linear on its fp32 weight with autocast off, an fp32
//   softmax, top-k of it plus the correction bias, the chosen probabilities over their sum.
// - fp32-gate-softmax: HunYuan-MoE's HunYuanMoEV1Gate (models/hunyuan_v1_moe/
//   modular_hunyuan_v1_moe.py): an fp32 gate on hidden_states.float(), softmax, top-k divided
//   by its sum, cast to the logits' dtype.
// - top-k-gating: JetMoE's JetMoeTopKGating (models/jetmoe/modeling_jetmoe.py; Granite-MoE's
//   GraniteMoeTopKGating is the same class): the logits cast to fp32, top-k of them, a softmax
//   over the k, cast to the hidden dtype.
// - biased-sigmoid: LFM2-MoE's Lfm2MoeSparseMoeBlock (models/lfm2_moe/modular_lfm2_moe.py): a
//   sigmoid of the logits in their dtype, experts chosen on it plus an fp32 bias, the chosen
//   sigmoids renormalised and scaled.
// - fp32-biased-sigmoid: MiniMax-M2's MiniMaxM2TopKRouter (models/minimax_m2/
//   modular_minimax_m2.py): the same choice over a sigmoid of the logits' fp32 copy, the chosen
//   sigmoids divided by their sum, no scaling factor.
// Weights left in fp32 make the experts' weighted outputs fp32 too (type promotion).
import { RouterKind } from '../../vocabulary';
import { Nn } from '../autograd/nn';
import { BOOL, FP32, INT64 } from '../autograd/ops';
import { Tensor } from '../autograd/runtime';
import { LayerWeights } from '../model/rank-model';
import type { ExpertRouting } from './hf-moe';

/** What a router hands the experts: the weights, and the logits the block returns (held until
 * it does). */
export interface RouterOutput {
  logits: Tensor;
  weights: Tensor;
}

/** DeepseekV3TopkRouter.forward and DeepseekV2Moe.forward: F.linear(hidden_states.type(
 * torch.float32), weight.type(torch.float32)). Outside autocast both copies are fp32 and the mm
 * keeps them for backward; under autocast the linear casts them back to 16 bits (the fp32
 * weight's cast cached as any other), so the logits are 16-bit there. */
function routerLogits(nn: Nn, x: Tensor, w: LayerWeights): Tensor {
  const { ops, rt } = nn;
  const router = w.linears.get('router')!;
  const x32 = ops.to(x, FP32);
  const weight = nn.weights.matmulWeight(ops, router.weight, router.outFeatures, x.cols);
  const w32 = nn.precision.autocast ? weight : ops.to(weight, FP32);
  if (w32 !== weight) rt.drop(weight);
  const input = nn.matmulInput(x32);
  const logits = ops.linear(input, w32, router.outFeatures);
  rt.drop(w32);
  if (input !== x32) rt.drop(input);
  rt.drop(x32);
  return logits;
}

/** The experts each token goes to, chosen from the sigmoid scores: scores + the correction
 * bias, masked_fill of the groups not chosen (the group mask expanded and reshaped into a copy,
 * .bool() and ~ of it), then top-k. No gradient reaches them: each is freed as the next is made,
 * and the chosen indices are what gather keeps. The tokens x n_group group scores (n_group is at
 * most 8) are left out. */
function chooseExperts(nn: Nn, scores: Tensor): void {
  const { rt } = nn;
  const transient = (elementBytes: number) =>
    rt.tensor(scores.rows, scores.cols, elementBytes, false, scores.storage.component);
  const forChoice = transient(scores.elementBytes);
  const scoreMask = transient(scores.elementBytes);
  const asBool = transient(BOOL);
  rt.drop(scoreMask);
  const notChosen = transient(BOOL);
  rt.drop(asBool);
  const masked = transient(scores.elementBytes);
  rt.drop(forChoice, notChosen, masked);
}

/** The routing weights, fp32 outside autocast: sigmoid (SigmoidBackward0 saves its output),
 * the choice, scores.gather(1, topk_indices) (GatherBackward0 keeps the int64 indices and
 * scatters into a scores-sized zero tensor: the memory of ops.topk), divided by their sum where
 * norm_topk_prob (in place in the code: a k-wide tensor either way) and multiplied by
 * routed_scaling_factor. DeepseekV3MoE.forward holds the logits in a local until it
 * returns. */
function deepseekRouting(nn: Nn, x: Tensor, w: LayerWeights, routing: ExpertRouting): RouterOutput {
  const { ops, rt } = nn;
  const logits = routerLogits(nn, x, w);
  const scores = ops.unarySavingOutput(logits);
  chooseExperts(nn, scores);
  const gathered = ops.topk(scores, routing.topK);
  rt.drop(scores);
  const normalised = dividedBySum(nn, gathered, routing);
  const weights = ops.unary(normalised);
  rt.drop(normalised);
  return { logits, weights };
}

/** DeepseekV2Moe.route_tokens_to_experts: softmax(dim=-1, dtype=torch.float32) (on the 16-bit
 * logits of autocast, a conversion first), top-k (greedy; group_limited_greedy's masked copy of
 * the scores is left out), times routed_scaling_factor, no renormalisation and no cast back.
 * DeepseekV2Moe.forward holds the logits until it returns. */
function deepseekV2Routing(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  routing: ExpertRouting,
): RouterOutput {
  const logits = routerLogits(nn, x, w);
  const top = topOfSoftmax(nn, logits, routing);
  const weights = nn.ops.unary(top);
  nn.rt.drop(top);
  return { logits, weights };
}

/** MixtralTopKRouter: router logits, fp32 softmax, top-k weights renormalised (in place in the
 * code: a k-wide tensor either way) and returned in fp32, no cast. */
function softmaxRouting(nn: Nn, x: Tensor, w: LayerWeights, routing: ExpertRouting): RouterOutput {
  const logits = nn.linear(x, w.linears.get('router')!);
  const weights = dividedBySum(nn, topOfSoftmax(nn, logits, routing), routing);
  return { logits, weights };
}

/** softmax(logits, dim=-1, dtype=torch.float) (a conversion first where the logits are 16-bit;
 * SoftmaxBackward0 keeps the fp32 output), then top-k of it (TopkBackward0 keeps the indices). */
function topOfSoftmax(nn: Nn, logits: Tensor, routing: ExpertRouting): Tensor {
  const { ops, rt } = nn;
  const logits32 = ops.to(logits, FP32);
  const probabilities = ops.softmax(logits32);
  rt.drop(logits32);
  const top = ops.topk(probabilities, routing.topK);
  rt.drop(probabilities);
  return top;
}

/** top_k_weights / top_k_weights.sum(-1, keepdim=True) where the router divides (written as a
 * new k-wide tensor; some routers divide in place), or the weights as they are. */
function dividedBySum(nn: Nn, top: Tensor, routing: ExpertRouting): Tensor {
  if (!routing.renormalize) return top;
  const normalised = nn.ops.unary(top);
  nn.rt.drop(top);
  return normalised;
}

/** GptOssTopKRouter.forward: the logits (router bias included), top-k of them (TopkBackward0
 * keeps the int64 indices), softmax over the k in the logits' dtype (keeping its output): no
 * softmax over every expert, no cast. */
function topKSoftmaxRouting(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  routing: ExpertRouting,
): RouterOutput {
  const { logits, top } = topOfLogits(nn, x, w, routing);
  const weights = nn.ops.softmax(top);
  nn.rt.drop(top);
  return { logits, weights };
}

/** The router's logits in the hidden dtype, and top-k of them (TopkBackward0 keeps the int64
 * indices). */
function topOfLogits(nn: Nn, x: Tensor, w: LayerWeights, routing: ExpertRouting) {
  const logits = nn.linear(x, w.linears.get('router')!);
  return { logits, top: nn.ops.topk(logits, routing.topK) };
}

/** Llama4Router.forward: the logits, top-k of them (TopkBackward0 keeps the int64 indices),
 * torch.full_like(logits, -inf).scatter_(1, indices, top): one logits-sized tensor written in
 * place (ScatterBackward keeps the same indices), sigmoid of its fp32 copy (SigmoidBackward0
 * keeps the fp32 output), cast back to the logits' dtype: a weight for every expert, zero where
 * the expert was not chosen. */
function topKSigmoidRouting(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  routing: ExpertRouting,
): RouterOutput {
  const { ops, rt } = nn;
  const { logits, top } = topOfLogits(nn, x, w, routing);
  const scattered = ops.unary(top, logits.cols);
  rt.drop(top);
  const scattered32 = ops.to(scattered, FP32);
  rt.drop(scattered);
  const scores = ops.unarySavingOutput(scattered32);
  rt.drop(scattered32);
  const weights = ops.to(scores, logits.elementBytes);
  rt.drop(scores);
  return { logits, weights };
}

/** Ernie4_5_MoeTopKRouter.forward, autocast off: F.linear(hidden_states.float(), weight) on the
 * fp32 weight (the mm keeps the fp32 input and the weight), softmax(dtype=float) keeping its
 * output, top-k of it plus e_score_correction_bias (no gradient reaches the choice: the biased
 * copy goes, the int64 indices stay with gather), torch.gather of the chosen probabilities
 * (GatherBackward0 keeps the same indices), divided by torch.clamp(sum, min=moe_norm_min)
 * (ClampMinBackward0 keeps the sum, DivBackward0 both sides), cast to the hidden dtype. The
 * block binds the logits to `_`, a local until it returns. */
function biasedSoftmaxRouting(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  routing: ExpertRouting,
): RouterOutput {
  const { ops, rt } = nn;
  const router = w.linears.get('router')!;
  const x32 = ops.to(x, FP32);
  const weight = ops.weight(router.weight, router.outFeatures, x.cols);
  const logits = ops.linear(x32, weight, router.outFeatures);
  rt.drop(weight, x32);
  const probabilities = ops.softmax(logits);
  const biased = ops.unary(probabilities);
  rt.drop(ops.topk(biased, routing.topK), biased);
  const gathered = ops.unary(probabilities, routing.topK);
  rt.drop(probabilities);
  const sum = ops.meanLastDim(gathered);
  const clamped = ops.unarySavingInput(sum);
  rt.drop(sum);
  const divided = ops.mul(gathered, clamped);
  rt.drop(gathered, clamped);
  const weights = ops.to(divided, x.elementBytes);
  rt.drop(divided);
  return { logits, weights };
}

/** HunYuanMoEV1Gate.forward: wg is an fp32 nn.Linear, so hidden_states.float() goes through it
 * (routerLogits: under autocast the linear casts both back); route_tokens_to_experts:
 * softmax(dtype=float), top-k divided by its sum, cast to the dtype of what it was handed, the
 * logits: fp32 outside autocast, as Mixtral's stay; bf16 under it, where Mixtral's stay fp32. */
function fp32GateRouting(nn: Nn, x: Tensor, w: LayerWeights, routing: ExpertRouting): RouterOutput {
  const logits = routerLogits(nn, x, w);
  const normalised = dividedBySum(nn, topOfSoftmax(nn, logits, routing), routing);
  const weights = nn.ops.to(normalised, logits.elementBytes);
  nn.rt.drop(normalised);
  return { logits, weights };
}

type Router = (nn: Nn, x: Tensor, w: LayerWeights, routing: ExpertRouting) => RouterOutput;

/** JetMoeTopKGating.forward: self.layer(hidden_states).float() (an fp32 copy of 16-bit logits),
 * top-k of it (TopkBackward0 keeps the int64 indices), softmax over the k (keeping its fp32
 * output), .type_as(hidden_states); then each expert's count (expertCounts). The sort of the
 * chosen experts and the gates' gather run where the experts use them (hf-moe.ts
 * parallelExperts). The logits are returned and held by the block until it returns. */
function topKGatingRouting(nn: Nn, x: Tensor, w: LayerWeights, routing: ExpertRouting) {
  const { ops, rt } = nn;
  const raw = nn.linear(x, w.linears.get('router')!);
  const logits = ops.to(raw, FP32);
  if (logits !== raw) rt.drop(raw);
  const top = ops.topk(logits, routing.topK);
  const gates32 = ops.softmax(top);
  rt.drop(top);
  const weights = ops.to(gates32, x.elementBytes);
  if (weights !== gates32) rt.drop(gates32);
  expertCounts(nn, logits, weights.elementBytes);
  return { logits, weights };
}

/** expert_size: torch.zeros([tokens, num_experts], dtype=top_k_gates.dtype) and its scatter of
 * ones (both locals until the router returns), .long() of it (an int64 copy) summed over the
 * tokens and read back with .tolist(). No gradient reaches any of them. */
function expertCounts(nn: Nn, logits: Tensor, gateBytes: number): void {
  const { rt } = nn;
  const table = (bytes: number) => rt.tensor(logits.rows, logits.cols, bytes, false);
  const zeros = table(gateBytes);
  const scattered = table(gateBytes);
  rt.drop(table(INT64));
  rt.drop(zeros, scattered);
}

/** Lfm2MoeSparseMoeBlock.route_tokens_to_experts (models/lfm2_moe/modular_lfm2_moe.py): the
 * gate's logits in the hidden dtype, their sigmoid (keeping its output), the experts chosen on
 * it plus the fp32 expert_bias where use_expert_bias (a transient fp32 copy; no gradient
 * reaches the choice), the chosen sigmoids gathered (GatherBackward0 keeps the int64 indices:
 * the memory of ops.topk; without the bias top-k of the sigmoid, the same), divided by their
 * sum where norm_topk_prob, times routed_scaling_factor. */
function biasedSigmoidRouting(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  routing: ExpertRouting,
): RouterOutput {
  const { logits, weights } = biasedSigmoidChoice(nn, x, w, routing, false);
  const scaled = nn.ops.unary(weights); // * routed_scaling_factor
  nn.rt.drop(weights);
  return { logits, weights: scaled };
}

/** The biased-sigmoid choice: the logits in the router weight's dtype, their sigmoid (of an
 * fp32 copy where `fp32`, MiniMaxM2TopKRouter's `router_logits.float()`), kept by
 * SigmoidBackward0; top-k of it plus the bias; the chosen sigmoids gathered and divided by their
 * sum where the router normalises. */
function biasedSigmoidChoice(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  routing: ExpertRouting,
  fp32: boolean,
): RouterOutput {
  const { ops, rt } = nn;
  const logits = nn.linear(x, w.linears.get('router')!);
  const input = fp32 ? ops.to(logits, FP32) : logits;
  const scores = ops.unarySavingOutput(input);
  if (input !== logits) rt.drop(input);
  if (routing.biased) {
    const biased = rt.tensor(scores.rows, scores.cols, FP32, false); // scores + expert_bias
    rt.drop(rt.tensor(scores.rows, routing.topK, FP32, false), biased); // topk's values, `_`
  }
  const gathered = ops.topk(scores, routing.topK);
  rt.drop(scores);
  return { logits, weights: dividedBySum(nn, gathered, routing) };
}

/** Each router kind's code (MoeConfig.router). */
export const ROUTERS: Record<RouterKind, Router> = {
  softmax: softmaxRouting,
  'top-k-softmax': topKSoftmaxRouting,
  'fp32-softmax': deepseekV2Routing,
  'grouped-sigmoid': deepseekRouting,
  'top-k-sigmoid': topKSigmoidRouting,
  'biased-softmax': biasedSoftmaxRouting,
  'fp32-gate-softmax': fp32GateRouting,
  'top-k-gating': topKGatingRouting,
  'biased-sigmoid': biasedSigmoidRouting,
  'fp32-biased-sigmoid': (nn, x, w, routing) => biasedSigmoidChoice(nn, x, w, routing, true),
};
