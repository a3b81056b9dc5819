// What the timeline says: the allocated peak (the running maximum of live bytes), what is live
// at that moment component by component, when it happens, and each phase's own high point.
import { ALLOCATED_COMPONENTS, Component, EventLog, Moment } from './autograd/events';

export type ComponentBytes = Record<Component, number>;

export interface TimelinePeak {
  allocatedPeakBytes: number;
  /** Live bytes per component at the peak. */
  breakdown: ComponentBytes;
  moment: Moment;
  /** The highest allocated total inside each phase of the reported step. */
  phaseTotals: Record<'forward' | 'backward' | 'optimizer', number>;
}

export function emptyComponents(): ComponentBytes {
  return Object.fromEntries(ALLOCATED_COMPONENTS.map((name) => [name, 0])) as ComponentBytes;
}

/** Reads the peak of the steps from `fromStep` on (the steady state: states exist). */
export function readPeak(log: EventLog, fromStep: number): TimelinePeak {
  const live = new Float64Array(ALLOCATED_COMPONENTS.length);
  let total = 0;
  let best = -1;
  let bestIndex = -1;
  let bestLive = new Float64Array(live.length);
  const phaseTotals = { forward: 0, backward: 0, optimizer: 0 };
  for (let i = 0; i < log.length; i++) {
    const moment = log.moments[log.moment[i]];
    const phase = moment.phase === 'build' ? undefined : moment.phase;
    const counted = moment.step >= fromStep && phase !== undefined;
    // A phase's high point counts the level it starts at, before its first event.
    if (phase && counted) phaseTotals[phase] = Math.max(phaseTotals[phase], total);
    const delta = log.kind[i] * log.bytes[i];
    live[log.component[i]] += delta;
    total += delta;
    if (!phase || !counted || delta <= 0) continue;
    phaseTotals[phase] = Math.max(phaseTotals[phase], total);
    if (total > best) {
      best = total;
      bestIndex = i;
      bestLive = live.slice();
    }
  }
  const breakdown = emptyComponents();
  ALLOCATED_COMPONENTS.forEach((name, index) => (breakdown[name] = bestLive[index]));
  return {
    allocatedPeakBytes: best,
    breakdown,
    moment: log.moments[log.moment[bestIndex]],
    phaseTotals,
  };
}
