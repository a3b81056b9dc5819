// Nemotron-H's layers as transformers runs them (models/nemotron_h/modeling_nemotron_h.py):
// NemotronHBlock.forward is `residual + mixer(norm(hidden_states.to(norm dtype)))`, the mixer
// being the one module its block type names: NemotronHMamba2Mixer (Mamba2Mixer's fused training
// kernel), NemotronHAttention (Llama's projections and kernel, no rotary embedding), NemotronHMLP
// (up_proj, relu2, down_proj) or NemotronHMoE (DeepSeek-V3's router, experts without a gate, a
// shared NemotronHMLP added after them).
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { ModelArchitecture } from '../../vocabulary';
import { layerKind } from '../../model/layers';
import { LayerWeights } from '../model/rank-model';
import { expertStyleOf, gatedMlp, hfLlamaAttention, LlamaVariant } from './hf-llama';
import { addSsmWeights, mamba2KernelLinears, mamba2Mixer, withSsmNote } from './hf-mamba';
import { addMoeWeights, moeMlp } from './hf-moe';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

/** NemotronHBlock.__init__'s norm, then the module its block type names (MIXER_TYPES). */
function blockWeights(
  arch: ModelArchitecture,
  context: WeightContext,
  layer: number,
): LayerWeights {
  const builder = new LayerWeightsBuilder(context, layer).norm('norm', arch.hiddenSize);
  const kind = layerKind(arch, layer);
  if (kind.mixer === 'mamba2') addSsmWeights(builder, arch.ssm!, context.tensorParallel);
  else if (kind.mixer !== 'none') builder.linears('q_proj', 'k_proj', 'v_proj', 'o_proj');
  else if (kind.mlp === 'moe') addMoeWeights(builder, context, arch.moe!);
  else builder.linears('up_proj', 'down_proj');
  return builder.build();
}

/** The module of the block `w` holds, over the normed input. */
function blockModule(
  nn: Nn,
  arch: ModelArchitecture,
  variant: LlamaVariant,
  x: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
): Tensor {
  if (w.linears.has('in_proj')) return mamba2Mixer(nn, x, w, arch.ssm!);
  if (w.linears.has('q_proj')) return hfLlamaAttention(nn, x, w, inputs, variant);
  if (inputs.routing && w.linears.has('router')) {
    return moeMlp(nn, x, w, inputs.routing, expertStyleOf(variant, w));
  }
  return gatedMlp(nn, x, w, variant);
}

/** NemotronHBlock.forward: the input cast to the norm's dtype (a view where it is already), the
 * RMSNorm (Llama's: weight * normed.to(input dtype)), the block's module, the residual add. */
function nemotronHBlock(nn: Nn, x: Tensor, w: LayerWeights, module: (h: Tensor) => Tensor) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const norm = w.norms.get('norm')!;
    const cast = ops.to(x, norm.storedBytes);
    const normed = nn.rmsNorm(cast, norm);
    rt.drop(cast);
    const out = module(normed);
    rt.drop(normed);
    return ops.add(x, out);
  });
}

/** `variant` is Llama's layer with the architecture's knobs: no RoPE on any layer, the plain
 * MLP's activation (relu2). NemotronHForCausalLM returns `self.lm_head(...).float()`. */
export function hfNemotronHRecipe(arch: ModelArchitecture, variant: LlamaVariant): LayerRecipe {
  return {
    source: 'transformers models/nemotron_h/modeling_nemotron_h.py (NemotronHBlock)',
    weights: (context, layer) => blockWeights(arch, context, layer),
    forward: (nn, x, w, inputs) =>
      nemotronHBlock(nn, x, w, (h) => blockModule(nn, arch, variant, h, w, inputs)),
    ...mamba2KernelLinears,
    attention: withSsmNote,
    ends: { finalNorm: 'rms', logitsFp32: 'returned' },
  };
}
