// A mixture-of-experts MLP as Hugging Face's v5 model code runs it (transformers
// models/mixtral/modeling_mixtral.py MixtralSparseMoeBlock, MixtralExperts; Qwen2-MoE and
// Qwen3-MoE add a shared expert): the router (hf-moe-routers.ts: the model's own), then the
// experts over the tokens routed to them through grouped matmuls of their 3-D parameters, or,
// in Llama-4's block, every expert over every token.
import { MoeConfig, RouterKind } from '../../vocabulary';
import { Nn } from '../autograd/nn';
import { FP32, INT64 } from '../autograd/ops';
import { Param, Tensor } from '../autograd/runtime';
import { baseModelBytes, baseParam, expertParam, LayerWeights } from '../model/rank-model';
import { ROUTERS } from './hf-moe-routers';
import { LayerWeightsBuilder, WeightContext } from './recipe';

/** How a family's experts differ from Mixtral's. */
export interface ExpertStyle {
  /** gpt-oss (modeling_gpt_oss.py GptOssExperts): gate and up clamped, gate * sigmoid(alpha *
   * gate), (up + 1) * glu, each its own tensor, and biases on both projections. */
  clampedGlu: boolean;
  /** JetMoE's and Granite-MoE's JetMoeParallelExperts: each expert's F.linear on its slice of
   * the 3-D weight, joined by torch.cat, instead of v5's grouped matmul (parallelExperts). */
  parallelExperts?: boolean;
  /** Experts without a gate (NemotronHExperts, use_experts_implementation(has_gate=False)):
   * up_proj, this activation, down_proj; the shared expert likewise. */
  ungated?: (nn: Nn, up: Tensor) => Tensor;
}

export const MIXTRAL_EXPERTS: ExpertStyle = { clampedGlu: false };

/** GraniteMoeMoE's experts (models/granitemoe/modular_granitemoe.py). */
export const PARALLEL_EXPERTS: ExpertStyle = { clampedGlu: false, parallelExperts: true };

export interface ExpertRouting {
  /** Experts each token goes to. */
  topK: number;
  /** Routed experts on this rank. */
  experts: number;
  /** Tokens each expert computes: tokens x top-k / experts with balanced routing, times the
   * imbalance of the most-loaded expert. */
  tokensPerExpert: number;
  /** How the router weighs the experts (MoeConfig.router). */
  router: RouterKind;
  /** Whether the top-k weights are divided by their sum (MoeConfig.renormalize). */
  renormalize: boolean;
  /** Every expert computes every token (MoeConfig.denseExperts: Llama4TextMoe). */
  denseExperts: boolean;
  /** The shared expert runs first (MoeConfig.sharedExpertFirst). */
  sharedFirst: boolean;
  /** The router adds a bias to its scores to choose the experts (MoeConfig.routerBias). */
  biased: boolean;
}

/** QLoRA on a mixture of experts: bitsandbytes converts nn.Linear modules only, and v5's fused
 * 3-D experts are parameters, so they load and stay in 16 bits (bitsandbytes issue #1849). */
export const UNQUANTIZED_EXPERTS_NOTE =
  "QLoRA quantizes the attention and shared linears only: the routed experts are transformers v5's fused 3-D parameters, which bitsandbytes' 4-bit conversion skips, so they stay 16-bit (bitsandbytes issue #1849)";

/** The router and the experts' 3-D weights (gate_up_proj E x 2f x h, down_proj E x h x f;
 * up_proj E x f x h for experts of a plain MLP, as parameters.ts counts them), and a shared
 * expert's MLP where the model has one. */
