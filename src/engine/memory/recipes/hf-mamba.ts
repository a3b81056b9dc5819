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

/** The weights a fused kernel runs as matmuls, as it receives them: under autocast, fp32 ones
 * cast by `.to(torch.get_autocast_gpu_dtype())` inside its forward (MambaInnerFn's x_proj,
 * delta_proj and out_proj weights and out_proj's bias; the combined Mamba-2 kernel's outproj):
 * new tensors outside autocast's cast cache, which ctx.save_for_backward keeps until the layer's
 * backward; their gradients reach the parameters through the cast. Otherwise the parameters. */
function kernelMatmulWeights(nn: Nn, params: Param[]): Tensor[] {
  const { ops, rt, precision } = nn;
  return params.map((param) => {
    const stored = ops.weight(param, 1, param.elements);
    if (!precision.autocast) return stored;
    const cast = ops.to(stored, precision.matmul);
    rt.drop(stored);
    return cast;
  });
}

/** `-torch.exp(self.A_log.float())`: the fp32 copy of a 16-bit A_log, exp (ExpBackward0 keeps
 * its output) and the negation, which the kernel keeps as its A; made from the parameter alone,
 * it counts with the weights. */
function stateMatrix(nn: Nn, w: LayerWeights): Tensor {
  const { ops, rt } = nn;
  const param = paramsNamed(w, ['A_log'])[0];
  const stored = ops.weight(param, 1, param.elements);
  const float = ops.to(stored, FP32);
  const exp = ops.unarySavingOutput(float);
  rt.drop(stored, float);
  const negated = ops.unary(exp);
  rt.drop(exp);
  return negated;
}

/** What a fused kernel reads: the weights it runs as matmuls (kernelMatmulWeights), and the rest
 * as they are (D.float() and the dt bias's .float() are the parameters themselves in fp32; the
 * d_inner-long copies 16-bit weights get are left out). */
interface KernelParams {
  matmuls: Param[];
  params: Param[];
}

/** A fused Mamba kernel's Function: A computed as its argument, the weights cast as its forward
 * begins, then what `run` makes inside (the tensors it keeps, and the transients freed as it
 * returns); it keeps those, the weights it received and A. */
function ssmKernel(
  nn: Nn,
  outCols: number,
  kernel: KernelParams,
  w: LayerWeights,
  run: () => { input: Tensor; saved: Tensor[]; transient: Tensor[] },
): Tensor {
  const a = stateMatrix(nn, w);
  const weights = kernelMatmulWeights(nn, kernel.matmuls);
  const { input, saved, transient } = run();
  const read = [...weights, a];
  const out = customFunction(nn, [input, ...read], outCols, [...saved, ...read], kernel.params);
  nn.rt.drop(...read, ...transient, ...saved.filter((t) => t !== input));
  return out;
}

/** FalconMamba's MambaInnerFn (transformers kernels/falcon_mamba/
 * selective_scan_with_ln_interface.py) on dt, B or C: rearranged to ((b l), d) .contiguous()
 * (a copy), rms_norm_forward (_layer_norm_fwd's output; its fp32 rstd per row dropped), and
 * rearranged back .contiguous() (a copy), each step freeing the one before. */
