// What one rank holds under tensor, pipeline and expert parallelism (memory-model.md section 2).
import { countedLayers } from './layers';
import { AdaptedLora, adaptedModules } from './lora-modules';
import { visionLinearWeights } from './vision';
import {
  adapterSize,
  countParameters,
  embeddingWidthOf,
  LinearShape,
  endAdapterElements,
  linearShapes,
  projectionElements,
  selfFrozenElements,
} from './parameters';
import {
  classifierModules,
  classifierParameters,
  maskedLmTransformElements,
  maskedLmTransformFactored,
  pooledNormElements,
  savedClassifierElements,
} from './heads';
import { LoraSettings, ModelArchitecture, normElementsOf } from '../vocabulary';

export interface ParallelDegrees {
  tensorParallel: number;
  pipelineParallel: number;
  expertParallel: number;
}

export interface StageSpan {
  stage: number;
  firstLayer: number;
  layers: number;
  hasEmbedding: boolean;
  hasHead: boolean;
}

/** Parameter elements one rank of a stage holds before any ZeRO sharding. */
export interface RankParameters {
  /** Decoder-layer linear weights and their biases outside routed experts. */
  denseLinear: number;
  /** Routed-expert linear weights and biases on this rank (after EP and expert TP). */
  expertLinear: number;
  /** Everything else: embeddings, head, norms, routers, position tables. */
  nonLinear: number;
  /** LoRA adapter elements on this rank (0 for full fine-tuning). */
  adapters: number;
  /** Largest decoder layer's elements on this rank: one FSDP / ZeRO-3 unit. */
  largestLayer: number;
  /** Largest single linear on this rank (QLoRA dequantises one at a time). */
  largestLinear: number;
  /** Largest single tensor (optimizer-in-backward keeps one gradient alive). */
  largestTensor: number;
  /** Vocabulary rows after Megatron's padding to a multiple of 128 x t. */
  paddedVocab: number;
  /** Adafactor's state elements: rows + columns per matrix, every element of vectors. */
  factoredStateElements: number;
  /** An own output-head weight on this rank: untied, or the tied embedding's copy on the last
   * stage (0 elsewhere). */
  headLinear: number;
  /** The vision tower's nn.Linear weights, on the first stage (0 elsewhere; part of nonLinear). */
  visionLinear: number;
  /** The embedding / head unit DeepSpeed ZeRO-3 gathers on the first and last stage (0 elsewhere). */
  embeddingUnit: number;
  /** Weights outside the decoder layers on this rank (embedding, untied head, final norm,
   * position table): the root unit FSDP wraps around the per-layer units. */
  rootUnit: number;
  /** Every parameter element on this rank before sharding. */
  totalOnRank: number;
  /** Elements the model code freezes itself, held (in nonLinear) but never trained, whatever
   * the method: Marian's and Pegasus's sinusoidal position tables, on the first stage. */
  selfFrozen: number;
}

/** Whether the pipeline runtimes planned here can split the model into stages: not an
 * encoder-decoder, whose decoder stages would need the shared embedding and the encoder's
 * output beside the one activation stages pass, nor DeBERTa-v2, whose every layer reads the
 * relative positions its encoder builds once. */
export function pipelinable(arch: ModelArchitecture): boolean {
  return !arch.encoder && !arch.disentangled;
}

/** Whether tensor parallelism is planned for the model code: not where OPT-350m projects its
 * embedding to the hidden size, nor where DeBERTa-v2's layers project the encoder's relative
 * position table through their own query and key linears. */
export function tensorParallelizable(arch: ModelArchitecture): boolean {
  return !arch.embeddingWidth && !arch.disentangled && !arch.encoder?.audio;
}

/** The layer indices a span holds, in order. */
export const layerIndices = (span: StageSpan) =>
  Array.from({ length: span.layers }, (_, i) => span.firstLayer + i);

/** Layers per stage: the remainder goes to the last stages, since stage 0 keeps the most
 * micro-batches in flight under 1F1B and also holds the embedding. */
