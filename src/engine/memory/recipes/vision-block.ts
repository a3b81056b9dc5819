// One block of an image encoder as its model's code runs it: a pre-norm ViT block (LayerNorm or
// RMSNorm, separate q, k, v and o with SDPA over one image's patches, a GELU, quick_gelu or
// gated MLP; InternVL's q/k norms and layer scales), or the Qwen ViTs' (one qkv, fp32 rotary,
// SDPA per image, torch.cat before proj).
import { AttentionHeads, flashAttention, rotary } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { FP32 } from '../autograd/ops';
import { Param, Tensor } from '../autograd/runtime';
import { VisionTower } from '../../vocabulary';
import { attentionLinearCount } from '../../model/vision';
import { LinearParams } from '../model/rank-model';
import { VisionLayer } from './vision-weights';

export function towerNorm(nn: Nn, x: Tensor, norm: Param[], tower: VisionTower): Tensor {
  return tower.norm === 'layernorm' ? nn.layerNorm(x, norm[0], norm[1]) : nn.rmsNorm(x, norm[0]);
}

function towerHeads(tower: VisionTower): AttentionHeads {
  return { heads: tower.heads, kvHeads: tower.heads, headDim: tower.hiddenSize / tower.heads };
}

/** q, k, v and o, attention over the tower's patches: the generic ViT block's; InternVL's q
 * and k each through its RMSNorm over the whole projection first (use_qk_norm). */
function separateAttention(
  nn: Nn,
  normed: Tensor,
  [q, k, v, o]: LinearParams[],
  layer: VisionLayer,
  tower: VisionTower,
) {
  const [projectedQ, projectedK, vs] = [q, k, v].map((l) => nn.linear(normed, l));
  const [qNorm, kNorm] = layer.qkNorms;
  const qs = qNorm ? nn.rmsNorm(projectedQ, qNorm) : projectedQ;
  const ks = kNorm ? nn.rmsNorm(projectedK, kNorm) : projectedK;
  if (qs !== projectedQ) nn.rt.drop(projectedQ, projectedK);
  const attended = nn.linear(flashAttention(nn, qs, ks, vs, towerHeads(tower)), o);
  nn.rt.drop(qs, ks, vs);
  return attended;
}

/** InternVL's lambda * output (its layer scale, a parameter: the product keeps both), or the
 * output as it is. */
function layerScaled(nn: Nn, out: Tensor, scale: Param | undefined): Tensor {
  if (!scale) return out;
  const weight = nn.ops.weight(scale, 1, out.cols);
  const scaled = nn.ops.mul(weight, out);
  nn.rt.drop(weight, out);
  return scaled;
}

/** What a Qwen ViT block reads besides its input: the images and the fp32 rotary tables (cos
 * and sin among the forward's locals). */
export interface QwenTowerInputs {
  images: number;
  cos: Tensor;
  sin: Tensor;
  locals: Tensor[];
}

/** VisionAttention / Qwen3VLVisionAttention: qkv's output unbound into q, k and v (views, so v
 * saved keeps all of it), q and k rotated in fp32 and cast back, SDPA over each image's patches
 * (torch.split along the sequence, views), the outputs joined by torch.cat (a copy proj keeps). */
function qwenAttention(
  nn: Nn,
  normed: Tensor,
  [qkvLinear, proj]: LinearParams[],
  tower: VisionTower,
  inputs: QwenTowerInputs,
) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const qkv = nn.linear(normed, qkvLinear);
    const [q, k, v] = ops.split(qkv, 3);
    rt.drop(qkv);
    const [qRotated, kRotated] = visionRotary(nn, q, k, inputs);
    rt.drop(q, k);
    const [qs, ks, vs] = [qRotated, kRotated, v].map((t) => ops.chunkRows(t, inputs.images));
    rt.drop(qRotated, kRotated, v);
    const outputs = qs.map((qi, i) => flashAttention(nn, qi, ks[i], vs[i], towerHeads(tower)));
    rt.drop(...qs, ...ks, ...vs);
    const joined = ops.catRows(outputs);
    rt.drop(...outputs);
    return nn.linear(joined, proj);
  });
}

/** apply_rotary_pos_emb_vision: q.float() and k.float() (locals until it returns), each
 * rotated with the fp32 tables and cast back to its own dtype in turn. */
function visionRotary(nn: Nn, q: Tensor, k: Tensor, { cos, sin }: QwenTowerInputs): Tensor[] {
  const { ops, rt } = nn;
  const [q32, k32] = [q, k].map((t) => ops.to(t, FP32));
  const [qEmbed, kEmbed] = [q32, k32].map((t) => rotary(nn, t, cos, sin));
  const qOut = ops.to(qEmbed, q.elementBytes);
  rt.drop(qEmbed);
  const kOut = ops.to(kEmbed, k.elementBytes);
  rt.drop(kEmbed, q32, k32);
  return [qOut, kOut];
}

/** One pre-norm encoder layer: x + o(attention(q, k, v of norm1(x))), + mlp(norm2(x)). */
export function visionLayer(
  nn: Nn,
  x: Tensor,
  layer: VisionLayer,
  tower: VisionTower,
  qwen?: QwenTowerInputs,
): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const attention = layer.linears.slice(0, attentionLinearCount(tower));
    const mlp = layer.linears.slice(attention.length);
    const normed = towerNorm(nn, x, layer.norms[0], tower);
    const attended = layerScaled(
      nn,
      qwen
        ? qwenAttention(nn, normed, attention, tower, qwen)
        : separateAttention(nn, normed, attention, layer, tower),
      layer.scales[0],
    );
    rt.drop(normed);
    const mid = ops.add(x, attended);
    rt.drop(attended);
    const normed2 = towerNorm(nn, mid, layer.norms[1], tower);
    const mlpOut = layerScaled(nn, visionMlp(nn, normed2, mlp, tower), layer.scales[1]);
    rt.drop(normed2);
    return ops.add(mid, mlpOut);
  });
}

/** fc1, GELU (fused) or CLIP's quick_gelu, fc2; or the gated SiLU MLP of Qwen2.5-VL's tower. */
function visionMlp(nn: Nn, x: Tensor, mlp: LinearParams[], tower: VisionTower): Tensor {
  const { ops, rt } = nn;
  if (tower.mlp === 'gated') {
    const gate = ops.unarySavingInput(nn.linear(x, mlp[0]));
    const product = ops.mul(gate, nn.linear(x, mlp[1]));
    rt.drop(gate);
    return nn.linear(product, mlp[2]);
  }
  const up = nn.linear(x, mlp[0]);
  const activated =
    tower.activation === 'quick_gelu' ? quickGelu(nn, up) : ops.unarySavingInput(up);
  rt.drop(up);
  return nn.linear(activated, mlp[1]);
}

/** activations.py QuickGELUActivation: input * torch.sigmoid(1.702 * input), three ops: the
 * scaled copy (kept by nothing), sigmoid (keeping its output), the product (keeping both). */
function quickGelu(nn: Nn, x: Tensor): Tensor {
  const { ops, rt } = nn;
  const scaled = ops.unary(x);
  const sigmoid = ops.unarySavingOutput(scaled);
  rt.drop(scaled);
  const product = ops.mul(x, sigmoid);
  rt.drop(sigmoid);
  return product;
}