export function addMoeWeights(
  builder: LayerWeightsBuilder,
  context: WeightContext,
  moe: MoeConfig,
) {
  const { arch, storage, tensorParallel: t, expertParallel } = context;
  const experts = Math.ceil(moe.numExperts / expertParallel);
  const f = moe.expertIntermediateSize / t;
  const h = moe.latentSize ?? arch.hiddenSize; // the experts' input and output width
  builder.linears('router');
  // ERNIE 4.5 keeps its router's weight in fp32 (_keep_in_fp32_modules_strict).
  if (moe.routerWeightFp32) builder.storedIn('router', FP32);
  // DeepseekV3TopkRouter registers e_score_correction_bias as a buffer (no gradient, no
  // optimizer state), loaded in the model's dtype (fp32 where Glm4MoeTopkRouter registers it
  // so); Qwen2-MoE's shared_expert_gate (h -> 1).
  if (moe.routerBias) {
    const bytes = moe.routerBiasFp32 ? FP32 : baseModelBytes(storage);
    builder.buffer('router.e_score_correction_bias', moe.numExperts, bytes);
  }
  if (moe.sharedExpertGate) builder.other('shared_expert_gate', h);
  const routed = [
    arch.mlp === 'plain'
      ? baseParam(storage, 'experts.up_proj', experts * f * h)
      : baseParam(storage, 'experts.gate_up_proj', experts * 2 * f * h),
    baseParam(storage, 'experts.down_proj', experts * h * f),
  ];
  if (moe.expertBias) {
    routed.push(baseParam(storage, 'experts.gate_up_proj_bias', experts * 2 * f));
    routed.push(baseParam(storage, 'experts.down_proj_bias', experts * h));
  }
  for (const param of routed) builder.param(expertParam(param));
  if (moe.sharedExperts > 0) {
    builder.linears(
      'shared_experts.gate_proj',
      'shared_experts.up_proj',
      'shared_experts.down_proj',
    );
  }
  builder.linears('fc1_latent_proj', 'fc2_latent_proj');
}

/** The experts' first 3-D weight (gate_up_proj, or an ungated expert's up_proj) and down_proj. */
function expertParams(w: LayerWeights): [Param, Param] {
  const find = (name: string) => w.other.find((p) => p.name === name);
  return [(find('experts.gate_up_proj') ?? find('experts.up_proj'))!, find('experts.down_proj')!];
}

/** The experts' 3-D weights, the (token, expert) pairs this rank computes and the width of
 * each expert's first linear (2f with a gate, f without): what both routed layouts (grouped
 * matmuls, parallel experts) start from. */
function routedShapes(x: Tensor, w: LayerWeights, routing: ExpertRouting) {
  const [gateUpParam, downParam] = expertParams(w);
  const pairs = Math.min(routing.experts * routing.tokensPerExpert, x.rows * routing.topK);
  const firstWidth = gateUpParam.elements / routing.experts / x.cols;
  return { gateUpParam, downParam, pairs, firstWidth };
}

/** A sparse MoE block (MixtralSparseMoeBlock.forward, DeepseekV3MoE.forward): the router's
 * weights, the experts, then any shared expert added. */
export function moeMlp(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  routing: ExpertRouting,
  style: ExpertStyle = MIXTRAL_EXPERTS,
): Tensor {
  return nn.rt.scope(() => {
    // HunYuan's and ERNIE 4.5's blocks: shared_output = self.shared_experts(hidden_states) first.
    const early = routing.sharedFirst ? sharedMlp(nn, x, w, style) : undefined;
    const { logits, weights } = ROUTERS[routing.router](nn, x, w, routing);
    if (routing.denseExperts) return everyExpertBlock(nn, x, w, weights, routing, style);
    const routed = style.parallelExperts ? parallelExperts : experts;
    const out = latent(nn, x, w, (input) => routed(nn, input, w, weights, routing, style));
    nn.rt.drop(logits, weights);
    if (!early) return sharedExpert(nn, x, w, out, style);
    const sum = nn.ops.add(out, early); // final_hidden_states + shared_output
    nn.rt.drop(out, early);
    return sum;
  });
}

/** The routed experts over `x`, or, where the block has latent projections (NemotronHMoE's
 * moe_latent_size), over fc1_latent_proj(x), their output brought back by fc2_latent_proj. */
function latent(nn: Nn, x: Tensor, w: LayerWeights, routed: (input: Tensor) => Tensor): Tensor {
  const down = w.linears.get('fc1_latent_proj');
  if (!down) return routed(x);
  return nn.rt.scope(() => {
    const narrow = nn.linear(x, down);
    const out = routed(narrow);
    nn.rt.drop(narrow);
    const wide = nn.linear(out, w.linears.get('fc2_latent_proj')!);
    nn.rt.drop(out);
    return wide;
  });
}

/** Llama4TextMoe.forward (models/llama4/modeling_llama4.py): the experts' output over every
 * (expert, token) row, then the shared expert, then out.add_(routed_out.reshape(E, T, h)
 * .sum(dim=0)): routed_out and the router's scores and logits are locals held until the block
 * returns, and the sum is added in place. */
