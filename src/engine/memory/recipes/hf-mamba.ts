// State-space layers as Hugging Face runs them on CUDA with mamba_ssm and causal_conv1d
// installed (the cuda_kernels_forward paths; the Python slow path, which keeps per-step states,
// is what runs without them): Mamba-1 (models/mamba/modeling_mamba.py MambaBlock, MambaMixer
// -> mamba_ssm/ops/selective_scan_interface.py MambaInnerFn), Mamba-2 (models/mamba2/
// modeling_mamba2.py Mamba2Mixer -> mamba_ssm/ops/triton/ssd_combined.py
// MambaSplitConv1dScanCombinedFn) and Jamba's mixer (models/jamba/modeling_jamba.py
// JambaMambaMixer: causal_conv1d_fn, x_proj, dt/B/C RMSNorms, dt_proj, selective_scan_fn).
import { Nn } from '../autograd/nn';
import { FP32 } from '../autograd/ops';
import { Param, Tensor } from '../autograd/runtime';
import { ModelArchitecture, SsmConfig } from '../../vocabulary';
import { layerKind } from '../../model/layers';
import { LayerWeights } from '../model/rank-model';
import { feedForwardHalf, hfLlamaRecipe, linear, LLAMA, LlamaVariant } from './hf-llama';
import { llamaLayersWithMixer } from './hybrid-layers';
import { addMoeWeights } from './hf-moe';
import { isMoeLayer } from '../../model/layers';
import { ssmConvChannels, ssmInProjectionWidth } from '../../model/parameters';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';
import { AttentionPlan, AttentionRequest, hfAttentionPlan } from './attention-kernel';

/** A custom autograd Function over `inputs` (the first gives the output's rows): `out`
 * computed inside (no graph within), `saved` kept for its backward, which gives each input and
 * each parameter it read (passed in as a weight tensor) one gradient of its shape. */
function customFunction(
  nn: Nn,
  inputs: Tensor[],
  outCols: number,
  saved: Tensor[],
  params: Param[] = [],
): Tensor {
  const { ops, rt } = nn;
  const weights = params.map((p) => ops.weight(p, 1, p.elements));
  const all = [...inputs, ...weights];
  const out = ops.empty(
    inputs[0],
    all.some((t) => t.requiresGrad),
    outCols,
  );
  rt.record(all, [out], saved, () => all.forEach((t) => ops.give(t, () => ops.gradOf(t))));
  rt.drop(...weights);
  return out;
}

/** The named parameters of a layer: its own tensors and its linears' weights and biases. */
export function paramsNamed(w: LayerWeights, names: string[]): Param[] {
  const found: Param[] = [];
  for (const name of names) {
    const other = w.other.find((p) => p.name === name);
    if (other) found.push(other);
    const linearParams = w.linears.get(name);
    if (linearParams)
      found.push(linearParams.weight, ...(linearParams.bias ? [linearParams.bias] : []));
  }
  return found;
}

// The linears a fused Function takes by weight (mamba_inner_fn's x_proj_weight,
// delta_proj_weight and out_proj_weight; mamba_split_conv1d_scan_combined's outproj_weight):
// their modules are never called, so LoRA adapters PEFT wraps around them stay out of the graph.
const MAMBA1_KERNEL_LINEARS = ['x_proj', 'dt_proj', 'out_proj'];
const MAMBA2_KERNEL_LINEARS = ['out_proj'];
// What each fused Function reads besides its input (MambaInnerFn, the combined Mamba-2
// kernel, Jamba's CausalConv1dFn and SelectiveScanFn).
const MAMBA1_FN = ['conv1d.weight', 'conv1d.bias', ...MAMBA1_KERNEL_LINEARS, 'A_log', 'D'];
const MAMBA2_FN = [
  'conv1d.weight',
  'conv1d.bias',
  'dt_bias',
  'A_log',
  'D',
  'norm.weight',
  ...MAMBA2_KERNEL_LINEARS,
];

/** The linears a layer recipe's fused Mamba-2 kernel reads by weight. */
export const mamba2KernelLinears = { kernelLinears: MAMBA2_KERNEL_LINEARS };
const JAMBA_CONV_FN = ['conv1d.weight', 'conv1d.bias'];
const JAMBA_SCAN_FN = ['A_log', 'D'];

