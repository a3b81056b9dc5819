// Idefics2's connector after the image encoder (transformers models/idefics2/
// modeling_idefics2.py Idefics2Connector): modality_projection, a gated MLP from the tower's
// width to the text's over every patch, then Idefics2PerceiverResampler, whose learned latents
// attend over each image's projected patches and themselves, layer by layer, and become the
// image's tokens.
import { AttentionHeads, efficientAttention, repeatKv } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { BOOL } from '../autograd/ops';
import { Param, Tensor } from '../autograd/runtime';
import { LinearParams } from '../model/rank-model';
import { ResamplerWeights, VisionWeights } from './vision-weights';

/** Idefics2MLP.forward: down_proj(act_fn(gate_proj(x)) * up_proj(x)), SiLU keeping gate's
 * output, the product keeping SiLU's and up's, down_proj keeping the product. */
function gatedMlp(nn: Nn, x: Tensor, [gate, up, down]: LinearParams[]): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const gated = nn.linear(x, gate);
    const activated = ops.unarySavingInput(gated);
    rt.drop(gated);
    const upped = nn.linear(x, up);
    const product = ops.mul(activated, upped);
    rt.drop(activated, upped);
    const out = nn.linear(product, down);
    rt.drop(product);
    return out;
  });
}

/** Idefics2Connector.forward over post_layernorm's output (every image's patches). */
export function idefics2Connector(
  nn: Nn,
  weights: VisionWeights,
  patches: Tensor,
  images: number,
): Tensor {
  const context = gatedMlp(nn, patches, weights.projector.slice(0, 3));
  const tokens = perceiverResampler(nn, weights, context, images);
  nn.rt.drop(context);
  return tokens;
}

/** The resampler's mask, made once for its layers: torch.cat of the patches' mask and the
 * latents' ones (bool, b x (P + n)), then _prepare_4d_attention_mask(..., tgt_len=n):
 * expanded to (b, 1, n, P + n) and cast to the latents' dtype, 1.0 - that, its .to(bool), and
 * masked_fill of it with the dtype's minimum: the additive mask SDPA keeps in every layer. */
function resamplerMask(nn: Nn, rows: number, keys: number, images: number, bytes: number) {
  const { rt } = nn;
  const joined = rt.tensor(images, keys, BOOL, false);
  const expanded = rt.tensor(rows, keys, bytes, false);
  const inverted = rt.tensor(rows, keys, bytes, false);
  const asBool = rt.tensor(rows, keys, BOOL, false);
  const mask = rt.tensor(rows, keys, bytes, false);
  rt.drop(asBool, inverted, expanded, joined);
  return mask;
}

/** Idefics2PerceiverResampler.forward over `context` (the images' patches at the text width):
 * the latents expanded to every image (a view of the parameter, whose gradient ExpandBackward0
 * sums back), the mask, the layers, the final norm. */
function perceiverResampler(
  nn: Nn,
  weights: VisionWeights,
  context: Tensor,
  images: number,
): Tensor {
  return nn.rt.scope(() => {
    const resampler = weights.resampler!;
    const shape = weights.tower.resampler!;
    const rows = images * shape.latents;
    let latents = nn.ops.paramInput(resampler.latents, rows, context.cols);
    const keys = context.rows / images + shape.latents;
    const mask = resamplerMask(nn, rows, keys, images, latents.elementBytes);
    const heads = { heads: shape.heads, kvHeads: shape.kvHeads, headDim: shape.headDim };
    for (const layer of resampler.layers) {
      const next = perceiverLayer(nn, latents, context, layer, {
        heads,
        mask,
        queries: shape.latents,
      });
      nn.rt.drop(latents);
      latents = next;
    }
    const out = nn.rmsNorm(latents, resampler.norm);
    nn.rt.drop(latents, mask);
    return out;
  });
}

interface PerceiverAttention {
  heads: AttentionHeads;
  mask: Tensor;
  /** Latents per image: the queries of each image's attention. */
  queries: number;
}

/** Idefics2PerceiverLayer.forward: input_latents_norm over the latents and input_context_norm
 * over the context (every layer again), the attention, the residual add, post_attention_layernorm,
 * the MLP, the residual add. */
function perceiverLayer(
  nn: Nn,
  latents: Tensor,
  context: Tensor,
  layer: ResamplerWeights['layers'][number],
  attention: PerceiverAttention,
): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const [latentsNorm, contextNorm, postNorm] = layer.norms;
    const attended = perceiverAttention(nn, latents, context, layer.linears, attention, [
      latentsNorm,
      contextNorm,
    ]);
    const sum = ops.add(latents, attended);
    rt.drop(attended);
    const normed = nn.rmsNorm(sum, postNorm);
    const mlp = gatedMlp(nn, normed, layer.linears.slice(4));
    rt.drop(normed);
    const out = ops.add(sum, mlp);
    rt.drop(sum, mlp);
    return out;
  });
}

/** Idefics2PerceiverAttention.forward over the normed latents and context: torch.concat of
 * context and latents along the sequence (a copy k_proj and v_proj keep), q from the latents,
 * then integrations/sdpa_attention.py with the mask: K and V repeated to every query head
 * (use_gqa_in_sdpa is false with a mask) and the memory-efficient kernel; o_proj. */
function perceiverAttention(
  nn: Nn,
  latents: Tensor,
  context: Tensor,
  [qProj, kProj, vProj, oProj]: LinearParams[],
  { heads, mask, queries }: PerceiverAttention,
  [latentsNorm, contextNorm]: Param[],
): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const normedLatents = nn.rmsNorm(latents, latentsNorm);
    const normedContext = nn.rmsNorm(context, contextNorm);
    const joined = ops.catRows([normedContext, normedLatents]);
    rt.drop(normedContext);
    const q = nn.linear(normedLatents, qProj);
    rt.drop(normedLatents);
    const k = nn.linear(joined, kProj);
    const v = nn.linear(joined, vProj);
    rt.drop(joined);
    const [repeatedK, repeatedV] = [k, v].map((t) => repeatKv(nn, t, heads));
    rt.drop(k, v);
    const out = efficientAttention(nn, q, repeatedK, repeatedV, heads, mask, queries);
    rt.drop(q, repeatedK, repeatedV);
    const projected = nn.linear(out, oProj);
    rt.drop(out);
    return projected;
  });
}