export function splitLayers(numLayers: number, stages: number): StageSpan[] {
  const base = Math.floor(numLayers / stages);
  const extra = numLayers % stages;
  const spans: StageSpan[] = [];
  let first = 0;
  for (let stage = 0; stage < stages; stage++) {
    const layers = base + (stage >= stages - extra ? 1 : 0);
    spans.push({
      stage,
      firstLayer: first,
      layers,
      hasEmbedding: stage === 0,
      hasHead: stage === stages - 1,
    });
    first += layers;
  }
  return spans;
}

/** How torchtitan weighs the ends of the model when it splits the layers: the embedding counts
 * as `firstStageLessLayers` layers, the norm and head as `lastStageLessLayers`. */
export interface PipelineSplit {
  firstStageLessLayers: number;
  lastStageLessLayers: number;
}

/** Why a split cannot be made, in the framework's own words. */
export class PipelineSplitError extends Error {}

/** The virtual stages' spans: torchtitan/distributed/pipeline_parallel.py
 * _generate_llm_fqn_per_model_part. The layers plus the ends' weights are divided evenly, the
 * remainder going one each to the first stages; the first stage's embedding and the last
 * stage's head take their weights out of their stage's share. With the weights at 1 and the
 * division exact this is Megatron's account_for_embedding/loss_in_pipeline_split
 * (megatron/core/transformer/transformer_block.py get_num_layers_to_build); at 0 it is
 * Megatron's even split. */
export function virtualStageSpans(
  numLayers: number,
  stages: number,
  split: PipelineSplit,
): StageSpan[] {
  if (stages === 1) return [span(0, 0, numLayers, true, true)];
  const input = split.firstStageLessLayers;
  const output = split.lastStageLessLayers;
  const effective = numLayers + input + output;
  const perStage = Math.floor(effective / stages);
  const extra = effective % stages;
  if (perStage === 0) {
    throw new PipelineSplitError(
      `${stages} stages leave some empty: ${numLayers} layers plus the embedding's and head's weights (${input} + ${output}) are ${effective}`,
    );
  }
  if (input > perStage || output > perStage) {
    throw new PipelineSplitError(
      `the embedding's or head's weight (${Math.max(input, output)}) exceeds the ${perStage} layers a stage gets`,
    );
  }
  const spans: StageSpan[] = [];
  let next = 0;
  for (let stage = 0; stage < stages; stage++) {
    const share = perStage + (stage < extra ? 1 : 0);
    const first = stage === 0;
    const last = stage === stages - 1;
    const wanted = share - (first ? input : 0) - (last ? output : 0);
    const layers = Math.min(wanted, numLayers - next);
    spans.push(span(stage, next, layers, first, last));
    next += layers;
  }
  return spans;
}

function span(stage: number, first: number, layers: number, head: boolean, tail: boolean) {
  return { stage, firstLayer: first, layers, hasEmbedding: head, hasHead: tail };
}

/** A rank's name in results: 'every rank', or its stage, layers and the ends it holds. */
export function stageLabel(span: StageSpan, stages: number, headRole = 'output head'): string {
  if (stages === 1) return 'every rank';
  return `pipeline stage ${span.stage} of ${stages} (${spanContents(span, headRole)})`;
}

/** What a span holds, as labels name it: "layers 5-6, embedding", or "no layers, output head"
 * for a stage the split leaves only an end of the model (torchtitan's weighting can give the
 * head a stage of its own). */
export function spanContents(span: StageSpan, headRole: string): string {
  const layers =
    span.layers === 0
      ? 'no layers'
      : `layers ${span.firstLayer}-${span.firstLayer + span.layers - 1}`;
  const ends = [span.hasEmbedding ? 'embedding' : '', span.hasHead ? headRole : ''];
  return [layers, ...ends].filter(Boolean).join(', ');
}

// Megatron pads the vocabulary to a multiple of 128 x t so each TP rank gets equal rows.
export function paddedVocabSize(vocab: number, tensorParallel: number): number {
  if (tensorParallel <= 1) return vocab;
  const multiple = 128 * tensorParallel;
  return Math.ceil(vocab / multiple) * multiple;
}

