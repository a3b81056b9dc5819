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

/** The high point of one class of moments (a phase, a part, a layer position). */
export interface ClassPeak {
  bytes: number;
  /** Live bytes per component then, in ALLOCATED_COMPONENTS order. */
  live: Float64Array;
  moment: Moment;
}

export function emptyComponents(): ComponentBytes {
  return Object.fromEntries(ALLOCATED_COMPONENTS.map((name) => [name, 0])) as ComponentBytes;
}

/** The high point of every class of moments from step `fromStep` on (the steady state: the
 * optimizer states exist). A phase's level on entry counts for it too. */
export function classPeaks(
  log: EventLog,
  fromStep: number,
  classify: (moment: Moment) => string,
): Map<string, ClassPeak> {
  const live = new Float64Array(ALLOCATED_COMPONENTS.length);
  const peaks = new Map<string, ClassPeak>();
  const keys = log.moments.map((m) =>
    m.step >= fromStep && m.phase !== 'build' ? classify(m) : '',
  );
  let total = 0;
  let lastMoment = -1;
  let peak: ClassPeak | undefined;
  for (let i = 0; i < log.length; i++) {
    const momentIndex = log.moment[i];
    if (momentIndex !== lastMoment) {
      lastMoment = momentIndex;
      peak = peakOf(peaks, keys[momentIndex], log.moments[momentIndex]);
      if (peak && total > peak.bytes) record(peak, total, live, log.moments[momentIndex]);
    }
    const delta = log.kind[i] * log.bytes[i];
    live[log.component[i]] += delta;
    total += delta;
    if (peak && delta > 0 && total > peak.bytes)
      record(peak, total, live, log.moments[momentIndex]);
  }
  return peaks;
}

function peakOf(peaks: Map<string, ClassPeak>, key: string, moment: Moment): ClassPeak | undefined {
  if (key === '') return undefined;
  let peak = peaks.get(key);
  if (!peak) {
    peak = { bytes: -1, live: new Float64Array(ALLOCATED_COMPONENTS.length), moment };
    peaks.set(key, peak);
  }
  return peak;
}

function record(peak: ClassPeak, total: number, live: Float64Array, moment: Moment): void {
  peak.bytes = total;
  peak.live.set(live);
  peak.moment = moment;
}

/** The single highest point over classes, with each phase's own high point. */
export function highestPeak(peaks: Iterable<ClassPeak>): TimelinePeak {
  let best: ClassPeak | undefined;
  const phaseTotals = { forward: 0, backward: 0, optimizer: 0 };
  for (const peak of peaks) {
    const phase = peak.moment.phase;
    if (phase !== 'build') phaseTotals[phase] = Math.max(phaseTotals[phase], peak.bytes);
    if (!best || peak.bytes > best.bytes) best = peak;
  }
  if (!best) throw new Error('the timeline has no steady-state step');
  const breakdown = emptyComponents();
  ALLOCATED_COMPONENTS.forEach((name, index) => (breakdown[name] = best.live[index]));
  return { allocatedPeakBytes: best.bytes, breakdown, moment: best.moment, phaseTotals };
}

/** Every moment its own class: the plain reading of a full timeline. */
export function readPeak(log: EventLog, fromStep: number): TimelinePeak {
  return highestPeak(
    classPeaks(
      log,
      fromStep,
      (m) => `${m.step}|${m.phase}|${m.what}|${m.layer}|${m.microBatch}`,
    ).values(),
  );
}
