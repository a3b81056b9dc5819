// Reserved memory: a rank's event log replayed through the caching allocator simulation
// (allocator.ts). The first replay has the whole card; when the segments it reserves would not
// fit beside what lives outside the allocator, the log is replayed again against the room the
// card has, as a real run's cudaMalloc fails there and the allocator frees its cache and retries
// (CUDACachingAllocator.cpp malloc: release_cached_blocks, then alloc_block with isRetry).
import { AllocatorOutOfMemoryError, CachingAllocator } from './allocator';
import { EventLog, Moment } from './autograd/events';

export interface AllocatorSettings {
  /** PYTORCH_CUDA_ALLOC_CONF expandable_segments:True. */
  expandableSegments: boolean;
  /** Device bytes the allocator may reserve: the card less what lives outside the allocator and
   * the plan's safety margin. */
  budgetBytes: number;
}

export interface ReservedReplay {
  /** torch.cuda.max_memory_reserved() from the first training step on. */
  peakBytes: number;
  /** The most ever reserved, the model's build included. */
  highestBytes: number;
  /** num_alloc_retries: times the allocator emptied its cache to find room (each a stall). */
  retries: number;
  /** Where the run stops with "CUDA out of memory" though the cache was emptied. */
  outOfMemoryAt?: Moment;
}

/** Replays `log` against `capacity` bytes; the peak counts from step 1 on (the harness resets
 * the peak statistics after the setup's empty_cache). */
function replay(log: EventLog, expandableSegments: boolean, capacity: number): ReservedReplay {
  const allocator = new CachingAllocator({
    expandableSegments,
    capacityBytes: Number.isFinite(capacity) ? capacity : undefined,
  });
  let peakBytes = 0;
  let highestBytes = 0;
  const counted = log.moments.map((moment) => moment.step >= 1);
  for (let i = 0; i < log.length; i++) {
    const kind = log.kind[i];
    try {
      if (kind > 0) allocator.allocate(log.key[i], log.bytes[i], log.stream[i]);
      else if (kind < 0) allocator.free(log.key[i]);
      else allocator.emptyCache();
    } catch (error) {
      if (!(error instanceof AllocatorOutOfMemoryError)) throw error;
      const outOfMemoryAt = momentOf(log, i);
      return { peakBytes, highestBytes, retries: allocator.allocRetryCount, outOfMemoryAt };
    }
    const reserved = allocator.reservedBytes;
    highestBytes = Math.max(highestBytes, reserved);
    if (counted[log.moment[i]]) peakBytes = Math.max(peakBytes, reserved);
  }
  return { peakBytes, highestBytes, retries: allocator.allocRetryCount };
}

function momentOf(log: EventLog, event: number): Moment {
  return log.moments[log.moment[event]];
}

/** Reserved memory of the log: unbounded when it fits the budget, else replayed against it. */
export function replayReserved(log: EventLog, settings: AllocatorSettings): ReservedReplay {
  const unbounded = replay(log, settings.expandableSegments, Infinity);
  if (unbounded.highestBytes <= settings.budgetBytes || settings.budgetBytes <= 0) return unbounded;
  const bounded = replay(log, settings.expandableSegments, settings.budgetBytes);
  // Out of memory: the plan reports what the run would have needed, and where it stops.
  if (bounded.outOfMemoryAt) return { ...unbounded, outOfMemoryAt: bounded.outOfMemoryAt };
  return bounded;
}