/** Elements of one linear (weight + bias) on one TP rank; K/V heads replicate when g < t. */
export function linearElementsPerRank(
  shape: LinearShape,
  arch: ModelArchitecture,
  tensorParallel: number,
): { weight: number; bias: number; inFeatures: number; outFeatures: number } {
  let inFeatures = shape.inFeatures;
  let outFeatures = shape.outFeatures;
  const isKv = shape.name === 'k_proj' || shape.name === 'v_proj';
  if (shape.tensorParallel === 'column') {
    outFeatures =
      isKv && arch.numKeyValueHeads < tensorParallel
        ? arch.headDim // Megatron replicates a KV head so every rank has one
        : Math.ceil(outFeatures / tensorParallel);
  } else if (shape.tensorParallel === 'row') {
    inFeatures = Math.ceil(inFeatures / tensorParallel);
  }
  const bias = shape.bias ? outFeatures : 0;
  return { weight: inFeatures * outFeatures, bias, inFeatures, outFeatures };
}

/** The layers a stage holds: its span, and on the last stage the multi-token-prediction
 * modules that follow the main stack. */
function stageLayerIndices(arch: ModelArchitecture, span: StageSpan): number[] {
  const main = Array.from({ length: span.layers }, (_, i) => span.firstLayer + i);
  if (!span.hasHead) return main;
  const modules = countedLayers(arch) - arch.numLayers;
  return [...main, ...Array.from({ length: modules }, (_, i) => arch.numLayers + i)];
}

/** Parameters held by one rank of `span` under the given degrees. */
export function rankParameters(
  arch: ModelArchitecture,
  span: StageSpan,
  degrees: ParallelDegrees,
  lora: AdaptedLora | undefined,
): RankParameters {
  const t = degrees.tensorParallel;
  const paddedVocab = paddedVocabSize(arch.vocabSize, t);
  const embeddingRows = paddedVocab / t;
  const layers = decoderLayerTotals(arch, span, degrees, lora);
  const ends = stageEndParameters(arch, span, embeddingRows, lora);
  const { denseLinear, expertLinear, largestLinear } = layers;
  const nonLinear = layers.nonLinear + ends.nonLinear;
  const endUnit = span.hasEmbedding || span.hasHead ? embeddingRows * embeddingWidthOf(arch) : 0;
  return {
    denseLinear,
    expertLinear,
    nonLinear,
    adapters: layers.adapters + ends.adapters,
    largestLayer: layers.largestLayer,
    largestLinear,
    largestTensor: Math.max(largestLinear, endUnit),
    paddedVocab,
    factoredStateElements: layers.factoredStateElements + ends.factoredStateElements,
    headLinear: ends.headLinear,
    visionLinear: ends.visionLinear,
    embeddingUnit: endUnit,
    rootUnit: ends.rootUnit,
    totalOnRank: denseLinear + expertLinear + nonLinear,
    selfFrozen: span.hasEmbedding ? selfFrozenElements(arch) : 0,
  };
}

/** Per-rank sums over the decoder layers a stage holds. */
type DecoderLayerTotals = Pick<
  RankParameters,
  | 'denseLinear'
  | 'expertLinear'
  | 'nonLinear'
  | 'adapters'
  | 'largestLayer'
  | 'largestLinear'
  | 'factoredStateElements'
>;

