// Falcon-H1's layers as transformers runs them with mamba_ssm and causal_conv1d installed
// (models/falcon_h1/modular_falcon_h1.py FalconH1DecoderLayer): input_layernorm, then the
// Mamba-2 mixer and Llama's attention side by side on the normed input, each one's input and
// output scaled by its muP multiplier and their sum added to the residual; pre_ff_layernorm,
// FalconH1MLP with its gate and output scaled, the residual add.
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { ModelArchitecture, SsmConfig } from '../../vocabulary';
import { LayerWeights } from '../model/rank-model';
import { hfLlamaAttention, linear, LlamaVariant } from './hf-llama';
import { addSsmWeights, mamba2Kernel, mamba2KernelLinears, withSsmNote } from './hf-mamba';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder } from './recipe';

/** FalconH1Mixer.cuda_kernels_forward in training: the input times ssm_in_multiplier (kept by
 * in_proj), in_proj, its output times the mup_vector buffer (the product, which the combined
 * kernel keeps; the buffer is all the multiply saves), then Mamba-2's combined kernel. */
function falconH1Mixer(nn: Nn, x: Tensor, w: LayerWeights, ssm: SsmConfig): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const scaled = ops.unary(x);
    const projected = nn.linear(scaled, linear(w, 'in_proj'));
    const zxbcdt = ops.unary(projected);
    rt.drop(projected);
    return mamba2Kernel(nn, zxbcdt, w, ssm);
  });
}

/** FalconH1MLP.forward: up_proj(x) * act(gate_proj(x) * gate_multiplier), then
 * down_proj(y) * down_multiplier; the unscaled gate and down outputs keep nothing. */
function falconH1Mlp(nn: Nn, x: Tensor, w: LayerWeights): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const up = nn.linear(x, linear(w, 'up_proj'));
    const gate = nn.linear(x, linear(w, 'gate_proj'));
    const scaledGate = ops.unary(gate);
    rt.drop(gate);
    const activated = ops.unarySavingInput(scaledGate);
    rt.drop(scaledGate);
    const product = ops.mul(up, activated);
    rt.drop(up, activated);
    const down = nn.linear(product, linear(w, 'down_proj'));
    rt.drop(product);
    return ops.unary(down);
  });
}

/** FalconH1DecoderLayer.forward. The normed input lives until the two mixers' scaled outputs
 * are summed; each mixer keeps its own scaled copy of it. */
function falconH1Layer(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
  variant: LlamaVariant,
  ssm: SsmConfig,
): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const normed = nn.rmsNorm(x, w.norms.get('input_layernorm')!);
    const mamba = falconH1Mixer(nn, normed, w, ssm);
    const mambaScaled = ops.unary(mamba); // * ssm_out_multiplier
    rt.drop(mamba);
    const attentionInput = ops.unary(normed); // * attention_in_multiplier
    const attention = hfLlamaAttention(nn, attentionInput, w, inputs, variant);
    rt.drop(attentionInput);
    const attentionScaled = ops.unary(attention); // * attention_out_multiplier
    rt.drop(attention);
    const mixed = ops.add(mambaScaled, attentionScaled);
    rt.drop(mambaScaled, attentionScaled, normed);
    const mid = ops.add(x, mixed);
    rt.drop(mixed);
    const preFeedForward = nn.rmsNorm(mid, w.norms.get('pre_ff_layernorm')!);
    const mlp = falconH1Mlp(nn, preFeedForward, w);
    rt.drop(preFeedForward);
    return ops.add(mid, mlp);
  });
}

/** Every layer runs both mixers; the model scales its embedding (embedding_multiplier, the
 * scaled tensor is the local kept) and its logits (lm_head_multiplier). */
export function hfFalconH1Recipe(arch: ModelArchitecture, variant: LlamaVariant): LayerRecipe {
  const ssm = arch.ssm!;
  return {
    source:
      'transformers models/falcon_h1/modular_falcon_h1.py (FalconH1DecoderLayer, FalconH1Mixer)',
    weights(context, layer) {
      // __init__ order: feed_forward, mamba, self_attn, the two norms
      const builder = new LayerWeightsBuilder(context, layer);
      builder.linears('gate_proj', 'up_proj', 'down_proj');
      addSsmWeights(builder, ssm, context.tensorParallel);
      builder.linears('q_proj', 'k_proj', 'v_proj', 'o_proj');
      const h = arch.hiddenSize;
      return builder.norm('input_layernorm', h).norm('pre_ff_layernorm', h).build();
    },
    forward: (nn, x, w, inputs) => falconH1Layer(nn, x, w, inputs, variant, ssm),
    ...mamba2KernelLinears,
    attention: withSsmNote,
    ends: { scaledEmbedding: true, embeddingLocal: 'output', scaledLogits: true },
  };
}
