// Pipeline parallelism as the frameworks run it: which virtual stages a rank holds, and the
// order of forward and backward micro-batches on each rank (torch.distributed.pipelining
// schedules.py, Megatron-Core pipeline_parallel/schedules.py).
import { StageSpan } from '../model/placement';
import { PipelineSchedule, PlanRequest } from '../vocabulary';

/** The virtual stages rank `rank` holds: r, r + p, r + 2p, ... (torchtitan's "loop" placement,
 * PipelineStage's stage_index_to_group_rank = i % group_size; Megatron's model chunks). */
export function rankChunks(spans: StageSpan[], ranks: number, rank: number): StageSpan[] {
  return spans.filter((s) => s.stage % ranks === rank);
}

/** One compute action of a rank: a forward or a full backward of one micro-batch on one of its
 * chunks (local index). */
export interface PipelineAction {
  kind: 'F' | 'B';
  chunk: number;
  microBatch: number;
}

/** Whose schedule code runs: PyTorch's pipelining (torchtitan) or Megatron-Core. */
export type PipelineRuntime = 'pytorch' | 'megatron';

export interface ScheduleShape {
  schedule: PipelineSchedule;
  ranks: number;
  /** Chunks (virtual stages) per rank. */
  chunks: number;
  microBatches: number;
  runtime: PipelineRuntime;
}

/** Megatron's schedules drive the pipeline under its data-parallel engine; PyTorch's otherwise. */
export function pipelineRuntime(request: PlanRequest): PipelineRuntime {
  return request.runtime.dataParallelEngine === 'megatron' ? 'megatron' : 'pytorch';
}

/** The schedule a rank holding `chunks` virtual stages runs: the request's pipeline, or one
 * micro-batch after another. */
export function scheduleShape(request: PlanRequest, chunks: number): ScheduleShape {
  const { parallelism, training } = request;
  return {
    schedule: parallelism.pipelineSchedule,
    ranks: parallelism.pipelineParallel,
    chunks,
    microBatches: training.gradientAccumulationSteps,
    runtime: pipelineRuntime(request),
  };
}

/** One of a rank's virtual stages as its schedule sees it. */
export interface ChunkRole {
  layers: number;
  /** It receives its input from the stage before (every virtual stage but the first). */
  receives: boolean;
  /** It sends its output to the stage after (every virtual stage but the last). */
  sends: boolean;
}

/** What a rank holds for its micro-batches after one action of its schedule. */
export interface InFlightMoment {
  /** Layer-micro-batches whose forward has run and whose backward has not: what its saved
   * activations are a multiple of (one micro-batch through every layer of the rank is what a
   * run without a pipeline keeps). */
  layers: number;
  /** Micro-batches in flight on chunks that send their output (PyTorch keeps each output, the
   * root of its backward, until then: timeline.ts ScheduleRunner.forward). */
  sentOutputs: number;
  /** Backwards done on chunks that receive (PyTorch leaves each input gradient on its receive
   * buffer until the next step: stage.py clear_runtime_states). */
  inputGradients: number;
  /** A backward of the step has run, so the step's gradients exist. */
  afterBackward: boolean;
}

/** The rank's moments, one after each action of its full schedule. */
export function inFlightMoments(
  shape: ScheduleShape,
  rank: number,
  chunks: ChunkRole[],
): InFlightMoment[] {
  const moment = { layers: 0, sentOutputs: 0, inputGradients: 0, afterBackward: false };
  return rankActions(shape, rank).map(({ kind, chunk }) => {
    const { layers, receives, sends } = chunks[chunk];
    const sign = kind === 'F' ? 1 : -1;
    moment.layers += sign * layers;
    if (sends) moment.sentOutputs += sign;
    if (kind === 'B' && receives) moment.inputGradients += 1;
    if (kind === 'B') moment.afterBackward = true;
    return { ...moment };
  });
}

/** The rank's actions in the order it runs them. */
export function rankActions(shape: ScheduleShape, rank: number): PipelineAction[] {
  if (shape.ranks === 1) return sequential(shape.microBatches);
  if (shape.schedule === 'gpipe') return gpipe(shape.microBatches);
  if (shape.schedule === '1f1b' || shape.chunks === 1) return oneForwardOneBackward(shape, rank);
  return interleaved(shape, rank);
}

/** No pipeline: each micro-batch's forward then its backward. */
function sequential(microBatches: number): PipelineAction[] {
  return Array.from({ length: microBatches }, (_, mb) => [
    { kind: 'F' as const, chunk: 0, microBatch: mb },
    { kind: 'B' as const, chunk: 0, microBatch: mb },
  ]).flat();
}

/** ScheduleGPipe._step_microbatches: every forward, then every backward in order. */
function gpipe(microBatches: number): PipelineAction[] {
  const all = Array.from({ length: microBatches }, (_, mb) => mb);
  return [
    ...all.map((mb) => ({ kind: 'F' as const, chunk: 0, microBatch: mb })),
    ...all.map((mb) => ({ kind: 'B' as const, chunk: 0, microBatch: mb })),
  ];
}

/** Schedule1F1B._step_microbatches: min(m, p - rank) warm-up forwards, then one backward and one
 * forward until the forwards run out, then the remaining backwards. Megatron's
 * forward_backward_pipelining_without_interleaving (p - rank - 1 warm-ups, then forward and
 * backward pairs) runs the same sequence. */