/** What one rank holds of its stage's decoder layers (and multi-token-prediction modules). */
function decoderLayerTotals(
  arch: ModelArchitecture,
  span: StageSpan,
  degrees: ParallelDegrees,
  lora: AdaptedLora | undefined,
): DecoderLayerTotals {
  const counts = countParameters(arch);
  const totals: DecoderLayerTotals = {
    denseLinear: 0,
    expertLinear: 0,
    nonLinear: 0,
    adapters: 0,
    largestLayer: 0,
    largestLinear: 0,
    factoredStateElements: 0,
  };
  for (const layer of stageLayerIndices(arch, span)) {
    const linears = layerLinearTotals(arch, layer, degrees, lora);
    totals.denseLinear += linears.dense;
    totals.expertLinear += linears.expert;
    totals.adapters += linears.adapters;
    totals.largestLinear = Math.max(totals.largestLinear, linears.largestLinear);
    // Norms, router biases and other small tensors are replicated across TP ranks.
    const replicated = counts.layers[layer].total - linears.unsharded;
    totals.nonLinear += replicated;
    totals.factoredStateElements += linears.factoredStateElements + replicated;
    const layerElements = linears.dense + linears.expert + replicated;
    totals.largestLayer = Math.max(totals.largestLayer, layerElements);
  }
  return totals;
}

/** Rows plus columns of the classifier's matrices, and its biases (factored optimizer states). */
function classifierFactored(arch: ModelArchitecture): number {
  const linears = classifierModules(arch).reduce(
    (sum, m) => sum + m.inFeatures + m.outFeatures + m.bias,
    0,
  );
  return linears + pooledNormElements(arch);
}

/** One layer's LoRA adapters on one rank: r x (in + out) per adapted module, a fused one's
 * outputs joined (lora-modules.ts). */
function adapterElements(
  arch: ModelArchitecture,
  shapes: LinearShape[],
  degrees: ParallelDegrees,
  lora: AdaptedLora,
): number {
  let elements = 0;
  for (const { parts } of adaptedModules(arch, shapes, lora)) {
    const local = parts.map((part) => linearElementsPerRank(part, arch, degrees.tensorParallel));
    const out = local.reduce((sum, part) => sum + part.outFeatures, 0);
    const first = parts[0];
    const copies =
      first.group === 'expert' ? Math.ceil(first.copies / degrees.expertParallel) : first.copies;
    elements += adapterSize(lora, local[0].inFeatures, out) * copies;
  }
  return elements;
}

/** One layer's linears on one rank: dense and expert elements, adapters, factored states, and
 * the elements of the whole unsharded layer's linears. */
function layerLinearTotals(
  arch: ModelArchitecture,
  layer: number,
  degrees: ParallelDegrees,
  lora: AdaptedLora | undefined,
) {
  const totals = {
    dense: 0,
    expert: 0,
    adapters: 0,
    largestLinear: 0,
    factoredStateElements: 0,
    unsharded: 0,
  };
  const shapes = linearShapes(arch, layer);
  for (const shape of shapes) {
    totals.unsharded +=
      (shape.inFeatures * shape.outFeatures + (shape.bias ? shape.outFeatures : 0)) * shape.copies;
    const local = linearElementsPerRank(shape, arch, degrees.tensorParallel);
    const copies =
      shape.group === 'expert' ? Math.ceil(shape.copies / degrees.expertParallel) : shape.copies;
    const elements = (local.weight + local.bias) * copies;
    if (shape.group === 'expert') totals.expert += elements;
    else totals.dense += elements;
    totals.largestLinear = Math.max(totals.largestLinear, local.weight);
    totals.factoredStateElements += (local.inFeatures + local.outFeatures + local.bias) * copies;
  }
  if (lora) totals.adapters = adapterElements(arch, shapes, degrees, lora);
  return totals;
}

/** Adafactor's factored states of DeBERTa-v2's relative position table (its rows and columns)
 * and of its LayerNorm (whole vectors). */
function relativePositionsFactored(arch: ModelArchitecture): number {
  const relative = arch.disentangled;
  if (!relative) return 0;
  const h = arch.hiddenSize;
  return 2 * relative.span + h + (relative.normalized ? normElementsOf(arch.norm, h) : 0);
}

/** Adafactor's factored states of DeBERTa-v2's ConvLayer (transformers' Adafactor factors a
 * tensor of two dimensions or more over its last two: the Conv1d weight's (h, h / groups, k)
 * makes rows of h x h / groups and columns of h x k) and its bias and LayerNorm (whole
 * vectors). */
