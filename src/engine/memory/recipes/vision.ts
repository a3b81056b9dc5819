// A vision-language model's image encoder as one generic pre-norm ViT stack, read from the
// VisionTower description (SigLIP: models/siglip/modeling_siglip.py SiglipEncoderLayer; Qwen2-VL:
// models/qwen2_vl/modeling_qwen2_vl.py Qwen2VLVisionBlock; Llama-4: models/llama4/
// modeling_llama4.py Llama4VisionEncoderLayer; Mllama: models/mllama/modeling_mllama.py
// MllamaVisionEncoderLayer): LayerNorm or RMSNorm, q/k/v/o with SDPA over one image's patches,
// a plain GELU or gated MLP, then the projector's linears; the Qwen ViTs as their own code runs
// them (models/qwen2_vl/modeling_qwen2_vl.py VisionAttention, PatchMerger; models/qwen3_vl/
// modeling_qwen3_vl.py Qwen3VLVisionAttention, Qwen3VLVisionPatchMerger and the deepstack mergers). Its activations are planned
// for the request's images per sample (training.imagesPerSample, 0 = text only).
import { AttentionHeads, flashAttention, rotary } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { FP32 } from '../autograd/ops';
import { Param, Tensor } from '../autograd/runtime';
import { DeepstackMerger, VisionTower } from '../../vocabulary';
import { visionLinearAdapted } from '../../model/parameters';
import { attentionLinearCount, blockShapes, VisionLinear, visionLinears } from '../../model/vision';
import { adapter, baseParam, LinearParams, loraParamsOf, ParamStorage } from '../model/rank-model';
import { quantizesTower } from '../model-states';

interface VisionLayer {
  // q, k, v, o (the Qwen layout: qkv, proj), then the MLP's (fc1, fc2 or gate, up, down)
  linears: LinearParams[];
  norms: Param[][]; // norm1, norm2 (weight, and bias for LayerNorm)
  /** InternVL's q_norm and k_norm (use_qk_norm), and its lambda_1 and lambda_2. */
  qkNorms: Param[];
  scales: Param[];
}

export interface VisionWeights {
  tower: VisionTower;
  /** Patch and position embeddings, pre/post norms, tile embeddings (one tensor here). */
  embeddings: Param;
  layers: VisionLayer[];
  projector: LinearParams[];
  /** The Qwen layout's merger norm, or the CLIP layout's pre_layrnorm (weight, and bias for
   * LayerNorm). */
  layoutNorm: Param[];
  /** Projector norms (but the Qwen merger's) and Mllama's layer gates, lumped. */
  extras?: Param;
  /** LLaVA-NeXT's image_newline (text-wide), counted with the projector's norms. */
  newline?: Param;
  /** Qwen3-VL's deepstack mergers, in the config's order. */
  deepstack: DeepstackWeights[];
  /** Every parameter in creation order. */
  all: Param[];
}

interface DeepstackWeights {
  merger: DeepstackMerger;
  norm: Param[]; // LayerNorm(inFeatures): weight and bias
  linears: LinearParams[]; // linear_fc1, linear_fc2
}

/** The image tokens a tower hands the text stack: the projector's, and one per deepstack merger
 * that ran, in the order of the blocks they read. */
export interface VisionOutput {
  tokens: Tensor;
  deepstack: Tensor[];
}

function linearParam(
  s: ParamStorage,
  name: string,
  [inF, outF]: [number, number],
  bias: boolean,
  quantized: boolean,
) {
  const weight = baseParam(s, name, inF * outF, quantized);
  weight.shape = [outF, inF];
  const linear: LinearParams = { name, weight, inFeatures: inF, outFeatures: outF, quantized };
  if (bias) linear.bias = baseParam(s, `${name}.bias`, outF);
  return linear;
}

/** One of the tower's linears as model/vision.ts visionLinears describes it, with its adapter
 * where LoRA targets it (PEFT matches the tower's modules too). */
type MakeLinear = (linear: VisionLinear, bias: boolean) => LinearParams;

