// Reading a timeline's EventLog in specs: the events as plain records, and the bytes live at a
// given point (allocations minus frees), so that specs can state what PyTorch holds when.
import {
  ALLOCATED_COMPONENTS,
  Component,
  EventLog,
  Moment,
} from '../../src/engine/memory/autograd/events';

export interface LoggedEvent {
  /** +1 allocation, -1 free, 0 torch.cuda.empty_cache(). */
  kind: number;
  bytes: number;
  component: Component;
  stream: number;
}

/** Events [from, to) of the log as records. */
export function eventsOf(log: EventLog, from = 0, to = log.length): LoggedEvent[] {
  const events: LoggedEvent[] = [];
  for (let i = from; i < to; i++) {
    events.push({
      kind: log.kind[i],
      bytes: log.bytes[i],
      component: ALLOCATED_COMPONENTS[log.component[i]],
      stream: log.stream[i],
    });
  }
  return events;
}

/** Signed byte counts of events [from, to): +n for an allocation, -n for a free. */
export function deltasOf(log: EventLog, from = 0, to = log.length): number[] {
  return eventsOf(log, from, to)
    .filter((event) => event.kind !== 0)
    .map((event) => event.kind * event.bytes);
}

/** Bytes live after the first `upTo` events, optionally of one component only. */
export function liveBytes(log: EventLog, upTo = log.length, component?: Component): number {
  let live = 0;
  for (let i = 0; i < upTo; i++) {
    if (component && ALLOCATED_COMPONENTS[log.component[i]] !== component) continue;
    live += log.kind[i] * log.bytes[i];
  }
  return live;
}

/** The highest live total over events [from, to), starting from what was live at `from`,
 * optionally of one component only. */
export function peakBytes(log: EventLog, from = 0, to = log.length, component?: Component): number {
  let live = liveBytes(log, from, component);
  let peak = live;
  for (let i = from; i < to; i++) {
    if (component && ALLOCATED_COMPONENTS[log.component[i]] !== component) continue;
    live += log.kind[i] * log.bytes[i];
    peak = Math.max(peak, live);
  }
  return peak;
}

/** Bytes live when the first moment `named` picks begins (before any of its events). */
export function liveWhen(log: EventLog, named: (moment: Moment) => boolean): number {
  const momentIndex = log.moments.findIndex(named);
  if (momentIndex < 0) throw new Error('no such moment on the log');
  let first = 0;
  while (first < log.length && log.moment[first] < momentIndex) first++;
  return liveBytes(log, first);
}