function encoderConvFactored(arch: ModelArchitecture): number {
  const conv = arch.encoderConv;
  if (!conv) return 0;
  const h = arch.hiddenSize;
  return h * (h / conv.groups) + h * conv.kernel + h + normElementsOf(arch.norm, h);
}

/** Adafactor's factored states of Whisper's convolutions (over each weight's last two
 * dimensions: conv1's (h, mel, 3) makes rows of h x mel and columns of h x 3, conv2's likewise)
 * and their biases; its frozen position table has none. */
function audioInputFactored(arch: ModelArchitecture): number {
  const audio = arch.encoder?.audio;
  if (!audio) return 0;
  const h = arch.hiddenSize;
  return h * audio.melBins + h * 3 + (h * h + h * 3) + 2 * h;
}

/** What one rank holds of the embedding (first stage) and the final norm and head (last stage). */
function stageEndParameters(
  arch: ModelArchitecture,
  span: StageSpan,
  embeddingRows: number,
  lora: LoraSettings | undefined,
) {
  const counts = countParameters(arch);
  const totals = {
    nonLinear: 0,
    adapters: 0,
    factoredStateElements: 0,
    headLinear: 0,
    visionLinear: 0,
    rootUnit: 0,
  };
  const width = embeddingWidthOf(arch);
  const h = arch.hiddenSize;
  if (lora) {
    const ends = endAdapterElements(arch, lora, embeddingRows);
    if (span.hasEmbedding) totals.adapters += ends.embedding;
    // PEFT's trained copy of a sequence classifier's head goes beside the head's adapters.
    if (span.hasHead) totals.adapters += ends.head + savedClassifierElements(arch);
  }
  // OPT-350m's project_in on the first stage, project_out on the last: width x h each.
  const projection = projectionElements(arch);
  const projectionFactored = projection > 0 ? width + h : 0;
  if (span.hasEmbedding) {
    // The vision tower feeds the first stage; held whole on each rank until it is planned.
    // DeBERTa-v2's relative position table and ConvLayer sit with it (the encoder's, outside any
    // layer).
    const embedding =
      embeddingRows * width +
      counts.positionEmbedding +
      counts.embeddingNorm +
      counts.relativePositions +
      counts.encoderConv +
      counts.audioInput +
      projection +
      counts.vision;
    totals.rootUnit += embedding;
    totals.nonLinear += embedding;
    totals.visionLinear = arch.vision ? visionLinearWeights(arch.vision) : 0;
    totals.factoredStateElements +=
      embeddingRows +
      width +
      counts.embeddingNorm +
      relativePositionsFactored(arch) +
      encoderConvFactored(arch) +
      audioInputFactored(arch) +
      projectionFactored +
      counts.vision;
  }
  if (span.hasHead) {
    totals.nonLinear += counts.finalNorm + projection;
    totals.factoredStateElements += counts.finalNorm + projectionFactored;
    if (arch.sequenceClassificationLabels) {
      // The classifier in place of the vocabulary head (its factored rows and columns below).
      totals.headLinear = classifierParameters(arch);
      totals.nonLinear += totals.headLinear;
      totals.factoredStateElements += classifierFactored(arch);
    } else if (!arch.tieWordEmbeddings || !span.hasEmbedding) {
      // An untied head, or the tied embedding's copy when the head sits on another stage.
      totals.headLinear = embeddingRows * width;
      totals.nonLinear += totals.headLinear;
      totals.factoredStateElements += embeddingRows + width;
    }
    // BERT's masked-LM transform (dense h x h + h, LayerNorm 2h) and the head's own bias.
    const beforeHead = maskedLmTransformElements(arch);
    const headBias = arch.outputHeadBias && !arch.sequenceClassificationLabels ? embeddingRows : 0;
    totals.nonLinear += beforeHead + headBias;
    totals.factoredStateElements += maskedLmTransformFactored(arch) + headBias;
    totals.rootUnit += beforeHead + headBias;
    totals.rootUnit += counts.finalNorm + projection + totals.headLinear;
  }
  return totals;
}