/** MambaMixer.cuda_kernels_forward in training: in_proj, then MambaInnerFn (checkpoint_lvl 1:
 * conv1d_out and delta recomputed in backward), which keeps xz made contiguous (b, 2 d_inner,
 * L), x_dbl (dt_rank + 2N per token), B and C as contiguous (b, 1, N, L) copies, the scan's fp32
 * intermediates (b, d_inner, ceil(L / 2048), 2N) and the scan output; out_proj runs inside. */
function mamba1Mixer(nn: Nn, x: Tensor, w: LayerWeights, ssm: SsmConfig, keys: number): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const projected = nn.linear(x, linear(w, 'in_proj'));
    const xz = ops.unary(projected); // .transpose(1, 2) then xz.contiguous() in MambaInnerFn
    rt.drop(projected);
    const rows = xz.rows;
    const inner = ssm.innerSize / innerRanks(w, ssm);
    const xDbl = rt.tensor(rows, ssm.dtRank + 2 * ssm.stateSize, xz.elementBytes, false);
    const b = rt.tensor(rows, ssm.stateSize, xz.elementBytes, false);
    const c = rt.tensor(rows, ssm.stateSize, xz.elementBytes, false);
    const chunks = Math.ceil(keys / SCAN_CHUNK);
    const states = rt.tensor((rows / keys) * chunks, inner * 2 * ssm.stateSize, FP32, false);
    const scanOut = rt.tensor(rows, inner, xz.elementBytes, false);
    const saved = [xz, xDbl, b, c, states, scanOut];
    const out = customFunction(nn, [xz], x.cols, saved, paramsNamed(w, MAMBA1_FN));
    rt.drop(xDbl, b, c, states, scanOut);
    return out;
  });
}

// selective_scan: one fp32 state per 2048 positions (selective_scan_fwd_kernel kChunkSize).
const SCAN_CHUNK = 2048;

/** The tensor-parallel ranks a mixer's d_inner is split over: in_proj is column-parallel, and
 * each rank scans its share of the heads and groups (Megatron-Core ssm/mamba_mixer.py
 * d_inner_local, nheads_local, ngroups_local), so its local width against the whole one. */
function innerRanks(w: LayerWeights, ssm: SsmConfig): number {
  return Math.round(ssmInProjectionWidth(ssm) / linear(w, 'in_proj').outFeatures);
}

/** Mamba2Mixer.cuda_kernels_forward in training: in_proj (z, xBC, dt), then the combined
 * kernel. */
export function mamba2Mixer(nn: Nn, x: Tensor, w: LayerWeights, ssm: SsmConfig): Tensor {
  return nn.rt.scope(() => {
    const projected = nn.linear(x, linear(w, 'in_proj'));
    return mamba2Kernel(nn, projected, w, ssm);
  });
}

/** mamba_split_conv1d_scan_combined (ssd_combined.py MambaSplitConv1dScanCombinedFn) over the
 * projected z, xBC and dt: it keeps them, the scan output before its gate (out_x) and, with its
 * gated RMSNorm, the norm's fp32 rstd; the chunk states are recomputed in backward, and
 * out_proj runs inside, so the output is out_proj's. */
export function mamba2Kernel(nn: Nn, projected: Tensor, w: LayerWeights, ssm: SsmConfig): Tensor {
  const { rt } = nn;
  const rows = projected.rows;
  const ranks = innerRanks(w, ssm);
  const scanOut = rt.tensor(rows, ssm.innerSize / ranks, projected.elementBytes, false);
  const groups = ssm.groups / ranks; // the gated norm's rstd: one per group of a token
  const rstd = ssm.gatedNorm === false ? [] : [rt.tensor(rows, groups, FP32, false)];
  const saved = [projected, scanOut, ...rstd];
  const width = linear(w, 'out_proj').outFeatures;
  const out = customFunction(nn, [projected], width, saved, paramsNamed(w, MAMBA2_FN));
  rt.drop(scanOut, ...rstd);
  return out;
}

/** JambaMambaMixer.cuda_kernels_forward: in_proj split into x and the gate (views);
 * causal_conv1d_fn keeps x; x_proj, dt/B/C RMSNorms, dt_proj without its bias; selective_scan_fn
 * keeps u, delta, B, C, the gate, its fp32 intermediates and output; out_proj on the transpose. */
