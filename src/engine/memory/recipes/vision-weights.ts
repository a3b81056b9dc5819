// The image encoder's parameters as the rank holds them, built from the VisionTower description
// in the order model/vision.ts visionLinears counts its linears: each block's linears, norms and
// (InternVL) q/k norms and layer scales, the projector's, the deepstack mergers', and the tensors
// the count lumps (embeddings, projector norms, gates) with the norms each layout runs apart.
import { Param } from '../autograd/runtime';
import { DeepstackMerger, VisionTower } from '../../vocabulary';
import { visionLinearAdapted } from '../../model/parameters';
import { blockBiases, blockShapes, VisionLinear, visionLinears } from '../../model/vision';
import { adapter, baseParam, LinearParams, loraParamsOf, ParamStorage } from '../model/rank-model';
import { quantizesTower } from '../model-states';

export interface VisionLayer {
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
  /** InternVL's and Aya Vision's projector LayerNorm over the pixel-shuffled width (weight and
   * bias), counted among the projector's norms. */
  shuffledNorm: Param[];
  /** Projector norms (but the Qwen merger's) and Mllama's layer gates, lumped. */
  extras?: Param;
  /** LLaVA-NeXT's image_newline (text-wide), counted with the projector's norms. */
  newline?: Param;
  /** Qwen3-VL's deepstack mergers, in the config's order. */
  deepstack: DeepstackWeights[];
  /** Idefics2's perceiver resampler (its linears are the projector's after the first three). */
  resampler?: ResamplerWeights;
  /** Every parameter in creation order. */
  all: Param[];
}

/** Idefics2PerceiverResampler's parameters: the latents, each layer's input_latents_norm,
 * input_context_norm and post_attention_layernorm and its q, k, v, o, gate, up and down, and
 * the final norm (RMSNorms: a weight each). */
export interface ResamplerWeights {
  latents: Param;
  layers: { norms: [Param, Param, Param]; linears: LinearParams[] }[];
  norm: Param;
}