function linearMaker(s: ParamStorage): MakeLinear {
  const { method, lora } = s.request.training;
  const adapting = method === 'full' ? undefined : lora;
  const fourBit = quantizesTower(s.request);
  return (linear, bias) => {
    const { path, inFeatures, outFeatures } = linear;
    const shape: [number, number] = [inFeatures, outFeatures];
    const params = linearParam(s, path, shape, bias, fourBit && !linear.parameter);
    if (adapting && visionLinearAdapted(adapting, linear))
      params.lora = adapter(s, path, params, 1, adapting);
    return params;
  };
}

/** The tower's parameters, counted as model/vision.ts counts them: its linears are the ones
 * visionLinears lists (each block's, the projector's, the deepstack mergers'), in that order. */
export function buildVisionWeights(s: ParamStorage, tower: VisionTower): VisionWeights {
  const make = linearMaker(s);
  const h = tower.hiddenSize;
  const norm = (name: string, width = h) =>
    tower.norm === 'layernorm'
      ? [baseParam(s, name, width), baseParam(s, `${name}.bias`, width)]
      : [baseParam(s, name, width)];
  const described = visionLinears(tower);
  const perBlock = blockShapes(tower).length;
  const attentionLinears = attentionLinearCount(tower);
  const output = attentionLinears - 1; // o_proj, proj, out_proj, projection_layer
  const biasOf = (k: number) =>
    k === output
      ? (tower.projectionBias ?? tower.attentionBias)
      : k < output
        ? tower.attentionBias
        : tower.mlpBias;
  const vectors = (i: number, names: string[]) =>
    names.map((n) => baseParam(s, `vision.${i}.${n}`, h));
  const layers: VisionLayer[] = Array.from({ length: tower.layers }, (_, i) => ({
    linears: described
      .slice(i * perBlock, (i + 1) * perBlock)
      .map((linear, k) => make(linear, biasOf(k))),
    norms: [norm(`vision.${i}.norm1`), norm(`vision.${i}.norm2`)],
    qkNorms: tower.qkNorm ? vectors(i, ['q_norm', 'k_norm']) : [],
    scales: tower.layerScale ? vectors(i, ['lambda_1', 'lambda_2']) : [],
  }));
  const rest = described.slice(tower.layers * perBlock);
  const projector = tower.projector.map((p, j) => make(rest[j], p.bias));
  const mergers = rest.slice(tower.projector.length);
  // Qwen's merger norm and InternVL's projector LayerNorm (over the shuffled width), counted
  // with the projector's norms; CLIP's pre_layrnorm, counted with the embeddings: each a norm of
  // its own here
  const shuffled = h * (tower.pixelShuffle ?? 1) ** 2;
  const layoutNorm =
    tower.layout === 'qwen'
      ? norm('vision.merger.norm')
      : tower.layout === 'clip'
        ? norm('vision.pre_layrnorm')
        : tower.layout === 'internvl'
          ? [
              baseParam(s, 'projector.layer_norm', shuffled),
              baseParam(s, 'projector.layer_norm.bias', shuffled),
            ]
          : [];
  const layoutNormElements = layoutNorm.reduce((sum, p) => sum + p.elements, 0);
  const [fromProjector, fromEmbeddings] =
    tower.layout === 'clip' ? [0, layoutNormElements] : [layoutNormElements, 0];
  // LLaVA-NeXT's image_newline, counted with the projector's norms, is a parameter of its own
  const newlineElements = (tower.crops ?? 1) > 1 ? tower.projector[1].outFeatures : 0;
  const extraElements =
    Math.max(0, tower.projectorNormParameters - fromProjector - newlineElements) +
    (tower.layerGates ?? 0);
  const weights: VisionWeights = {
    tower,
    embeddings: baseParam(s, 'vision.embeddings', tower.embeddingParameters - fromEmbeddings),
    layers,
    projector,
    layoutNorm,
    extras: extraElements > 0 ? baseParam(s, 'vision.extras', extraElements) : undefined,
    newline: newlineElements > 0 ? baseParam(s, 'image_newline', newlineElements) : undefined,
    deepstack: (tower.deepstack ?? []).map((merger, i) => ({
      merger,
      norm: deepstackNorm(s, merger, i),
      linears: mergers.slice(2 * i, 2 * i + 2).map((linear) => make(linear, true)),
    })),
    all: [],
  };
  weights.all = [
    weights.embeddings,
    ...layers.flatMap((l) => [
      ...l.norms.flat(),
      ...l.linears.flatMap(paramsOf),
      ...l.qkNorms,
      ...l.scales,
    ]),
    ...layoutNorm,
    ...projector.flatMap(paramsOf),
    ...(weights.extras ? [weights.extras] : []),
    ...(weights.newline ? [weights.newline] : []),
    ...weights.deepstack.flatMap((d) => [...d.norm, ...d.linears.flatMap(paramsOf)]),
  ];
  return weights;
}

