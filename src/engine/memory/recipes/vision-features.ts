// What LLaVA's, InternVL's, Aya Vision's and Idefics3's get_image_features do past the embeddings: the blocks
// that feed the features, the features taken without the class token, the pixel shuffle, the
// projector, and LLaVA-NeXT's and LLaVA-OneVision's packing of an image's crops into its tokens.
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { LinearParams } from '../model/rank-model';
import { idefics2Connector } from './perceiver';
import { towerNorm, visionLayer } from './vision-block';
import { VisionWeights } from './vision-weights';

/** CLIPVisionTransformer.forward from the embeddings' output `x` (the patches and the class
 * token of every crop), as LlavaModel.get_image_features reads it: pre_layrnorm, the blocks up
 * to vision_feature_layer, whose output is the features; the blocks after it run too, but their
 * outputs feed nothing, so what they save dies when the function returns: planned as run
 * without saving (post_layernorm over the class token alone is left out). Then the projector
 * on each crop's features, and LLaVA-NeXT's packing of the crops into the image's tokens. */
export function clipFeatures(
  nn: Nn,
  weights: VisionWeights,
  embedded: Tensor,
  images: number,
): Tensor {
  const { rt } = nn;
  const { tower } = weights;
  const normed = towerNorm(nn, embedded, weights.layoutNorm, tower);
  rt.drop(embedded);
  const features = featureBlocks(nn, weights, normed);
  rt.drop(unusedBlocks(nn, weights, features));
  const projected = llavaProjector(nn, weights, features, images);
  return (tower.crops ?? 1) > 1 ? packedCrops(nn, weights, projected, images) : projected;
}

/** The blocks up to vision_feature_layer, whose output is the features. */
function featureBlocks(nn: Nn, weights: VisionWeights, x: Tensor): Tensor {
  return blocks(nn, weights, x, weights.layers.slice(0, feedingBlocks(weights)));
}

function feedingBlocks(weights: VisionWeights): number {
  return weights.tower.featureLayers ?? weights.tower.layers;
}

/** The blocks after the features, which run with nothing downstream (planned without saving):
 * the last one's output, or undefined where none follow. */
function unusedBlocks(nn: Nn, weights: VisionWeights, features: Tensor): Tensor | undefined {
  const { rt } = nn;
  let x = features;
  rt.noGrad(() => {
    for (const layer of weights.layers.slice(feedingBlocks(weights))) {
      const y = visionLayer(nn, x, layer, weights.tower);
      if (x !== features) rt.drop(x);
      x = y;
    }
  });
  return x === features ? undefined : x;
}

/** SiglipVisionModel from the embeddings' output (no class token, no pre-norm) as LLaVA-OneVision's
 * and Aya Vision's get_image_features run it: the blocks to vision_feature_layer, whose output
 * is the features (hidden_states[-1] is the last block's, before post_layernorm); the blocks
 * after them and post_layernorm over the last output run too, feeding nothing (planned without
 * saving), that output held in the tower's returned BaseModelOutput until get_image_features
 * returns, after `project` has made the image tokens from the features. */
function siglipHiddenStates(
  nn: Nn,
  weights: VisionWeights,
  embedded: Tensor,
  project: (features: Tensor) => Tensor,
): Tensor {
  const { rt } = nn;
  const features = featureBlocks(nn, weights, embedded);
  const last = unusedBlocks(nn, weights, features) ?? features;
  const lastHiddenState = rt.noGrad(() => towerNorm(nn, last, weights.layoutNorm, weights.tower));
  if (last !== features) rt.drop(last);
  const tokens = project(features);
  rt.drop(lastHiddenState);
  return tokens;
}

/** LlavaOnevisionModel.get_image_features (SigLIP's hidden states, the projector on every
 * crop's patches), then its forward's pack_image_features. */
export function onevisionFeatures(
  nn: Nn,
  weights: VisionWeights,
  embedded: Tensor,
  images: number,
): Tensor {
  const projected = siglipHiddenStates(nn, weights, embedded, (features) =>
    llavaProjector(nn, weights, features, images),
  );
  return packedCrops(nn, weights, projected, images);
}

