// A deep pipeline rank is simulated at two shallow depths and extrapolated. Under 1F1B
// (schedules.py Schedule1F1B, Megatron's forward_backward_pipelining_without_interleaving) rank r
// of p runs min(m, p - r) forwards before its first backward, and from then on keeps that many
// micro-batches in flight. Every micro-batch in flight holds the same tensors (its stage input,
// what its forward saved), so what a moment holds grows linearly with the depth, as a long stack
// grows with its layers (truncation.ts). Two simulations one micro-batch apart give the slope.
import { StageSpan } from '../model/placement';
import { layerKind } from '../model/layers';
import { ModelArchitecture } from '../vocabulary';
import { Moment } from './autograd/events';
import { ScheduleShape } from './schedule';
import { pattern } from './truncation';

// Ranks that keep up to this many micro-batches in flight are simulated as they run; deeper ones
// at this depth and one less. Our calibration has no pipeline run, so the depth is the one at
// which the simulation has reached the steady 1F1B pattern: 4 forward-backward pairs.
export const SIMULATED_DEPTH = 4;

export interface DepthTruncation {
  /** Micro-batches the rank keeps in flight. */
  depth: number;
  /** The two depths simulated, shallower first. */
  depths: [number, number];
}

/** The rank's warm-up depth, when it is deep enough to extrapolate; undefined otherwise. */
export function depthTruncation(shape: ScheduleShape, rank: number): DepthTruncation | undefined {
  // schedule.ts rankActions: one chunk per rank runs 1F1B under either non-GPipe schedule.
  const oneForwardOneBackward = shape.ranks > 1 && shape.chunks === 1 && shape.schedule !== 'gpipe';
  if (!oneForwardOneBackward) return undefined;
  const depth = Math.min(shape.microBatches, shape.ranks - rank);
  // A rank whose warm-up takes every micro-batch has no steady state to extrapolate along.
  if (depth <= SIMULATED_DEPTH || depth >= shape.microBatches) return undefined;
  return { depth, depths: [SIMULATED_DEPTH - 1, SIMULATED_DEPTH] };
}

/** The pipeline rank that runs `depth` warm-up forwards (Schedule1F1B: p - rank of them). */
export function rankAtDepth(shape: ScheduleShape, depth: number): number {
  return shape.ranks - depth;
}

/** A moment's class, the same at every depth: a forward counted from the first forward of the
 * steady state (the last warm-up forward is -1); a backward of the steady state by its
 * micro-batch (the first backward is micro-batch 0 at every depth), one of the cool-down by its
 * place in it (the cool-down's first backward follows the last forward at every depth). */
export function depthClass(moment: Moment, depth: number, microBatches: number): string {
  const coolDown = microBatches - depth;
  const position =
    moment.phase === 'forward'
      ? moment.microBatch - depth
      : moment.phase === 'backward' && moment.microBatch >= coolDown
        ? `c${moment.microBatch - coolDown}`
        : moment.microBatch;
  return `${moment.step}|${moment.phase}|${moment.what}|${moment.layer}|${position}`;
}

/** The value at `t.depth` on the line through the two simulated depths. */
export function extrapolateDepth(shallow: number, deep: number, t: DepthTruncation): number {
  const [a, b] = t.depths;
  return deep + ((deep - shallow) / (b - a)) * (t.depth - b);
}

/** The moment at the rank's own depth: a forward, or a backward of the cool-down, `depth -
 * deeper` micro-batches later or earlier. */
export function momentAtDepth(
  moment: Moment,
  t: DepthTruncation,
  microBatches: number,
  layerOffset: number,
): Moment {
  const deeper = t.depths[1];
  const coolDown = moment.phase === 'backward' && moment.microBatch >= microBatches - deeper;
  const shift = moment.phase === 'forward' ? t.depth - deeper : coolDown ? deeper - t.depth : 0;
  const layer = moment.layer >= 0 ? moment.layer + layerOffset : moment.layer;
  return { ...moment, microBatch: moment.microBatch + shift, layer };
}

/** A middle stage whose layers are all of one kind plans the same wherever it sits: the span
 * it is simulated as (stage 1 from layer 0), so every such rank shares the simulation, and the
 * offset that names its own layers. */
export function sharedSpan(
  arch: ModelArchitecture,
  span: StageSpan,
  virtualStages: number,
): { span: StageSpan; layerOffset: number } {
  const middle =
    span.stage > 0 && span.stage < virtualStages - 1 && !span.hasEmbedding && !span.hasHead;
  if (!middle || !uniformLayers(arch)) return { span, layerOffset: 0 };
  return { span: { ...span, stage: 1, firstLayer: 0 }, layerOffset: span.firstLayer };
}

function uniformLayers(arch: ModelArchitecture): boolean {
  const kinds = Array.from({ length: arch.numLayers }, (_, i) => layerKind(arch, i).key);
  const { prefix, period } = pattern(kinds);
  return prefix === 0 && period === 1;
}
