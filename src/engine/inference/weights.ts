// Weights held at the serving precision (docs/memory-model.md §7; §2 for placement).
import { ParallelDegrees, rankParameters, StageSpan } from '../model/placement';
import { ModelArchitecture, WeightPrecision } from '../vocabulary';

/** Bytes per weight of a quantised linear: the stored value plus one fp16 scale per group
 * (GPTQ/AWQ-style group quantisation: int4 group 128 is 0.5 + 2/128 bytes). */
export function bytesPerLinearWeight(precision: WeightPrecision, groupSize: number): number {
  switch (precision) {
    case 'fp32':
      return 4;
    case 'bf16':
    case 'fp16':
      return 2;
    case 'fp8':
      return 1; // per-tensor or 128x128-block fp32 scales (DeepSeek-V3) add under 0.03%
    case 'int8':
      return 1 + 2 / groupSize;
    case 'int4':
      return 0.5 + 2 / groupSize;
  }
}

/** Bytes per element of everything that is not a decoder linear (embeddings, output head, norms):
 * quantised checkpoints keep them in 16 bits (vLLM quantises LinearBase layers only). */
export function bytesPerUnquantisedWeight(precision: WeightPrecision): number {
  return precision === 'fp32' ? 4 : 2;
}

export interface StageWeights {
  /** Every weight byte the rank holds. */
  bytes: number;
  /** The routed experts' share (a decode step reads only the experts its tokens picked). */
  routedExpertBytes: number;
  /** An encoder-decoder's encoder layers' share: the encoder runs once, in prefill, and a
   * decode step reads none of them. */
  encoderBytes: number;
}

/** Weight bytes one rank of `span` holds under tensor, pipeline and expert parallelism. */
export function stageWeightBytes(
  arch: ModelArchitecture,
  span: StageSpan,
  degrees: ParallelDegrees,
  precision: WeightPrecision,
  groupSize: number,
): StageWeights {
  const linear = bytesPerLinearWeight(precision, groupSize);
  const held = (part: StageSpan) => {
    const params = rankParameters(arch, part, degrees, undefined);
    const experts = params.expertLinear * linear;
    const total =
      params.denseLinear * linear +
      experts +
      params.nonLinear * bytesPerUnquantisedWeight(precision);
    return { total: Math.ceil(total), experts: Math.ceil(experts) };
  };
  const { total, experts } = held(span);
  const encoder = encoderSpan(arch, span);
  return {
    bytes: total,
    routedExpertBytes: experts,
    encoderBytes: encoder ? held(encoder).total : 0,
  };
}

/** The encoder layers of `span`, without its embedding or head; none for a decoder-only model. */
function encoderSpan(arch: ModelArchitecture, span: StageSpan): StageSpan | undefined {
  const encoderLayers = arch.encoder?.numLayers ?? 0;
  const layers = Math.min(span.firstLayer + span.layers, encoderLayers) - span.firstLayer;
  if (layers <= 0) return undefined;
  return { ...span, layers, hasEmbedding: false, hasHead: false };
}