/** AyaVisionModel.get_image_features: SigLIP's hidden states through
 * AyaVisionMultiModalProjector (each tile one image here). */
export function ayaFeatures(nn: Nn, weights: VisionWeights, embedded: Tensor): Tensor {
  return siglipHiddenStates(nn, weights, embedded, (features) =>
    ayaProjector(nn, weights, features),
  );
}

/** AyaVisionMultiModalProjector.forward: pixel_shuffle's reshapes and permutes, of which the
 * reshape of a permuted view is the one copy (the last permute a view of it, which LayerNorm
 * keeps, making its contiguous input as a transient: layer_norm_cuda's expect_contiguous),
 * the LayerNorm over the shuffled width, linear_1, chunk(2) (views: x, then gate), act(gate)
 * (SiLU, keeping gate) times x (keeping both), linear_2. */
function ayaProjector(nn: Nn, weights: VisionWeights, features: Tensor): Tensor {
  const { ops, rt } = nn;
  const groups = (weights.tower.pixelShuffle ?? 1) ** 2;
  const shuffled = ops.gatherRows(features, features.rows / groups, features.cols * groups);
  rt.drop(features);
  const [weight, bias] = weights.shuffledNorm;
  const normed = nn.layerNorm(shuffled, weight, bias, { contiguousCopy: true });
  rt.drop(shuffled);
  const [linear1, linear2] = weights.projector;
  const hidden = nn.linear(normed, linear1);
  rt.drop(normed);
  const [x, gate] = ops.split(hidden, 2);
  rt.drop(hidden);
  const activated = ops.unarySavingInput(gate);
  const product = ops.mul(activated, x);
  rt.drop(activated, x, gate);
  const tokens = nn.linear(product, linear2);
  rt.drop(product);
  return tokens;
}

/** The features each crop hands LlavaMultiModalProjector (without the class token under
 * vision_feature_select_strategy 'default'), then linear_1, nn.GELU, linear_2. */
function llavaProjector(nn: Nn, weights: VisionWeights, features: Tensor, images: number) {
  const { tower } = weights;
  const crops = images * (tower.crops ?? 1);
  const rows = crops * (tower.cropFeatures ?? tower.tokensPerImage);
  const selected = rows === features.rows ? features : classTokenDropped(nn, features, crops, rows);
  return projectorMlp(nn, selected, weights.projector);
}

/** features[:, 1:] over `crops` crops, `rows` rows left: a view of one crop (SliceBackward0
 * writes a whole-size gradient), a copy where the next op's reshape folds several. */
