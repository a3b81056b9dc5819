import { EventLog, Moment } from './autograd/events';
import { replayReserved } from './reserved';

const MIB = 2 ** 20;

function moment(step: number, layer: number): Moment {
  return { step, phase: 'forward', layer, microBatch: 0, what: 'layer' };
}

/** A log of (allocate key, MiB) and (free key) events, one moment per step-1 layer. */
function logOf(events: ([number, number] | [number])[]): EventLog {
  const log = new EventLog();
  events.forEach((event, layer) => {
    log.mark(moment(1, layer));
    if (event.length === 2) log.push(1, event[0], event[1] * MIB, 4, 0);
    else log.push(-1, event[0], 0, 4, 0);
  });
  return log;
}

describe('reserved memory replayed against the card', () => {
  // Each block is >= 10 MiB, so each gets a segment of its own rounded to 2 MiB (kMinLargeAlloc).
  const cachedThenLarger = logOf([[1, 60], [1], [2, 70]]);

  it('keeps the cached 60 MiB segment beside the new 70 MiB one when the card has room', () => {
    const replay = replayReserved(cachedThenLarger, {
      expandableSegments: false,
      budgetBytes: 200 * MIB,
    });
    expect(replay.peakBytes).toBe((60 + 70) * MIB);
    expect(replay.retries).toBe(0);
  });

  it('frees the cache and retries when 60 + 70 MiB would not fit in 100 MiB', () => {
    const replay = replayReserved(cachedThenLarger, {
      expandableSegments: false,
      budgetBytes: 100 * MIB,
    });
    // The 60 MiB segment is released (release_cached_blocks), then 70 MiB is cudaMalloc'd.
    expect(replay.peakBytes).toBe(70 * MIB);
    expect(replay.retries).toBe(1);
    expect(replay.outOfMemoryAt).toBeUndefined();
  });

  it('names the moment of out-of-memory when both blocks are live', () => {
    const bothLive = logOf([
      [1, 60],
      [2, 70],
    ]);
    const replay = replayReserved(bothLive, { expandableSegments: false, budgetBytes: 100 * MIB });
    expect(replay.outOfMemoryAt).toEqual(moment(1, 1));
    // The plan reports what the run would need: both segments.
    expect(replay.peakBytes).toBe(130 * MIB);
  });

  it('maps only the pages live blocks need with expandable segments', () => {
    // 60 MiB freed then 70 MiB: the large pool's segment grows in 20 MiB pages (kLargeBuffer),
    // from three pages to four, instead of a second segment beside the cached one.
    const replay = replayReserved(cachedThenLarger, {
      expandableSegments: true,
      budgetBytes: 200 * MIB,
    });
    expect(replay.peakBytes).toBe(4 * 20 * MIB);
  });
});