function normalisedInKernel(nn: Nn, t: Tensor): Tensor {
  const { rt } = nn;
  const copy = () => rt.tensor(t.rows, t.cols, t.elementBytes, false);
  const rows = copy();
  rt.drop(t);
  const normed = copy();
  rt.drop(rt.tensor(t.rows, 1, FP32, false), rows); // rstd
  const back = copy();
  rt.drop(normed);
  return back;
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
// What each fused Function reads besides its input (the combined Mamba-2 kernel, Jamba's
// CausalConv1dFn and SelectiveScanFn).
// (A_log reaches them as A, and the matmul weights as kernelMatmulWeights gives them.)
const MAMBA2_FN = ['conv1d.weight', 'conv1d.bias', 'dt_bias', 'D', 'norm.weight'];

/** The linears a layer recipe's fused Mamba-2 kernel reads by weight. */
export const mamba2KernelLinears = { kernelLinears: MAMBA2_KERNEL_LINEARS };
const JAMBA_CONV_FN = ['conv1d.weight', 'conv1d.bias'];
const JAMBA_SCAN_FN = ['D']; // A_log reaches SelectiveScanFn as A (stateMatrix)

/** MambaMixer.cuda_kernels_forward in training: in_proj (its output held through the transposed
 * local `projected_states` until the mixer returns), then MambaInnerFn (mamba_ssm
 * selective_scan_interface.py; checkpoint_lvl 1: conv1d_out and delta recomputed in backward).
 * It makes xz contiguous (b, 2 d_inner, L), conv1d_out, x_dbl (dt_rank + 2N per token), delta,
 * B and C as contiguous (b, 1, N, L) copies (FalconMamba normalises delta, B and C there), the
 * scan's output, fp32 intermediates (b, d_inner, ceil(L / 2048), 2N) and gated output out_z,
 * and runs out_proj inside; it keeps xz, x_dbl, B, C, the intermediates and the scan output. */
function mamba1Mixer(nn: Nn, x: Tensor, w: LayerWeights, ssm: SsmConfig, keys: number): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const projected = nn.linear(x, linear(w, 'in_proj'));
    const rows = projected.rows;
    const inner = ssm.innerSize / innerRanks(w, ssm);
    const deltaBias = linear(w, 'dt_proj').bias; // delta_bias=self.dt_proj.bias.float()
    const kernel = {
      // x_proj_weight, delta_proj_weight, out_proj_weight (and out_proj's bias)
      matmuls: paramsNamed(w, MAMBA1_KERNEL_LINEARS).filter((p) => p !== deltaBias),
      params: [
        ...paramsNamed(w, ['conv1d.weight', 'conv1d.bias', 'D']),
        ...(deltaBias ? [deltaBias] : []),
      ],
    };
    return ssmKernel(nn, x.cols, kernel, w, () => {
      const xz = ops.unary(projected); // xz.contiguous()
      const made = (cols: number) => rt.tensor(rows, cols, xz.elementBytes, false);
      const conv = made(inner); // causal_conv1d_fwd
      const xDbl = made(ssm.dtRank + 2 * ssm.stateSize); // F.linear(conv1d_out, x_proj_weight)
      let scanInputs = [made(inner), made(ssm.stateSize), made(ssm.stateSize)]; // delta, B, C
      if (ssm.kernelNorms) scanInputs = scanInputs.map((t) => normalisedInKernel(nn, t));
      const [delta, b, c] = scanInputs;
      const chunks = (rows / keys) * Math.ceil(keys / SCAN_CHUNK);
      const states = rt.tensor(chunks, inner * 2 * ssm.stateSize, FP32, false);
      const scanOut = made(inner);
      const gated = made(inner); // out_z, into F.linear with out_proj
      const saved = [xz, xDbl, b, c, states, scanOut];
      return { input: xz, saved, transient: [conv, delta, gated] };
    });
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
  const width = linear(w, 'out_proj').outFeatures;
  const kernel = {
    matmuls: paramsNamed(w, MAMBA2_KERNEL_LINEARS),
    params: paramsNamed(w, MAMBA2_FN),
  };
  return ssmKernel(nn, width, kernel, w, () => {
    const scanOut = rt.tensor(rows, ssm.innerSize / ranks, projected.elementBytes, false);
    const groups = ssm.groups / ranks; // the gated norm's rstd: one per group of a token
    const rstd = ssm.gatedNorm === false ? [] : [rt.tensor(rows, groups, FP32, false)];
    return { input: projected, saved: [projected, scanOut, ...rstd], transient: [] };
  });
}

/** JambaMambaMixer.cuda_kernels_forward: in_proj split into x and the gate (views);
 * causal_conv1d_fn keeps x; x_proj, dt/B/C RMSNorms, dt_proj without its bias; selective_scan_fn
 * keeps u, delta, A, B, C, the gate, its fp32 intermediates and output; out_proj on the
 * transpose. */
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
    const a = stateMatrix(nn, w); // A = -torch.exp(self.A_log.float()), a local
    const rows = conv.rows;
    const chunks = (rows / keys) * Math.ceil(keys / SCAN_CHUNK);
    const states = rt.tensor(chunks, inner * 2 * ssm.stateSize, FP32, false);
    const scanned = rt.tensor(rows, inner, conv.elementBytes, false);
    const saved = [conv, delta, a, b, c, gate, states, scanned];
    const inputs = [conv, delta, a, b, c, gate];
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

function mambaSource(arch: ModelArchitecture): string {
  if (arch.ssm!.version === 2) return 'transformers models/mamba2/modeling_mamba2.py (Mamba2Block)';
  return arch.ssm!.kernelNorms
    ? 'transformers models/falcon_mamba/modeling_falcon_mamba.py (FalconMambaBlock)'
    : 'transformers models/mamba/modeling_mamba.py (MambaBlock)';
}

export function hfMambaRecipe(arch: ModelArchitecture): LayerRecipe {
  const ssm = arch.ssm!;
  return {
    source: mambaSource(arch),
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