/** deepstack_merger_list.i.norm: a LayerNorm over the merged width (weight and bias). */
function deepstackNorm(s: ParamStorage, merger: DeepstackMerger, i: number): Param[] {
  const name = `vision.deepstack_merger_list.${i}.norm`;
  return [baseParam(s, name, merger.inFeatures), baseParam(s, `${name}.bias`, merger.inFeatures)];
}

function paramsOf(l: LinearParams): Param[] {
  const adapters = l.lora ? loraParamsOf(l.lora) : [];
  return [l.weight, ...(l.bias ? [l.bias] : []), ...adapters];
}

function towerNorm(nn: Nn, x: Tensor, norm: Param[], tower: VisionTower): Tensor {
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
interface QwenTowerInputs {
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
function visionLayer(
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

/** Qwen's patch mergers (PatchMerger, Qwen3VLVisionPatchMerger): a norm over each patch (with
 * use_postshuffle_norm, over each 2 x 2 group instead), the patches viewed 4 to a row (the same
 * storage), linear_fc1, nn.GELU() (which keeps its input), linear_fc2 to the text width. */
function patchMerger(
  nn: Nn,
  x: Tensor,
  norm: (t: Tensor) => Tensor,
  [fc1, fc2]: LinearParams[],
  normAfterView: boolean,
): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const view = (t: Tensor) => ops.reshape(t, fc1.inFeatures);
    const first = normAfterView ? view(x) : norm(x);
    const merged = normAfterView ? norm(first) : view(first);
    rt.drop(first);
    const up = nn.linear(merged, fc1);
    rt.drop(merged);
    const activated = ops.unarySavingInput(up);
    rt.drop(up);
    return nn.linear(activated, fc2);
  });
}

/** A deepstack merger (use_postshuffle_norm): its LayerNorm over the merged patches. */
function deepstackMerger(nn: Nn, x: Tensor, weights: DeepstackWeights): Tensor {
  const norm = (t: Tensor) => nn.layerNorm(t, weights.norm[0], weights.norm[1]);
  return patchMerger(nn, x, norm, weights.linears, true);
}

/** Qwen's VisionPatchEmbed: pixel_values cast to the Conv3d weight's dtype (and to 16 bits by
 * autocast), then the Conv3d, which keeps that input for its weight's gradient. */
function patchEmbedding(nn: Nn, pixels: Tensor, weight: Tensor, tower: VisionTower): Tensor {
  const typed = nn.ops.to(pixels, weight.elementBytes); // .to(dtype=self.proj.weight.dtype)
  const input = nn.matmulInput(typed);
  const out = nn.ops.patchConvolution(input, weight, tower.hiddenSize);
  nn.rt.drop(typed, input); // a second drop of one handle does nothing
  return out;
}

/** Qwen2VisionTransformer.rot_pos_emb and the tower's forward: the fp32 frequencies per patch
 * (rotary_pos_emb, half a head wide), emb = cat of it twice, and its cos and sin, all locals
 * of the forward until it returns. */
function qwenTowerInputs(nn: Nn, images: number, tower: VisionTower): QwenTowerInputs {
  const d = tower.hiddenSize / tower.heads;
  const table = (cols: number) => nn.rt.tensor(images * tower.patchesPerImage, cols, FP32, false);
  const [frequencies, emb, cos, sin] = [table(d / 2), table(d), table(d), table(d)];
  return { images, cos, sin, locals: [frequencies, emb, cos, sin] };
}

/** The tower over `images` images' patches (the patch embedding's output, made from pixels
 * that need no gradient), its layers (a deepstack merger after the block it reads), then the
 * projector's linears on the image tokens. */