function jambaMixer(nn: Nn, x: Tensor, w: LayerWeights, ssm: SsmConfig, keys: number): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const projected = nn.linear(x, linear(w, 'in_proj'));
    const [hidden, gate] = ops.split(projected, 2);
    const inner = hidden.cols; // this rank's share of d_inner
    const conv = customFunction(nn, [hidden], inner, [hidden], paramsNamed(w, JAMBA_CONV_FN));
    const parameters = nn.linear(conv, linear(w, 'x_proj'));
    const [dt, b, c] = [ssm.dtRank, ssm.stateSize, ssm.stateSize].map((cols, i) =>
      nn.rmsNorm(ops.slice(parameters, cols), w.norms.get(INNER_NORMS[i])!),
    );
    const delta = nn.linear(dt, linear(w, 'dt_proj'));
    const rows = conv.rows;
    const chunks = (rows / keys) * Math.ceil(keys / SCAN_CHUNK);
    const states = rt.tensor(chunks, inner * 2 * ssm.stateSize, FP32, false);
    const scanned = rt.tensor(rows, inner, conv.elementBytes, false);
    const saved = [conv, delta, b, c, gate, states, scanned];
    const inputs = [conv, delta, b, c, gate];
    const gated = customFunction(nn, inputs, inner, saved, paramsNamed(w, JAMBA_SCAN_FN));
    rt.drop(states, scanned);
    const contiguous = ops.unary(gated); // scan_outputs.transpose(1, 2) into out_proj's matmul
    return nn.linear(contiguous, linear(w, 'out_proj'));
  });
}

const INNER_NORMS = ['dt_layernorm', 'b_layernorm', 'c_layernorm'];

/** MambaBlock / Mamba2Block: the residual kept in fp32 (residual_in_fp32), the input cast to
 * the norm's dtype, MambaRMSNorm (Llama's), the mixer, residual + mixer output in fp32. */
function mambaBlock(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, ssm: SsmConfig) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const norm = w.norms.get('norm')!;
    const cast = ops.to(x, norm.storedBytes); // hidden_states.to(dtype=self.norm.weight.dtype)
    const normed = nn.rmsNorm(cast, norm);
    rt.drop(cast);
    const mixed =
      ssm.version === 2
        ? mamba2Mixer(nn, normed, w, ssm)
        : mamba1Mixer(nn, normed, w, ssm, inputs.keys);
    rt.drop(normed);
    const residual = ops.to(x, FP32); // residual.to(torch.float32)
    return ops.add(residual, mixed);
  });
}

/** A Mamba layer's parameters in __init__ order (MambaMixer: conv1d, in_proj, x_proj, dt_proj,
 * A_log, D, out_proj; Mamba2Mixer: conv1d, in_proj, dt_bias, A_log, D, norm, out_proj), with
 * element counts as model/parameters.ts ssmExtraElements counts them, each rank's share of
 * d_inner, heads and groups under tensor parallelism (Megatron-Core's MambaMixer shards its
 * conv1d, dt_bias, A_log, D and norm with them). */
export function addSsmWeights(builder: LayerWeightsBuilder, ssm: SsmConfig, ranks: number): void {
  const convDim = ssmConvChannels(ssm) / ranks;
  const inner = ssm.innerSize / ranks;
  builder.other('conv1d.weight', convDim * ssm.convKernel);
  if (ssm.convBias) builder.other('conv1d.bias', convDim);
  builder.linears('in_proj', 'x_proj', 'dt_proj');
  if (ssm.version === 2) {
    const heads = ssm.heads / ranks;
    builder.other('dt_bias', heads).other('A_log', heads).other('D', heads);
    if (ssm.gatedNorm !== false) builder.other('norm.weight', inner);
  } else {
    builder.other('A_log', inner * ssm.stateSize).other('D', inner);
  }
  if (ssm.innerNorms) {
    builder.norm('dt_layernorm', ssm.dtRank, false);
    builder.norm('b_layernorm', ssm.stateSize, false).norm('c_layernorm', ssm.stateSize, false);
  }
  builder.linears('out_proj');
}

function mambaWeights(context: WeightContext, layer: number): LayerWeights {
  const builder = new LayerWeightsBuilder(context, layer);
  addSsmWeights(builder, context.arch.ssm!, context.tensorParallel);
  return builder.norm('norm', context.arch.hiddenSize).build();
}

