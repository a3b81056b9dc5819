// A training step that repeats the one before it, event for event, written out from the log
// instead of run again. The third step exists only so the caching allocator meets the steady
// state twice (timeline.ts); when the second step left behind exactly what it took over from
// the first (tensor for tensor: bytes, component, stream) and freed nothing older, the runtime
// enters the third step as it entered the second and records the same events, less those a
// mechanism makes once in the run (EventLog.onceInRun: DDP's bucket rebuild), which
// repeated-step.spec.ts checks against the third step run in full.
import { EventLog, Moment } from './autograd/events';

/** How step `step` is written again as the next one. Event indices are the log's. */
export interface StepRepeat {
  /** First event of the step before, and of the step. */
  before: number;
  first: number;
  end: number;
  firstMoment: number;
  /** For each event from `before` on: the allocation event it frees (or is), or -1. */
  source: Int32Array;
  /** For each event from `before` on: 1 where it happens once in the run (not repeated). */
  once: Uint8Array;
  /** Allocations of the step still alive at its end, in order. */
  leaves: number[];
  /** Allocations of the step before that the step freed, in allocation order. */
  inherited: number[];
  nextKey: number;
}

/** The first moment of `step`, where the log's moments run through the steps in order. */
function firstMomentOf(moments: Moment[], step: number): number {
  let first = -1;
  for (let m = 0; m < moments.length; m++) {
    if (m > 0 && moments[m].step < moments[m - 1].step) return -1;
    if (first < 0 && moments[m].step === step) first = m;
  }
  return first;
}

/** The first event at or after moment `moment` (events' moments never go back). */
function firstEventAt(log: EventLog, moment: number): number {
  let low = 0;
  let high = log.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (log.moment[middle] < moment) low = middle + 1;
    else high = middle;
  }
  return low;
}

function nextKeyOf(log: EventLog): number {
  let highest = 0;
  for (let i = 0; i < log.length; i++) if (log.key[i] > highest) highest = log.key[i];
  return highest + 1;
}

/** Marks the events from `before` on that happen once in the run. */
function onceFlags(log: EventLog, before: number): Uint8Array {
  const once = new Uint8Array(log.length - before);
  for (const event of log.onceInRun) if (event >= before) once[event - before] = 1;
  return once;
}

// freedAt for an allocation a once-in-the-run event frees: not part of the repeating pattern.
const FREED_ONCE = -2;

/** Pairs each free from `before` on with its allocation; undefined where a repeating free at
 * or after `first` is of a tensor allocated before `before` (older than the step before) or by
 * an event that happens once. */
function pairFrees(
  log: EventLog,
  before: number,
  first: number,
  nextKey: number,
  once: Uint8Array,
) {
  const liveAllocation = new Int32Array(nextKey).fill(-1);
  const source = new Int32Array(log.length - before).fill(-1);
  const freedAt = new Int32Array(log.length - before).fill(-1);
  for (let i = before; i < log.length; i++) {
    const key = log.key[i];
    if (log.kind[i] > 0) {
      liveAllocation[key] = i;
      source[i - before] = i;
    } else if (log.kind[i] < 0) {
      const allocation = liveAllocation[key];
      const repeats = once[i - before] === 0;
      if (allocation < 0) {
        if (i >= first && repeats) return undefined;
        continue;
      }
      if (i >= first && repeats && once[allocation - before] === 1) return undefined;
      liveAllocation[key] = -1;
      source[i - before] = allocation;
      freedAt[allocation - before] = repeats ? i : FREED_ONCE;
    }
  }
  return { source, freedAt };
}

const sameTensor = (log: EventLog, a: number, b: number) =>
  log.bytes[a] === log.bytes[b] &&
  log.component[a] === log.component[b] &&
  log.stream[a] === log.stream[b];

/** Whether the log's last step, `step`, can be written out again as step + 1: it frees only
 * its own tensors and some of the step before's, and what it leaves alive is, tensor for
 * tensor, what it took over from the step before. */
export function repeatableStep(log: EventLog, step: number): StepRepeat | undefined {
  const beforeMoment = firstMomentOf(log.moments, step - 1);
  const firstMoment = firstMomentOf(log.moments, step);
  if (beforeMoment < 0 || firstMoment < 0) return undefined;
  const before = firstEventAt(log, beforeMoment);
  const first = firstEventAt(log, firstMoment);
  if (before >= first || first >= log.length) return undefined;
  const nextKey = nextKeyOf(log);
  const once = onceFlags(log, before);
  const paired = pairFrees(log, before, first, nextKey, once);
  if (!paired) return undefined;
  const { source, freedAt } = paired;
  const leaves: number[] = [];
  const inherited: number[] = [];
  for (let i = before; i < log.length; i++) {
    if (log.kind[i] <= 0 || once[i - before] === 1) continue;
    const freed = freedAt[i - before];
    if (i >= first && freed === -1) leaves.push(i);
    else if (i < first && freed >= first) inherited.push(i);
  }
  if (leaves.length !== inherited.length) return undefined;
  if (!leaves.every((leaf, j) => sameTensor(log, leaf, inherited[j]))) return undefined;
  return { before, first, end: log.length, firstMoment, source, once, leaves, inherited, nextKey };
}

const nextStep = (moment: Moment): Moment => ({ ...moment, step: moment.step + 1 });

/** Appends step + 1: the step's moments and events again (less those that happen once in the
 * run), its allocations under new keys, its frees of the step before's tensors now frees of the
 * ones it left. */
export function appendRepeatedStep(log: EventLog, repeat: StepRepeat): void {
  const { before, first, end, firstMoment, source, once } = repeat;
  const stepMoments = log.moments.slice(firstMoment);
  const heirKey = new Map<number, number>();
  repeat.inherited.forEach((allocation, j) => heirKey.set(allocation, log.key[repeat.leaves[j]]));
  const newKey = new Int32Array(end - first);
  let nextKey = repeat.nextKey;
  let moment = -1;
  for (let i = first; i < end; i++) {
    const at = log.moment[i] - firstMoment;
    while (moment < at) log.mark(nextStep(stepMoments[++moment]));
    if (once[i - before] === 1) continue;
    const kind = log.kind[i] as 1 | -1 | 0;
    const allocation = source[i - before];
    let key = 0;
    if (kind > 0) key = newKey[i - first] = nextKey++;
    else if (kind < 0)
      key = allocation >= first ? newKey[allocation - first] : heirKey.get(allocation)!;
    log.push(kind, key, log.bytes[i], log.component[i], log.stream[i]);
  }
  while (moment + 1 < stepMoments.length) log.mark(nextStep(stepMoments[++moment]));
}