export interface DeepstackWeights {
  merger: DeepstackMerger;
  norm: Param[]; // LayerNorm(inFeatures): weight and bias
  linears: LinearParams[]; // linear_fc1, linear_fc2
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

/** A norm of the tower's kind: LayerNorm's weight and bias, or RMSNorm's weight. */
type MakeNorm = (name: string, width?: number) => Param[];

function normMaker(s: ParamStorage, tower: VisionTower): MakeNorm {
  return (name, width = tower.hiddenSize) =>
    tower.norm === 'layernorm'
      ? [baseParam(s, name, width), baseParam(s, `${name}.bias`, width)]
      : [baseParam(s, name, width)];
}

/** Each block: its linears (biased as model/vision.ts blockBiases says), two norms, InternVL's
 * q/k norms and layer scales. */
function blockWeights(
  s: ParamStorage,
  tower: VisionTower,
  linears: VisionLinear[],
  make: MakeLinear,
  norm: MakeNorm,
): VisionLayer[] {
  const perBlock = blockShapes(tower).length;
  const biases = blockBiases(tower);
  const vectors = (i: number, names: string[]) =>
    names.map((n) => baseParam(s, `vision.${i}.${n}`, tower.hiddenSize));
  return Array.from({ length: tower.layers }, (_, i) => ({
    linears: linears
      .slice(i * perBlock, (i + 1) * perBlock)
      .map((linear, k) => make(linear, biases[k])),
    norms: [norm(`vision.${i}.norm1`), norm(`vision.${i}.norm2`)],
    qkNorms: tower.qkNorm ? vectors(i, ['q_norm', 'k_norm']) : [],
    scales: tower.layerScale ? vectors(i, ['lambda_1', 'lambda_2']) : [],
  }));
}

/** The hidden-wide norm a layout runs apart from its blocks, and where the count holds it:
 * Qwen's merger norm among the projector's norms; CLIP's pre_layrnorm and LLaVA-OneVision's,
 * Aya Vision's, Idefics2's, Idefics3's and PaliGemma's post_layernorm among the embeddings. */
const LAYOUT_NORMS: Partial<
  Record<NonNullable<VisionTower['layout']>, { name: string; inEmbeddings: boolean }>
> = {
  qwen: { name: 'vision.merger.norm', inEmbeddings: false },
  clip: { name: 'vision.pre_layrnorm', inEmbeddings: true },
  onevision: { name: 'vision.post_layernorm', inEmbeddings: true },
  aya: { name: 'vision.post_layernorm', inEmbeddings: true },
  idefics2: { name: 'vision.post_layernorm', inEmbeddings: true },
  idefics3: { name: 'vision.post_layernorm', inEmbeddings: true },
  paligemma: { name: 'vision.post_layernorm', inEmbeddings: true },
};

/** The norm a layout runs apart from its blocks (LAYOUT_NORMS), and how much of it the count
 * holds among the embeddings and among the projector's norms. */
function layoutNormOf(tower: VisionTower, norm: MakeNorm) {
  const own = tower.layout && LAYOUT_NORMS[tower.layout];
  const params = own ? norm(own.name) : [];
  const elements = params.reduce((sum, p) => sum + p.elements, 0);
  const fromEmbeddings = own?.inEmbeddings ? elements : 0;
  return { params, fromEmbeddings, fromProjector: elements - fromEmbeddings };
}

/** The layouts whose projector starts with a LayerNorm over the pixel-shuffled width
 * (InternVLMultiModalProjector.layer_norm, AyaVisionMultiModalProjector.layernorm). */
const SHUFFLED_NORM_LAYOUTS: ReadonlySet<VisionTower['layout']> = new Set(['internvl', 'aya']);

/** That LayerNorm's weight and bias, held among the projector's norms. */
function shuffledNormOf(s: ParamStorage, tower: VisionTower): Param[] {
  if (!SHUFFLED_NORM_LAYOUTS.has(tower.layout)) return [];
  const shuffled = tower.hiddenSize * (tower.pixelShuffle ?? 1) ** 2;
  return [
    baseParam(s, 'projector.layer_norm', shuffled),
    baseParam(s, 'projector.layer_norm.bias', shuffled),
  ];
}

/** The layouts that pack an image's crops with a text-wide image_newline ending each grid row
 * (LLaVA-NeXT's CLIP, LLaVA-OneVision's SigLIP). */
function packsCrops(tower: VisionTower): boolean {
  return (tower.crops ?? 1) > 1 && (tower.layout === 'clip' || tower.layout === 'onevision');
}

/** The resampler's latents and RMSNorms, and its layers' linears out of the projector's (the
 * three before them are modality_projection's). */
function resamplerWeights(
  s: ParamStorage,
  tower: VisionTower,
  projector: LinearParams[],
): ResamplerWeights | undefined {
  const { resampler } = tower;
  if (!resampler) return undefined;
  const width = tower.projector[2].outFeatures; // modality_projection's down_proj: the text's
  const norm = (name: string) => baseParam(s, `connector.perceiver_resampler.${name}`, width);
  return {
    latents: baseParam(s, 'connector.perceiver_resampler.latents', resampler.latents * width),
    layers: Array.from({ length: resampler.depth }, (_, i) => ({
      norms: [
        norm(`layers.${i}.input_latents_norm`),
        norm(`layers.${i}.input_context_norm`),
        norm(`layers.${i}.post_attention_layernorm`),
      ],
      linears: projector.slice(3 + 7 * i, 3 + 7 * (i + 1)),
    })),
    norm: norm('norm'),
  };
}

function resamplerNormParams(resampler: ResamplerWeights | undefined): Param[] {
  if (!resampler) return [];
  return [resampler.latents, ...resampler.layers.flatMap((l) => l.norms), resampler.norm];
}

/** The tensors the count lumps, less what a layout runs as its own: the embeddings (patch and
 * position embeddings, pre/post norms), the projector's other norms and Mllama's gates
 * ('extras'), and LLaVA-NeXT's text-wide image_newline. */
function lumpedWeights(
  s: ParamStorage,
  tower: VisionTower,
  layoutNorm: ReturnType<typeof layoutNormOf>,
  projectorNorms: Param[],
) {
  const newline = packsCrops(tower) ? tower.projector[1].outFeatures : 0;
  const own = projectorNorms.reduce((sum, p) => sum + p.elements, 0);
  const ownNorms = layoutNorm.fromProjector + own;
  const extras =
    Math.max(0, tower.projectorNormParameters - ownNorms - newline) + (tower.layerGates ?? 0);
  const embeddings = tower.embeddingParameters - layoutNorm.fromEmbeddings;
  return {
    embeddings: baseParam(s, 'vision.embeddings', embeddings),
    extras: extras > 0 ? baseParam(s, 'vision.extras', extras) : undefined,
    newline: newline > 0 ? baseParam(s, 'image_newline', newline) : undefined,
  };
}

/** The tower's parameters, counted as model/vision.ts counts them: its linears are the ones
 * visionLinears lists (each block's, the projector's, the deepstack mergers'), in that order. */
export function buildVisionWeights(s: ParamStorage, tower: VisionTower): VisionWeights {
  const make = linearMaker(s);
  const norm = normMaker(s, tower);
  const described = visionLinears(tower);
  const layers = blockWeights(s, tower, described, make, norm);
  const rest = described.slice(tower.layers * blockShapes(tower).length);
  const projector = tower.projector.map((p, j) => make(rest[j], p.bias));
  const mergers = rest.slice(tower.projector.length);
  const layoutNorm = layoutNormOf(tower, norm);
  const shuffledNorm = shuffledNormOf(s, tower);
  const resampler = resamplerWeights(s, tower, projector);
  const projectorNorms = [...shuffledNorm, ...resamplerNormParams(resampler)];
  const weights: VisionWeights = {
    tower,
    ...lumpedWeights(s, tower, layoutNorm, projectorNorms),
    layers,
    projector,
    layoutNorm: layoutNorm.params,
    shuffledNorm,
    deepstack: (tower.deepstack ?? []).map((merger, i) => ({
      merger,
      norm: deepstackNorm(s, merger, i),
      linears: mergers.slice(2 * i, 2 * i + 2).map((linear) => make(linear, true)),
    })),
    resampler,
    all: [],
  };
  weights.all = creationOrder(weights);
  return weights;
}

/** Every parameter of the tower in the order the model creates them. */
function creationOrder(weights: VisionWeights): Param[] {
  return [
    weights.embeddings,
    ...weights.layers.flatMap((l) => [
      ...l.norms.flat(),
      ...l.linears.flatMap(paramsOf),
      ...l.qkNorms,
      ...l.scales,
    ]),
    ...weights.layoutNorm,
    ...weights.shuffledNorm,
    ...connectorOrder(weights),
    ...(weights.extras ? [weights.extras] : []),
    ...(weights.newline ? [weights.newline] : []),
    ...weights.deepstack.flatMap((d) => [...d.norm, ...d.linears.flatMap(paramsOf)]),
  ];
}

/** The projector's linears, or Idefics2's connector in its modules' order: modality_projection,
 * then the resampler's latents, each layer's norms and linears as its __init__ makes them
 * (input_latents_norm, input_context_norm, self_attn, post_attention_layernorm, mlp), and its
 * final norm. */
function connectorOrder(weights: VisionWeights): Param[] {
  const { resampler } = weights;
  if (!resampler) return weights.projector.flatMap(paramsOf);
  return [
    ...weights.projector.slice(0, 3).flatMap(paramsOf),
    resampler.latents,
    ...resampler.layers.flatMap(({ norms: [latents, context, post], linears }) => [
      latents,
      context,
      ...linears.slice(0, 4).flatMap(paramsOf),
      post,
      ...linears.slice(4).flatMap(paramsOf),
    ]),
    resampler.norm,
  ];
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
