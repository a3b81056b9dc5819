// Trained parameters no backward reaches, which PyTorch's optimizers make no state for
// (torch/optim/adamw.py _init_group steps the parameters whose .grad exists): a vision-language
// model's image tower, and Mllama's cross-attention layers, on text-only batches; LoRA adapters
// around linears a fused kernel takes by weight (Mamba's). DeepSpeed's and Megatron's optimizers
// step their flat partitions whole, so they keep states for these too. The closed form
// (model-states.ts) leaves them out as the timeline does (timeline.ts optimizerStep).
import { layerKind } from '../model/layers';
import { AdaptedLora, shapeAdapted } from '../model/lora-modules';
import {
  adapterSize,
  countParameters,
  linearShapes,
  visionAdapterElements,
} from '../model/parameters';
import {
  linearElementsPerRank,
  ParallelDegrees,
  rankParameters,
  StageSpan,
} from '../model/placement';
import { ModelArchitecture, PlanRequest } from '../vocabulary';
import { layerRecipe } from './recipes';

/** A vision-language model trained on text alone: its tower (and Mllama's cross-attention
 * layers) sit every step out. */
export function textOnlyVision(request: PlanRequest, arch: ModelArchitecture): boolean {
  return arch.vision !== undefined && !((request.training.imagesPerSample ?? 0) > 0);
}

/** Elements, before ZeRO sharding, that one rank of `span` trains but no backward reaches. */
export function idleTrainedElements(
  request: PlanRequest,
  arch: ModelArchitecture,
  span: StageSpan,
  degrees: ParallelDegrees,
  lora: AdaptedLora | undefined,
): number {
  if (request.runtime.dataParallelEngine !== 'pytorch') return 0;
  let idle = 0;
  if (textOnlyVision(request, arch)) {
    if (span.hasEmbedding) {
      idle += lora ? visionAdapterElements(arch, lora) : countParameters(arch).vision;
    }
    for (const layer of layersOf(span)) {
      if (layerKind(arch, layer).mixer !== 'cross-attention') continue; // MllamaTextModel skips it
      idle += trainedInLayer(arch, layer, degrees, lora);
    }
  }
  const bypassed = layerRecipe(arch, request).kernelLinears;
  if (lora && bypassed) {
    for (const layer of layersOf(span))
      idle += bypassedAdapters(arch, layer, degrees, lora, bypassed);
  }
  return idle;
}

function layersOf(span: StageSpan): number[] {
  return Array.from({ length: span.layers }, (_, i) => span.firstLayer + i);
}

/** One layer's trained elements on a rank: its parameters, or its adapters under LoRA. */
function trainedInLayer(
  arch: ModelArchitecture,
  layer: number,
  degrees: ParallelDegrees,
  lora: AdaptedLora | undefined,
): number {
  const span = { stage: 0, firstLayer: layer, layers: 1, hasEmbedding: false, hasHead: false };
  const params = rankParameters(arch, span, degrees, lora);
  return lora ? params.adapters : params.denseLinear + params.expertLinear + params.nonLinear;
}

/** The adapters of a layer's linears the fused kernel reads by weight, on a rank. */
function bypassedAdapters(
  arch: ModelArchitecture,
  layer: number,
  degrees: ParallelDegrees,
  lora: AdaptedLora,
  names: string[],
): number {
  let elements = 0;
  for (const shape of linearShapes(arch, layer)) {
    if (!names.includes(shape.name) || !shapeAdapted(arch, lora, shape)) continue;
    const local = linearElementsPerRank(shape, arch, degrees.tensorParallel);
    elements += adapterSize(lora, local.inFeatures, local.outFeatures) * shape.copies;
  }
  return elements;
}