function oneForwardOneBackward(shape: ScheduleShape, rank: number): PipelineAction[] {
  const m = shape.microBatches;
  const warmup = Math.min(m, shape.ranks - rank);
  const actions: PipelineAction[] = [];
  let forward = 0;
  let backward = 0;
  while (forward < warmup) actions.push({ kind: 'F', chunk: 0, microBatch: forward++ });
  while (backward < m) {
    actions.push({ kind: 'B', chunk: 0, microBatch: backward++ });
    if (forward < m) actions.push({ kind: 'F', chunk: 0, microBatch: forward++ });
  }
  return actions;
}

/** Interleaved 1F1B over `chunks` model chunks per rank. PyTorch (ScheduleInterleaved1F1B,
 * _get_1f1b_rank_ops): micro-batches go in rounds of m / max(1, m // p), warm-up is
 * (v - 1) rounds + 2 (p - 1 - rank) forwards; Megatron (forward_backward_pipelining_with_
 * interleaving) groups p micro-batches (microbatch_group_size_per_vp_stage's default) and runs
 * every forward first when m = p. Forward k uses chunk (k // group) % v, backward k the mirror. */
function interleaved(shape: ScheduleShape, rank: number): PipelineAction[] {
  const { ranks: p, chunks: v, microBatches: m } = shape;
  const total = m * v;
  const group = shape.runtime === 'megatron' ? p : m / Math.max(1, Math.floor(m / p));
  const warmup =
    shape.runtime === 'megatron' && m === p
      ? total
      : Math.min((v - 1) * group + 2 * (p - 1 - rank), total);
  const forwardChunk = (k: number) => Math.floor(k / group) % v;
  const backwardChunk = (k: number) => v - 1 - (Math.floor((k - warmup) / group) % v);
  const nextMb = new Array<number>(v).fill(0);
  const nextBackMb = new Array<number>(v).fill(0);
  const actions: PipelineAction[] = [];
  const forward = (k: number) => {
    const chunk = forwardChunk(k);
    actions.push({ kind: 'F', chunk, microBatch: nextMb[chunk]++ });
  };
  const backward = (k: number) => {
    const chunk = backwardChunk(k);
    actions.push({ kind: 'B', chunk, microBatch: nextBackMb[chunk]++ });
  };
  for (let k = 0; k < total + warmup; k++) {
    if (k < warmup) forward(k);
    else if (k < total) {
      forward(k);
      backward(k);
    } else backward(k);
  }
  return actions;
}

/** A shorter run of the same schedule: `microBatches` micro-batches, and where the omitted
 * stretch of the steady state sat in the full run. */
export interface ScheduleTruncation {
  microBatches: number;
  actions: PipelineAction[];
  /** Index in `actions` where the full run's omitted actions would have run. */
  gapAt: number;
  /** Micro-batches whose actions were left out. */
  omitted: number;
}

// Steady-state periods kept: the first reaches the steady state, the second repeats it, so the
// caching allocator meets the pattern it will see every later period too.
const KEPT_PERIODS = 2;

/** The fewest micro-batches whose schedule is the full one with whole periods of its steady
 * state cut out (warm-up and cool-down kept op for op): in the steady state each period frees
 * and allocates the same tensors as the one before, so the cut periods change nothing but the
 * number of tensors kept per micro-batch, which the timeline adds at the gap. */
export function truncateSchedule(shape: ScheduleShape, rank: number): ScheduleTruncation {
  const full = rankActions(shape, rank);
  const whole = { microBatches: shape.microBatches, actions: full, gapAt: full.length, omitted: 0 };
  if (shape.schedule === 'gpipe' && shape.ranks > 1) return whole; // all forwards are in flight
  const unit = periodMicroBatches(shape);
  for (let m = unit; m < shape.microBatches; m += unit) {
    const actions = rankActions({ ...shape, microBatches: m }, rank);
    const gapAt = cutPoint(full, actions, unit * shape.chunks);
    if (gapAt !== undefined)
      return { microBatches: m, actions, gapAt, omitted: shape.microBatches - m };
  }
  return whole;
}

/** Micro-batches per steady-state period: one for 1F1B; a round of micro-batches for each
 * chunk for the interleaved schedules. */
function periodMicroBatches(shape: ScheduleShape): number {
  if (shape.ranks === 1 || shape.chunks === 1 || shape.schedule !== 'interleaved') return 1;
  const m = shape.microBatches;
  return shape.runtime === 'megatron' ? shape.ranks : m / Math.max(1, Math.floor(m / shape.ranks));
}

/** Where `short` leaves the full run: the index after which `short` continues as the full
 * run's tail, if `short` is the full run with one contiguous stretch cut out of its steady
 * state after at least KEPT_PERIODS periods of forward-backward pairs. */
function cutPoint(
  full: PipelineAction[],
  short: PipelineAction[],
  periodForwards: number,
): number | undefined {
  const same = (a: PipelineAction, b: PipelineAction) => a.kind === b.kind && a.chunk === b.chunk;
  const tail = full.length - short.length;
  const firstBackward = short.findIndex((a) => a.kind === 'B');
  const gapAt = firstBackward + 2 * KEPT_PERIODS * periodForwards;
  if (firstBackward < 0 || gapAt > short.length || !isSteady(short, gapAt)) return undefined;
  for (let i = 0; i < short.length; i++) {
    if (!same(short[i], full[i < gapAt ? i : i + tail])) return undefined;
  }
  return gapAt;
}

/** The gap sits where forwards and backwards still alternate (not in the cool-down). */
function isSteady(actions: PipelineAction[], gapAt: number): boolean {
  const before = actions[gapAt - 1];
  const after = actions[gapAt];
  return !!before && !!after && before.kind !== after.kind;
}