function everyExpertBlock(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  weights: Tensor,
  routing: ExpertRouting,
  style: ExpertStyle,
): Tensor {
  const { ops, rt } = nn;
  const routedOut = everyExpert(nn, x, w, weights, routing, style);
  const shared = sharedMlp(nn, x, w, style);
  const summed = ops.sumRows(routedOut, x.rows);
  if (!shared) return summed;
  const out = ops.addInPlace(shared, summed);
  rt.drop(summed);
  return out;
}

/** routed_in = hidden_states.repeat(E, 1) (RepeatBackward0 keeps nothing and sums the gradient
 * back) times router_scores.transpose(0, 1).reshape(-1, 1) (a contiguous copy), both kept by
 * the product; then Llama4TextExperts.forward: torch.bmm over [E, T, h] through the whole
 * gate_up_proj, chunk, act_fn(gate) * up, torch.bmm through down_proj. Every expert computes
 * every token, whatever the router chose. */
function everyExpert(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  weights: Tensor,
  routing: ExpertRouting,
  style: ExpertStyle,
): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const [gateUpParam, downParam] = expertParams(w);
    const rows = routing.experts * x.rows;
    const h = x.cols;
    const f = gateUpParam.elements / routing.experts / (2 * h);
    const column = ops.gatherRows(weights, rows, 1);
    const repeated = ops.gatherRows(x, rows);
    const routedIn = ops.mul(repeated, column);
    rt.drop(repeated, column);
    const gateUp = groupedLinear(nn, routedIn, gateUpParam, 2 * f);
    rt.drop(routedIn);
    const product = expertActivation(nn, gateUp, style);
    return groupedLinear(nn, product, downParam, h);
  });
}

/** A shared expert's MLP over every token, added to the routed output (Qwen2-MoE
 * shared_expert, DeepSeek-V3 shared_experts). */
function sharedExpert(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  routed: Tensor,
  style: ExpertStyle,
): Tensor {
  return nn.rt.scope(() => {
    const shared = sharedMlp(nn, x, w, style);
    if (!shared) return routed;
    const sum = nn.ops.add(routed, shared);
    nn.rt.drop(routed, shared);
    return sum;
  });
}

/** The shared expert's gated MLP over every token (Qwen2-MoE's gated by shared_expert_gate),
 * an ungated one's (NemotronHMLP: up_proj, the activation, down_proj), or undefined where the
 * block has none. */
function sharedMlp(nn: Nn, x: Tensor, w: LayerWeights, style: ExpertStyle): Tensor | undefined {
  if (style.ungated && w.linears.has('shared_experts.up_proj')) {
    return ungatedMlp(nn, x, w, 'shared_experts.', style.ungated);
  }
  if (!w.linears.has('shared_experts.gate_proj')) return undefined;
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const gate = nn.linear(x, w.linears.get('shared_experts.gate_proj')!);
    const activated = ops.unarySavingInput(gate);
    rt.drop(gate);
    const up = nn.linear(x, w.linears.get('shared_experts.up_proj')!);
    const product = ops.mul(activated, up);
    rt.drop(activated, up);
    const shared = nn.linear(product, w.linears.get('shared_experts.down_proj')!);
    rt.drop(product);
    return gateShared(nn, x, w, shared);
  });
}

/** down_proj(activation(up_proj(x))) of the linears under `prefix`. */
export function ungatedMlp(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  prefix: string,
  activation: (nn: Nn, up: Tensor) => Tensor,
): Tensor {
  return nn.rt.scope(() => {
    const up = nn.linear(x, w.linears.get(`${prefix}up_proj`)!);
    const activated = activation(nn, up);
    nn.rt.drop(up);
    return nn.linear(activated, w.linears.get(`${prefix}down_proj`)!);
  });
}

/** Qwen2MoeSparseMoeBlock: F.sigmoid(self.shared_expert_gate(hidden_states)) *
 * shared_expert_output. Sigmoid keeps its output; the broadcast product keeps both sides, so
 * the shared expert's output stays for backward. */
