// LFM2's layers as transformers runs them (models/lfm2/modeling_lfm2.py Lfm2DecoderLayer):
// operator_norm, the mixer (Lfm2ShortConv or Llama's attention with per-head q/k RMSNorms),
// the residual add; ffn_norm, Lfm2MLP, the residual add.
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { ModelArchitecture, ShortConvConfig } from '../../vocabulary';
import { layerKind } from '../../model/layers';
import { LayerWeights } from '../model/rank-model';
import { LlamaVariant, linear } from './hf-llama';
import { llamaLayersWithMixer } from './hybrid-layers';
import { paramsNamed } from './hf-mamba';
import { LayerRecipe } from './recipe';

const CONV_PARAMS = ['conv.weight', 'conv.bias'];

/** Lfm2ShortConv.slow_forward (its nn.Conv1d path): in_proj to [B, C, x] (views of one tensor
 * after the transpose), B * x (keeping both), the depthwise conv1d with padding L - 1 (keeping
 * its input and weight; its output is L - 1 positions longer than the sequence, sliced to it
 * as a view), C * the slice (keeping both), the transpose made contiguous (a copy), out_proj.
 * With causal_conv1d installed, cuda_kernels_forward runs causal_conv1d_fn instead, whose
 * output is the sequence's length: L - 1 positions a sequence less. */
function shortConv(nn: Nn, x: Tensor, w: LayerWeights, conv: ShortConvConfig, keys: number) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const projected = nn.linear(x, linear(w, 'in_proj'));
    const [b, c, values] = ops.split(projected, 3); // BCx.chunk(3, dim=-2)
    rt.drop(projected);
    const bx = ops.mul(b, values);
    rt.drop(b, values);
    const padded = depthwiseConv(nn, bx, w, conv, keys);
    rt.drop(bx);
    const convolved = ops.sliceRows(padded, x.rows); // conv_out[..., :seqlen]
    rt.drop(padded);
    const gated = ops.mul(c, convolved); // C * conv_out
    rt.drop(c, convolved);
    const contiguous = ops.unary(gated); // y.transpose(-1, -2).contiguous()
    rt.drop(gated);
    return nn.linear(contiguous, linear(w, 'out_proj'));
  });
}

/** nn.Conv1d(groups=h, padding=L - 1) over each sequence: the output has L - 1 more positions
 * per sequence; ConvolutionBackward0 keeps the input and the weight (cast under autocast, as
 * the linears' are) and gives both, and the bias, a gradient. */
function depthwiseConv(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  conv: ShortConvConfig,
  keys: number,
): Tensor {
  const { ops, rt } = nn;
  const params = paramsNamed(w, CONV_PARAMS);
  const weights = params.map((p) => nn.weights.matmulWeight(ops, p, 1, p.elements));
  const sequences = x.rows / keys;
  const rows = x.rows + (conv.cacheLength - 1) * sequences;
  const inputs = [x, ...weights];
  const requiresGrad = inputs.some((t) => t.requiresGrad);
  const out = rt.tensor(rows, x.cols, x.elementBytes, requiresGrad);
  rt.record(inputs, [out], inputs, () => inputs.forEach((t) => ops.give(t, () => ops.gradOf(t))));
  rt.drop(...weights);
  return out;
}

/** Llama's layer with Lfm2ShortConv in place of attention on the `conv` layers. */
export function hfLfm2Recipe(arch: ModelArchitecture, variant: LlamaVariant): LayerRecipe {
  const conv = arch.shortConv!;
  return llamaLayersWithMixer(
    arch,
    variant,
    'transformers models/lfm2/modeling_lfm2.py (Lfm2DecoderLayer, Lfm2ShortConv)',
    {
      runs: (layer) => layerKind(arch, layer).mixer === 'short-conv',
      addWeights(builder, context) {
        const channels = arch.hiddenSize / context.tensorParallel;
        builder.other('conv.weight', channels * conv.cacheLength); // Lfm2ShortConv: conv first
        if (conv.bias) builder.other('conv.bias', channels);
        builder.linears('in_proj', 'out_proj');
      },
      forward: (nn, x, w, inputs) => shortConv(nn, x, w, conv, inputs.keys),
    },
  );
}
