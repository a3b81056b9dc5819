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
  LinearShape,
  linearShapes,
  visionAdapterElements,
} from '../model/parameters';
import {
  layerIndices,
  linearElementsPerRank,
  ParallelDegrees,
  rankParameters,
  StageSpan,
} from '../model/placement';
import { LoraSettings, ModelArchitecture, PlanRequest } from '../vocabulary';
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
    // MllamaTextModel skips its cross-attention layers on text
    const skipped = layerIndices(span).filter(
      (l) => layerKind(arch, l).mixer === 'cross-attention',
    );
    for (const layer of skipped) idle += trainedInLayer(arch, layer, degrees, lora);
  }
  const read = lora && layerRecipe(arch, request).kernelLinears;
  if (!lora || !read) return idle;
  for (const layer of layerIndices(span)) {
    for (const shape of bypassedShapes(arch, layer, lora, read)) {
      const local = linearElementsPerRank(shape, arch, degrees.tensorParallel);
      idle += adapterSize(lora, local.inFeatures, local.outFeatures) * shape.copies;
    }
  }
  return idle;
}

/** A layer's adapted linears among those a fused kernel reads by weight (`read`): PEFT makes
 * and counts their adapters, which never run. */
export function bypassedShapes(
  arch: ModelArchitecture,
  layer: number,
  lora: LoraSettings,
  read: string[],
): LinearShape[] {
  return linearShapes(arch, layer).filter(
    (shape) => read.includes(shape.name) && shapeAdapted(arch, lora, shape),
  );
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