function classTokenDropped(nn: Nn, features: Tensor, crops: number, rows: number): Tensor {
  const selected =
    crops === 1 ? nn.ops.sliceRows(features, rows) : nn.ops.gatherRows(features, rows);
  nn.rt.drop(features);
  return selected;
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
export function internvlFeatures(nn: Nn, weights: VisionWeights, embedded: Tensor, images: number) {
  const x = blocks(nn, weights, embedded);
  const selected = classTokenDropped(nn, x, images, x.rows - images); // one class token an image
  const shuffled = pixelShuffled(nn, selected, weights.tower.pixelShuffle ?? 1);
  const [weight, bias] = weights.shuffledNorm;
  const normed = nn.layerNorm(shuffled, weight, bias);
  nn.rt.drop(shuffled);
  return projectorMlp(nn, normed, weights.projector);
}

/** The blocks (every one unless given) over the embeddings' output, in turn. */
function blocks(nn: Nn, weights: VisionWeights, embedded: Tensor, layers = weights.layers) {
  let x = embedded;
  for (const layer of layers) {
    const y = visionLayer(nn, x, layer, weights.tower);
    nn.rt.drop(x);
    x = y;
  }
  return x;
}

/** Each row `side` times wider: the permute(...).reshape copies of a pixel shuffle (InternVL's
 * pixel_shuffle, Idefics3Connector.pixel_shuffle), one along each side of the patch grid; the
 * first dies with the second and neither keeps anything. */
function pixelShuffled(nn: Nn, x: Tensor, side: number): Tensor {
  const first = nn.ops.gatherRows(x, x.rows / side, x.cols * side);
  nn.rt.drop(x);
  const shuffled = nn.ops.gatherRows(first, first.rows / side, first.cols * side);
  nn.rt.drop(first);
  return shuffled;
}

/** SigLIP's last_hidden_state: the blocks over the patches, then post_layernorm over each. */
function postNormed(nn: Nn, weights: VisionWeights, embedded: Tensor): Tensor {
  const x = blocks(nn, weights, embedded);
  const [weight, bias] = weights.layoutNorm;
  const normed = nn.layerNorm(x, weight, bias);
  nn.rt.drop(x);
  return normed;
}

/** Idefics3Model / SmolVLMModel.get_image_features from the embeddings' output (the patches, no
 * class token): the blocks, post_layernorm over every patch (last_hidden_state), then
 * Idefics3Connector: the pixel shuffle and modality_projection, one bias-free linear that
 * keeps the shuffled patches. */
export function idefics3Features(nn: Nn, weights: VisionWeights, embedded: Tensor) {
  const shuffled = pixelShuffled(
    nn,
    postNormed(nn, weights, embedded),
    weights.tower.pixelShuffle ?? 1,
  );
  const tokens = nn.linear(shuffled, weights.projector[0]);
  nn.rt.drop(shuffled);
  return tokens;
}

/** Idefics2Model.forward's image path from the embeddings' output (the patches, no class
 * token): the blocks, post_layernorm over every patch (last_hidden_state), then
 * Idefics2Connector (perceiver.ts): modality_projection and the perceiver resampler. */
export function idefics2Features(nn: Nn, weights: VisionWeights, embedded: Tensor, images: number) {
  const normed = postNormed(nn, weights, embedded);
  const tokens = idefics2Connector(nn, weights, normed, images);
  nn.rt.drop(normed);
  return tokens;
}

/** PaliGemmaModel.get_image_features from the embeddings' output (the patches, no class
 * token): the blocks, post_layernorm over every patch (last_hidden_state), the projector's
 * linear (keeping the normed patches), then `image_features / (text hidden_size ** 0.5)`, a new
 * tensor that keeps nothing. */
export function paligemmaFeatures(nn: Nn, weights: VisionWeights, embedded: Tensor) {
  const normed = postNormed(nn, weights, embedded);
  const projected = nn.linear(normed, weights.projector[0]);
  nn.rt.drop(normed);
  const scaled = nn.ops.unary(projected);
  nn.rt.drop(projected);
  return scaled;
}

/** LlavaNextModel.pack_image_features: the base crop's tokens (a view), the tiles' permuted
 * into the image's grid (.contiguous(), a copy), unpadded (views: an image at its grid's own
 * shape has no padding), LLaVA-OneVision's bilinear resize (nn.functional.interpolate: a new
 * tensor; upsample_bilinear2d's backward needs only the sizes), image_newline expanded to one
 * more token a row and joined by torch.cat (a copy; the parameter's gradient sums the
 * expansion), joined after the base's by torch.cat: the image's tokens. The copies save
 * nothing and each dies with the next. */
function packedCrops(nn: Nn, weights: VisionWeights, projected: Tensor, images: number): Tensor {
  const { ops, rt } = nn;
  const { tower } = weights;
  const perCrop = tower.cropFeatures ?? tower.tokensPerImage;
  const base = ops.sliceRows(projected, images * perCrop); // image_feature[0]
  const tiles = ops.sliceRows(projected, projected.rows - base.rows); // image_feature[1:]
  let grid = ops.gatherRows(tiles, tiles.rows);
  rt.drop(projected, tiles);
  if (tower.resizedGridTokens) {
    const resized = ops.gatherRows(grid, images * tower.resizedGridTokens);
    rt.drop(grid);
    grid = resized;
  }
  const rowEnds = images * tower.tokensPerImage - base.rows - grid.rows; // a newline a row
  const newline = ops.weight(weights.newline!, rowEnds, projected.cols);
  const rows = ops.catRows([grid, newline]);
  rt.drop(grid, newline);
  const tokens = ops.catRows([base, rows]);
  rt.drop(base, rows);
  return tokens;
}