export function visionForward(nn: Nn, weights: VisionWeights, images: number): VisionOutput {
  return nn.rt.scope(() => {
    const { tower } = weights;
    const patches = images * tower.patchesPerImage;
    // the whole parameter: its gradient is the patch and position embeddings' whole size
    const embedding = nn.ops.weight(weights.embeddings, 1, tower.embeddingParameters);
    const pixels = tower.pixelsPerPatch
      ? nn.rt.tensor(patches, tower.pixelsPerPatch, FP32, false) // pixel_values, as processed
      : undefined;
    let x = pixels
      ? patchEmbedding(nn, pixels, embedding, tower)
      : nn.ops.embedding(patches, embedding, tower.hiddenSize);
    nn.rt.drop(embedding);
    if (tower.layout === 'clip')
      return { tokens: clipFeatures(nn, weights, x, images), deepstack: [] };
    if (tower.layout === 'internvl')
      return { tokens: internvlFeatures(nn, weights, x, images), deepstack: [] };
    const qwen = tower.layout === 'qwen' ? qwenTowerInputs(nn, images, tower) : undefined;
    const deepstack: Tensor[] = [];
    for (const [index, layer] of weights.layers.entries()) {
      const y = visionLayer(nn, x, layer, tower, qwen);
      nn.rt.drop(x);
      x = y;
      for (const merger of weights.deepstack.filter((d) => d.merger.afterLayer === index))
        deepstack.push(deepstackMerger(nn, x, merger));
    }
    if (qwen) {
      const norm = (t: Tensor) => towerNorm(nn, t, weights.layoutNorm, tower);
      const tokens = patchMerger(nn, x, norm, weights.projector, false);
      nn.rt.drop(x, pixels, ...qwen.locals);
      return { tokens, deepstack };
    }
    // Pixel shuffle / patch merging: the tower's patches become the image tokens.
    const tokens = nn.ops.gatherRows(
      x,
      images * tower.tokensPerImage,
      weights.projector[0]?.inFeatures ?? x.cols,
    );
    nn.rt.drop(x);
    let out = tokens;
    for (const linear of weights.projector) {
      const next = nn.linear(out, linear);
      nn.rt.drop(out);
      out = next;
    }
    return { tokens: out, deepstack };
  });
}

/** CLIPVisionTransformer.forward from the embeddings' output `x` (the patches and the class
 * token of every crop), as LlavaModel.get_image_features reads it: pre_layrnorm, the blocks up
 * to vision_feature_layer, whose output is the features; the blocks after it run too, but their
 * outputs feed nothing, so what they save dies when the function returns: planned as run
 * without saving (post_layernorm over the class token alone is left out). Then the projector
 * on each crop's features, and LLaVA-NeXT's packing of the crops into the image's tokens. */
function clipFeatures(nn: Nn, weights: VisionWeights, embedded: Tensor, images: number): Tensor {
  const { rt } = nn;
  const { tower } = weights;
  const normed = towerNorm(nn, embedded, weights.layoutNorm, tower);
  rt.drop(embedded);
  const feeding = tower.featureLayers ?? tower.layers;
  let x = normed;
  for (const layer of weights.layers.slice(0, feeding)) {
    const y = visionLayer(nn, x, layer, tower);
    rt.drop(x);
    x = y;
  }
  const features = x;
  rt.noGrad(() => {
    for (const layer of weights.layers.slice(feeding)) {
      const y = visionLayer(nn, x, layer, tower);
      if (x !== features) rt.drop(x);
      x = y;
    }
    if (x !== features) rt.drop(x);
  });
  const projected = llavaProjector(nn, weights, features, images);
  return (tower.crops ?? 1) > 1 ? packedCrops(nn, weights, projected, images) : projected;
}

/** The features each crop hands LlavaMultiModalProjector: without the class token
 * ([:, 1:]: a view of one crop; SliceBackward0 writes a whole-size gradient), a copy where the
 * linear's reshape folds several; then linear_1, nn.GELU (keeping its input), linear_2. */
function llavaProjector(nn: Nn, weights: VisionWeights, features: Tensor, images: number) {
  const { ops, rt } = nn;
  const { tower } = weights;
  const crops = images * (tower.crops ?? 1);
  const rows = crops * (tower.cropFeatures ?? tower.tokensPerImage);
  const selected =
    rows === features.rows
      ? features
      : crops === 1
        ? ops.sliceRows(features, rows)
        : ops.gatherRows(features, rows);
  if (selected !== features) rt.drop(features);
  return projectorMlp(nn, selected, weights.projector);
}