export const MAMBA_NOTE =
  'state-space layers planned as Hugging Face runs them with the mamba_ssm and causal_conv1d CUDA kernels installed (fused scan, states recomputed in backward); without them the Python slow path keeps per-step states and needs far more';

/** Hugging Face's attention rules for any attention layers, and the kernels assumption. */
export function withSsmNote(request: AttentionRequest): AttentionPlan {
  const plan = hfAttentionPlan(request);
  return { ...plan, notes: [...plan.notes, MAMBA_NOTE] };
}

export function hfMambaRecipe(arch: ModelArchitecture): LayerRecipe {
  const ssm = arch.ssm!;
  return {
    source:
      ssm.version === 2
        ? 'transformers models/mamba2/modeling_mamba2.py (Mamba2Block)'
        : 'transformers models/mamba/modeling_mamba.py (MambaBlock)',
    weights: mambaWeights,
    forward: (nn, x, weights, inputs) => mambaBlock(nn, x, weights, inputs, ssm),
    kernelLinears: ssm.version === 2 ? MAMBA2_KERNEL_LINEARS : MAMBA1_KERNEL_LINEARS,
    attention: withSsmNote,
    ends: { finalNorm: 'rms' },
  };
}

/** JambaMambaDecoderLayer: input_layernorm, the mixer, residual; pre_ff_layernorm, the MLP or
 * sparse MoE block, residual. Attention layers are JambaAttentionDecoderLayer: Llama's without
 * rotary embeddings. */
function jambaMambaLayer(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, ssm: SsmConfig) {
  return nn.rt.scope(() => {
    const { rt } = nn;
    const normed = nn.rmsNorm(x, w.norms.get('input_layernorm')!);
    const mixed = jambaMixer(nn, normed, w, ssm, inputs.keys);
    rt.drop(normed);
    return feedForwardHalf(nn, x, mixed, w, inputs);
  });
}

export function hfJambaRecipe(arch: ModelArchitecture): LayerRecipe {
  const ssm = arch.ssm!;
  const isMamba = (layer: number) => layerKind(arch, layer).mixer === 'mamba';
  const attentionLayers = hfLlamaRecipe({ ...LLAMA, ropeFor: () => false });
  return {
    source:
      'transformers models/jamba/modeling_jamba.py (JambaMambaDecoderLayer, JambaAttentionDecoderLayer)',
    weights(context, layer) {
      if (!isMamba(layer)) return attentionLayers.weights(context, layer);
      const builder = new LayerWeightsBuilder(context, layer);
      addSsmWeights(builder, ssm, context.tensorParallel);
      if (arch.moe && isMoeLayer(arch, layer)) addMoeWeights(builder, context, arch.moe);
      else builder.linears('gate_proj', 'up_proj', 'down_proj');
      const h = arch.hiddenSize;
      return builder.norm('input_layernorm', h).norm('post_attention_layernorm', h).build();
    },
    attention: withSsmNote,
    forward: (nn, x, weights, inputs) =>
      isMamba(weights.index)
        ? jambaMambaLayer(nn, x, weights, inputs, ssm)
        : attentionLayers.forward(nn, x, weights, inputs),
  };
}

/** Llama's decoder layer with BambaMixer (Mamba2Mixer's fused training kernel, models/bamba/
 * modeling_bamba.py) in place of attention on the `mamba` layers, the attention layer of
 * `variant` on the others: BambaDecoderLayer (input_layernorm, the mixer, residual;
 * pre_ff_layernorm, LlamaMLP, residual) and GraniteMoeHybridDecoderLayer (models/
 * granitemoehybrid/modular_granitemoehybrid.py: the same with each output scaled, and the
 * sparse block plus the shared MLP, or the shared MLP alone). */
export function hfMamba2HybridRecipe(
  arch: ModelArchitecture,
  variant: LlamaVariant,
  source: string,
): LayerRecipe {
  const ssm = arch.ssm!;
  const recipe = llamaLayersWithMixer(arch, variant, source, {
    runs: (layer) => layerKind(arch, layer).mixer === 'mamba2',
    addWeights: (builder, context) => addSsmWeights(builder, ssm, context.tensorParallel),
    forward: (nn, x, w) => mamba2Mixer(nn, x, w, ssm),
  });
  return { ...recipe, ...mamba2KernelLinears, attention: withSsmNote };
}