function gateShared(nn: Nn, x: Tensor, w: LayerWeights, shared: Tensor): Tensor {
  const gate = w.other.find((p) => p.name === 'shared_expert_gate');
  if (!gate) return shared;
  const { ops, rt } = nn;
  const logit = nn.plainLinear(x, { weight: gate, outFeatures: 1 });
  const weight = ops.unarySavingOutput(logit);
  rt.drop(logit);
  const gated = ops.mul(weight, shared);
  rt.drop(weight, shared);
  return gated;
}

/** The activation between the experts' two linears over the first one's [gate, up] output,
 * split into its halves (views) and let go: SiLU(gate) * up, or gpt-oss's clamped GLU; an
 * ungated expert's activation of its up_proj output. */
function expertActivation(nn: Nn, gateUp: Tensor, style: ExpertStyle): Tensor {
  if (style.ungated) {
    const activated = style.ungated(nn, gateUp);
    nn.rt.drop(gateUp);
    return activated;
  }
  const [gate, up] = nn.ops.split(gateUp, 2);
  nn.rt.drop(gateUp);
  const product = gatedProduct(nn, gate, up, style);
  nn.rt.drop(gate, up);
  return product;
}

function gatedProduct(nn: Nn, gate: Tensor, up: Tensor, style: ExpertStyle): Tensor {
  const { ops, rt } = nn;
  if (!style.clampedGlu) {
    const activated = ops.unarySavingInput(gate);
    const product = ops.mul(activated, up);
    rt.drop(activated);
    return product;
  }
  const clampedGate = ops.unarySavingInput(gate); // gate.clamp(max=limit)
  const clampedUp = ops.unarySavingInput(up); // up.clamp(-limit, limit)
  const scaled = ops.unary(clampedGate); // gate * alpha
  const sigmoid = ops.unarySavingOutput(scaled);
  rt.drop(scaled);
  const glu = ops.mul(clampedGate, sigmoid);
  rt.drop(clampedGate, sigmoid);
  const shifted = ops.unary(clampedUp); // up + 1
  rt.drop(clampedUp);
  const product = ops.mul(shifted, glu);
  rt.drop(shifted, glu);
  return product;
}

/** transformers integrations/moe.py grouped_mm_experts_forward, the experts backend of v5 on
 * CUDA (torch._grouped_mm): every (token, expert) pair gathered, then put in expert order, one
 * grouped matmul through all experts' gate_up_proj, the gate, one through down_proj, the
 * sentinel rows zeroed around them, times the routing weights (fp32 where the router left them
 * so), back in token order and summed over the k experts. */
function experts(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  weights: Tensor,
  routing: ExpertRouting,
  style: ExpertStyle,
) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const { gateUpParam, downParam, pairs, firstWidth } = routedShapes(x, w, routing);
    const h = x.cols;
    const sorted = rt.tensor(pairs, 2, 8, false); // torch.argsort: perm and inv_perm (int64)
    const selected = ops.gatherRows(x, pairs); // hidden_states[token_idx]
    const grouped = ops.gatherRows(selected, pairs); // selected_hidden_states[perm]
    rt.drop(selected);
    const pairWeights = ops.gatherRows(weights, pairs, 1); // sample_weights[perm]
    const sentinel = rt.tensor(pairs, 1, 1, false); // expert_ids_g >= num_experts
    const gateUp = maskedGroupedLinear(nn, grouped, gateUpParam, firstWidth, sentinel, true);
    rt.drop(grouped);
    const product = expertActivation(nn, gateUp, style);
    const down = maskedGroupedLinear(nn, product, downParam, h, sentinel, false);
    const weighted = ops.mul(down, pairWeights); // out_per_sample_g * sample_weights_g
    rt.drop(down);
    const unsorted = ops.gatherRows(weighted, pairs); // [inv_perm]
    const summed = ops.sumRows(unsorted, x.rows); // .view(tokens, k, h).sum(dim=1)
    rt.drop(sorted, sentinel);
    return ops.to(summed, x.elementBytes);
  });
}

/** GraniteMoeMoE.forward and the router's tail (JetMoeTopKGating, models/jetmoe/
 * modeling_jetmoe.py): top_k_experts.sort(0) (int64 values, bound to `_`, and indices),
 * batch_index = the indices // k (int64), the gates gathered in expert order (the gather keeps
 * its index), the token rows gathered likewise (keeping batch_index), the experts' first
 * linears, chunk, act(gate) * up, the second linears, times the gates (both in the hidden
 * dtype), then zeros((tokens, h)).index_add(0, batch_index, ...) out of place: a new tensor
 * beside the zeros, a local until the block returns. */
