// Allocator traces (torch.cuda.memory._snapshot()["device_traces"][0] as CSV) and their replay
// through the simulated caching allocator. Text in, figures out: the files are read elsewhere.
import { AllocatorOptions, CachingAllocator, SegmentEvent } from './allocator';

/** TraceEntry::Action names the traces keep (c10/cuda/CUDACachingAllocator.h). */
export const TRACE_ACTIONS = [
  'alloc',
  'free_requested',
  'free_completed',
  'segment_alloc',
  'segment_free',
] as const;
export type TraceAction = (typeof TRACE_ACTIONS)[number];

export interface TraceEvent {
  action: TraceAction;
  address: number;
  /** The tensor's bytes for alloc/free events (as requested), the segment's for segment events. */
  bytes: number;
  stream: number;
  /** Allocs numbered 0, 1, 2... in order; a free carries its alloc's number; segment events -1. */
  block: number;
}

const HEADER = 'action,addr,size,stream';

/** Raised for text that is not an allocator trace; names the line at fault. */
export class TraceFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceFormatError';
  }
}

function parseInteger(text: string, field: string, line: number): number {
  const value = Number(text);
  if (text === '' || !Number.isSafeInteger(value) || value < 0)
    throw new TraceFormatError(`line ${line}: ${field} '${text}' is not a non-negative integer`);
  return value;
}

/** Numbers each alloc's block and finds it again at its frees, by the address it holds. */
class BlockNumbers {
  private readonly live = new Map<number, number>();
  private next = 0;

  of(action: TraceAction, address: number, line: number): number {
    if (action === 'alloc') {
      if (this.live.has(address))
        throw new TraceFormatError(`line ${line}: alloc at ${address}, which a live block holds`);
      this.live.set(address, this.next);
      return this.next++;
    }
    if (action === 'segment_alloc' || action === 'segment_free') return -1;
    const block = this.live.get(address);
    if (block === undefined)
      throw new TraceFormatError(`line ${line}: ${action} at ${address}, which no alloc holds`);
    if (action === 'free_completed') this.live.delete(address);
    return block;
  }
}

function parseEvent(text: string, line: number, blocks: BlockNumbers): TraceEvent {
  const fields = text.split(',');
  if (fields.length !== 4)
    throw new TraceFormatError(`line ${line}: expected 4 fields (${HEADER}), got ${fields.length}`);
  const action = fields[0] as TraceAction;
  if (!TRACE_ACTIONS.includes(action))
    throw new TraceFormatError(`line ${line}: unknown action '${fields[0]}'`);
  const address = parseInteger(fields[1], 'addr', line);
  return {
    action,
    address,
    bytes: parseInteger(fields[2], 'size', line),
    stream: parseInteger(fields[3], 'stream', line),
    block: blocks.of(action, address, line),
  };
}

/**
 * Reads a trace's CSV text: the header `action,addr,size,stream`, then one event a line. Every
 * free must follow an alloc at its address, as in a trace recorded from the process's start.
 */
export function parseTrace(text: string): TraceEvent[] {
  const lines = text.split('\n');
  if (lines[0].trim() !== HEADER)
    throw new TraceFormatError(`line 1: expected the header '${HEADER}'`);
  const events: TraceEvent[] = [];
  const blocks = new BlockNumbers();
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index].trim();
    if (line !== '') events.push(parseEvent(line, index + 1, blocks));
  }
  return events;
}

export interface ReplayOptions {
  /** Allocator settings the run used (expandable segments, max_split_size, device memory). */
  allocator?: Omit<AllocatorOptions, 'onSegment' | 'segmentAddress'>;
  /** Give a simulated cudaMalloc the real one's address when both open the same segment. */
  traceSegmentAddresses?: boolean;
}

export interface ReplayResult {
  events: number;
  allocations: number;
  /** The simulation's max_memory_reserved(), fed only the trace's alloc and free_completed. */
  simulatedReservedPeakBytes: number;
  /** The peak of the trace's segment_alloc - segment_free running sum: the real one. */
  traceReservedPeakBytes: number;
  /** The simulation's max_memory_allocated(): block bytes, rounded, with any unsplit slack. */
  allocatedPeakBytes: number;
  /** The peak of the trace's alloc - free_completed running sum (bytes as requested). */
  traceAllocatedPeakBytes: number;
  /** cudaMalloc calls (segment_alloc) of the simulation and of the trace. */
  simulatedSegments: number;
  traceSegments: number;
  /** cudaFree calls (segment_free) of the simulation and of the trace. */
  simulatedSegmentFrees: number;
  traceSegmentFrees: number;
  /** Allocations where both opened no segment, or both opened one of the same size. */
  matchingSegmentDecisions: number;
  /** The first allocation (index into the events) where they did not; null if none. */
  firstSegmentMismatch: number | null;
  /** empty_cache() calls inferred from the trace's segment_free bursts. */
  emptyCacheCalls: number;
  /** With the real segment addresses: allocations placed at the very address the real one was. */
  matchingAddresses: number | null;
}