/** linear_1, the projector's GELU (nn.GELU, keeping its input), linear_2. */
function projectorMlp(nn: Nn, x: Tensor, [linear1, linear2]: LinearParams[]): Tensor {
  const up = nn.linear(x, linear1);
  nn.rt.drop(x);
  const activated = nn.ops.unarySavingInput(up);
  nn.rt.drop(up);
  return nn.linear(activated, linear2);
}

/** InternVLModel.get_image_features from the embeddings' output (the patches and the class
 * token): every block (vision_feature_layer -1: the last's output, with no final norm under
 * use_mean_pooling), the class token sliced off ([:, 1:]: a view of one image, a copy folding
 * several), pixel_shuffle's two permute(...).contiguous() copies, each gathering `pixelShuffle`
 * patches a row (the first dies with the second; neither keeps anything), then
 * InternVLMultiModalProjector: a LayerNorm over the shuffled width, linear_1, GELU, linear_2. */
function internvlFeatures(nn: Nn, weights: VisionWeights, embedded: Tensor, images: number) {
  const { ops, rt } = nn;
  const { tower } = weights;
  let x = embedded;
  for (const layer of weights.layers) {
    const y = visionLayer(nn, x, layer, tower);
    rt.drop(x);
    x = y;
  }
  const patches = x.rows - images; // one class token an image
  const selected = images === 1 ? ops.sliceRows(x, patches) : ops.gatherRows(x, patches);
  rt.drop(x);
  const side = tower.pixelShuffle ?? 1;
  const first = ops.gatherRows(selected, selected.rows / side, selected.cols * side);
  rt.drop(selected);
  const shuffled = ops.gatherRows(first, first.rows / side, first.cols * side);
  rt.drop(first);
  const [weight, bias] = weights.layoutNorm;
  const normed = nn.layerNorm(shuffled, weight, bias);
  rt.drop(shuffled);
  return projectorMlp(nn, normed, weights.projector);
}

/** LlavaNextModel.pack_image_features: the base crop's tokens (a view), the tiles' permuted
 * into the image's grid (.contiguous(), a copy), unpadded (views: an image at its grid's own
 * shape has no padding), image_newline expanded to one more token a row and joined by
 * torch.cat (a copy; the parameter's gradient sums the expansion), joined after the base's by
 * torch.cat: the image's tokens. The copies save nothing and each dies with the next. */
function packedCrops(nn: Nn, weights: VisionWeights, projected: Tensor, images: number): Tensor {
  const { ops, rt } = nn;
  const { tower } = weights;
  const perCrop = tower.cropFeatures ?? tower.tokensPerImage;
  const base = ops.sliceRows(projected, images * perCrop); // image_feature[0]
  const tiles = ops.sliceRows(projected, projected.rows - base.rows); // image_feature[1:]
  const grid = ops.gatherRows(tiles, tiles.rows);
  rt.drop(projected, tiles);
  const rowEnds = images * tower.tokensPerImage - projected.rows; // one newline a grid row
  const newline = ops.weight(weights.newline!, rowEnds, projected.cols);
  const rows = ops.catRows([grid, newline]);
  rt.drop(grid, newline);
  const tokens = ops.catRows([base, rows]);
  rt.drop(base, rows);
  return tokens;
}

export const VISION_NOTE = (tower: VisionTower, images: number) =>
  images > 0
    ? `${tower.kind} image encoder planned for ${images} image(s) per sample (${tower.patchesPerImage} patches each through ${tower.layers} layers, SDPA over each image's patches${featureNote(tower)}; training.imagesPerSample)`
    : `${tower.kind} image encoder's weights and states counted; its activations are planned only for images per sample above 0 (training.imagesPerSample, 0 = text-only batches)`;

/** Where the features come from when the blocks after them run for nothing (LLaVA). */
function featureNote(tower: VisionTower): string {
  const feeding = tower.featureLayers ?? tower.layers;
  if (feeding === tower.layers) return '';
  return `; the features are block ${feeding}'s output (vision_feature_layer), the ${tower.layers - feeding} block(s) after it run and keep nothing`;
}