function parallelExperts(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  weights: Tensor,
  routing: ExpertRouting,
  style: ExpertStyle,
) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    // input_linear and output_linear hold what gate_up_proj and down_proj hold
    const {
      gateUpParam: inputParam,
      downParam: outputParam,
      pairs,
      firstWidth,
    } = routedShapes(x, w, routing);
    const h = x.cols;
    const index = () => rt.tensor(pairs, 1, INT64, false);
    rt.drop(index()); // the sorted ids themselves, `_`, replaced when the router returns
    const order = index(); // index_sorted_experts
    const batchIndex = index(); // index_sorted_experts.div(self.top_k, rounding_mode="trunc")
    const gates = ops.gatherRows(weights, pairs, 1, order); // top_k_gates.flatten()[order]
    const rows = ops.gatherRows(x, pairs, h, batchIndex); // layer_input[batch_index]
    const hidden = expertLinears(nn, rows, inputParam, firstWidth);
    rt.drop(rows);
    const product = expertActivation(nn, hidden, style); // hidden_states.chunk(2, dim=-1) first
    const out = expertLinears(nn, product, outputParam, h);
    rt.drop(product);
    const gated = ops.mul(out, gates); // expert_outputs * batch_gates[:, None]
    rt.drop(out, gates);
    const zeros = rt.tensor(x.rows, h, gated.elementBytes, false); // a local until return
    const fresh = rt.tensor(x.rows, h, gated.elementBytes, false); // index_add's copy of zeros
    const summed = ops.indexAdd(fresh, gated);
    rt.drop(fresh, gated, order, batchIndex, zeros);
    return summed;
  });
}

/** JetMoeParallelExperts.forward: inputs.split(expert_size) (views), F.linear(input_list[i],
 * self.weight[i]) for each expert, torch.cat of the outputs: the experts' outputs and their
 * concatenation are live together. Each weight[i] is a select (Ops.sliceRows). Under
 * autocast the slices' casts are not cached (a slice is no leaf) but each is kept by its
 * matmul for backward, as a cached cast of the whole parameter is; the select's whole-size
 * gradient is planned in the cast's dtype. */
function expertLinears(nn: Nn, x: Tensor, param: Param, outFeatures: number): Tensor {
  const { ops, rt } = nn;
  const input = nn.matmulInput(x);
  const whole = nn.weights.matmulWeight(ops, param, param.elements / x.cols, x.cols);
  const slices = ops.sliceRows(whole); // weight[i] for each expert
  rt.drop(whole);
  const parts = ops.linear(input, slices, outFeatures);
  rt.drop(slices);
  if (input !== x) rt.drop(input);
  const joined = ops.cat([parts]);
  rt.drop(parts);
  return joined;
}

/** A grouped matmul with the sentinel rows (padding past the last expert's) zeroed by
 * masked_fill(sentinel, 0) out of place: on the output, and on the input of the first (trace-90,
 * transformers 5.17: each a copy in forward, and MaskedFillBackward0 a copy of the gradient). */
function maskedGroupedLinear(
  nn: Nn,
  x: Tensor,
  param: Param,
  outFeatures: number,
  sentinel: Tensor,
  maskInput: boolean,
): Tensor {
  const { ops, rt } = nn;
  const input = maskInput ? ops.maskedFill(x, sentinel) : x;
  const out = groupedLinear(nn, input, param, outFeatures);
  if (input !== x) rt.drop(input);
  const masked = ops.maskedFill(out, sentinel);
  rt.drop(out);
  return masked;
}

/** _grouped_linear: torch._grouped_mm(input, weight.transpose(-2, -1), offs), saving both; its
 * backward makes the input's gradient and the whole 3-D weight's (derivatives.yaml _grouped_mm). */
function groupedLinear(nn: Nn, x: Tensor, param: Param, outFeatures: number): Tensor {
  const input = nn.matmulInput(x);
  const weight = nn.weights.matmulWeight(nn.ops, param, param.elements / x.cols, x.cols);
  const out = nn.ops.linear(input, weight, outFeatures);
  nn.rt.drop(weight);
  if (input !== x) nn.rt.drop(input);
  return out;
}