/** What the real allocator did, from the trace's own running sums. */
function traceTotals(events: TraceEvent[]) {
  let reserved = 0;
  let reservedPeak = 0;
  let allocated = 0;
  let allocatedPeak = 0;
  let segments = 0;
  let segmentFrees = 0;
  for (const event of events) {
    if (event.action === 'segment_alloc') {
      segments++;
      reserved += event.bytes;
      reservedPeak = Math.max(reservedPeak, reserved);
    } else if (event.action === 'segment_free') {
      segmentFrees++;
      reserved -= event.bytes;
    } else if (event.action === 'alloc') {
      allocated += event.bytes;
      allocatedPeak = Math.max(allocatedPeak, allocated);
    } else if (event.action === 'free_completed') allocated -= event.bytes;
  }
  return { reservedPeak, allocatedPeak, segments, segmentFrees };
}

/** The segment the real allocator opened for the alloc at `index` (it comes just before). */
function traceSegmentBefore(events: TraceEvent[], index: number): TraceEvent | undefined {
  const previous = events[index - 1];
  return previous?.action === 'segment_alloc' ? previous : undefined;
}

/** One simulated allocator fed a trace's events in order; counts where it agrees with the trace. */
class TraceReplay {
  readonly allocator: CachingAllocator;
  allocations = 0;
  matchingSegmentDecisions = 0;
  firstSegmentMismatch: number | null = null;
  emptyCacheCalls = 0;
  matchingAddresses = 0;
  segmentFrees = 0;
  private opened: SegmentEvent[] = [];
  private index = 0;

  constructor(
    private readonly events: TraceEvent[],
    options: ReplayOptions,
  ) {
    this.allocator = new CachingAllocator({
      ...options.allocator,
      onSegment: (event) => {
        if (event.action === 'segment_alloc' || event.action === 'segment_map')
          this.opened.push(event);
        else this.segmentFrees++;
      },
      segmentAddress: options.traceSegmentAddresses
        ? (bytes, stream) => this.realSegmentAddress(bytes, stream)
        : undefined,
    });
  }

  run(): void {
    for (this.index = 0; this.index < this.events.length; this.index++) {
      try {
        this.step(this.events[this.index]);
      } catch (error) {
        if (!(error instanceof Error) || error.name === 'AllocatorOutOfMemoryError') throw error;
        const { action, address } = this.events[this.index];
        throw new TraceFormatError(
          `event ${this.index + 1} (${action} ${address}): ${error.message}`,
        );
      }
    }
  }

  private step(event: TraceEvent): void {
    if (event.action === 'alloc') this.alloc(event);
    else if (event.action === 'free_completed') this.allocator.free(event.block);
    else if (
      event.action === 'segment_free' &&
      this.events[this.index - 1]?.action !== 'segment_free'
    ) {
      // A burst of segment_free that no failed cudaMalloc explains is torch.cuda.empty_cache():
      // the harness (tools/measure/sharded.py) calls it once, after sharding the model.
      this.allocator.emptyCache();
      this.emptyCacheCalls++;
    }
  }

  private alloc(event: TraceEvent): void {
    this.opened = [];
    const block = this.allocator.malloc(event.block, event.bytes, event.stream);
    this.allocations++;
    if (block.address === event.address) this.matchingAddresses++;
    const real = traceSegmentBefore(this.events, this.index)?.bytes ?? 0;
    const simulated = this.opened.reduce((sum, opened) => sum + opened.bytes, 0);
    if (real === simulated) this.matchingSegmentDecisions++;
    else this.firstSegmentMismatch ??= this.index;
  }

  private realSegmentAddress(bytes: number, stream: number): number | undefined {
    const real = traceSegmentBefore(this.events, this.index);
    return real && real.bytes === bytes && real.stream === stream ? real.address : undefined;
  }
}

/**
 * Replays a trace's alloc and free_completed events (and its empty_cache calls) through a
 * simulated allocator with pools per stream, beside the figures the trace itself records.
 */
export function replayTrace(events: TraceEvent[], options: ReplayOptions = {}): ReplayResult {
  const replay = new TraceReplay(events, options);
  replay.run();
  const real = traceTotals(events);
  return {
    events: events.length,
    allocations: replay.allocations,
    simulatedReservedPeakBytes: replay.allocator.peakReservedBytes,
    traceReservedPeakBytes: real.reservedPeak,
    allocatedPeakBytes: replay.allocator.peakAllocatedBytes,
    traceAllocatedPeakBytes: real.allocatedPeak,
    simulatedSegments: replay.allocator.deviceAllocationCount,
    traceSegments: real.segments,
    simulatedSegmentFrees: replay.segmentFrees,
    traceSegmentFrees: real.segmentFrees,
    matchingSegmentDecisions: replay.matchingSegmentDecisions,
    firstSegmentMismatch: replay.firstSegmentMismatch,
    emptyCacheCalls: replay.emptyCacheCalls,
    matchingAddresses: options.traceSegmentAddresses ? replay.matchingAddresses : null,
  };
}
