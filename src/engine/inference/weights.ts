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
}

/** Weight bytes one rank of `span` holds under tensor, pipeline and expert parallelism. */
export function stageWeightBytes(
  arch: ModelArchitecture,
  span: StageSpan,
  degrees: ParallelDegrees,
  precision: WeightPrecision,
  groupSize: number,
): StageWeights {
  const params = rankParameters(arch, span, degrees, undefined);
  const linear = bytesPerLinearWeight(precision, groupSize);
  const routedExpertBytes = params.expertLinear * linear;
  const bytes =
    params.denseLinear * linear +
    routedExpertBytes +
    params.nonLinear * bytesPerUnquantisedWeight(precision);
  return { bytes: Math.ceil(bytes), routedExpertBytes: Math.ceil(routedExpertBytes) };
}
