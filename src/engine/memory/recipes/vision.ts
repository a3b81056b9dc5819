// A vision-language model's image encoder forward, read from the VisionTower description: the
// patch embedding, the blocks (vision-block.ts: the generic pre-norm ViT block of SigLIP,
// Qwen2-VL's first tower, Llama-4, Mllama and Pixtral, or the Qwen ViTs' own), then what each
// layout does with the features: the projector's linears on gathered patches, the Qwen patch
// merger and Qwen3-VL's deepstack mergers (models/qwen3_vl/modeling_qwen3_vl.py
// Qwen3VLVisionPatchMerger), or LLaVA's and InternVL's get_image_features (vision-features.ts).
// Its activations are planned for the request's images per sample (training.imagesPerSample,
// 0 = text only).
import { Nn } from '../autograd/nn';
import { FP32 } from '../autograd/ops';
import { Tensor } from '../autograd/runtime';
import { VisionTower } from '../../vocabulary';
import { LinearParams } from '../model/rank-model';
import { QwenTowerInputs, towerNorm, visionLayer } from './vision-block';
import {
  ayaFeatures,
  clipFeatures,
  idefics2Features,
  idefics3Features,
  onevisionFeatures,
  internvlFeatures,
  paligemmaFeatures,
} from './vision-features';
import { DeepstackWeights, VisionWeights } from './vision-weights';

/** The image tokens a tower hands the text stack: the projector's, and one per deepstack merger
 * that ran, in the order of the blocks they read. */
export interface VisionOutput {
  tokens: Tensor;
  deepstack: Tensor[];
}

/** The layouts whose code takes the embeddings' output to the image tokens itself
 * (vision-features.ts): LLaVA's CLIP, LLaVA-OneVision's and Aya Vision's SigLIP, InternVL's,
 * Idefics2's and Idefics3's, PaliGemma's. */
type OwnFeatures = (nn: Nn, weights: VisionWeights, embedded: Tensor, images: number) => Tensor;
const OWN_FEATURES: Partial<Record<NonNullable<VisionTower['layout']>, OwnFeatures>> = {
  clip: clipFeatures,
  onevision: onevisionFeatures,
  aya: ayaFeatures,
  internvl: internvlFeatures,
  idefics2: idefics2Features,
  idefics3: idefics3Features,
  paligemma: paligemmaFeatures,
};

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
  const out = nn.ops.convolution(input, weight, tower.hiddenSize);
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
    const ownFeatures = tower.layout && OWN_FEATURES[tower.layout];
    if (ownFeatures) return { tokens: ownFeatures(nn, weights, x, images), deepstack: [] };
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

/** What a plan says of the tower: its images, or on text alone what it still holds. A flat
 * optimizer (DeepSpeed's, Megatron's) steps the tower's states with its partition; PyTorch's
 * make none for parameters no gradient reached (torch/optim adamw.py _init_group). */
export const VISION_NOTE = (tower: VisionTower, images: number, flatOptimizer: boolean) =>
  images > 0
    ? `${tower.kind} image encoder planned for ${images} image(s) per sample (${tower.patchesPerImage} patches each through ${tower.layers} layers, SDPA over each image's patches${featureNote(tower)}; training.imagesPerSample)`
    : `${tower.kind} image encoder's weights counted, ${flatOptimizer ? "and its optimizer states in the engine's flat partition" : 'and no optimizer states for it (no gradient reaches it, and PyTorch makes states for parameters with one)'}; its activations are planned only for images per sample above 0 (training.imagesPerSample, 0 = text-only batches)`;

/** Where the features come from when the blocks after them run for nothing (LLaVA). */
function featureNote(tower: VisionTower): string {
  const feeding = tower.featureLayers ?? tower.layers;
  if (feeding === tower.layers) return '';
  return `; the features are block ${feeding}'s output (vision_feature_layer), the ${tower.layers - feeding} block(s) after it run and keep nothing`;
}
