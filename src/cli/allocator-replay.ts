// `shardplan allocator replay trace.csv.gz`: the simulated caching allocator against a real trace.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import {
  parseTrace,
  replayTrace,
  ReplayResult,
  TraceEvent,
  TraceFormatError,
} from '../engine/memory/trace';
import { CliUsageError } from './args';
import { gib as formatGiB } from '../../public/js/format.js';
import { renderTable } from './table';

/** The replay's figures, the trace's name, and a second replay anchored on the real addresses. */
export interface AllocatorReplayReport extends ReplayResult {
  trace: string;
  /** (simulated - trace) / trace reserved peak, in percent. */
  reservedPeakErrorPercent: number;
  /** The same replay given the addresses the real cudaMalloc returned (they break size ties). */
  withRealSegmentAddresses: Pick<
    ReplayResult,
    | 'simulatedReservedPeakBytes'
    | 'simulatedSegments'
    | 'matchingSegmentDecisions'
    | 'matchingAddresses'
  >;
}

function unreadable(message: string): CliUsageError {
  return new CliUsageError([{ field: 'trace', message }]);
}

/** A trace file's events, gzip'd (told by its first two bytes) or plain CSV. */
export function readTraceFile(path: string): TraceEvent[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw unreadable(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
    return parseTrace((gzip ? gunzipSync(bytes) : bytes).toString('utf8'));
  } catch (error) {
    throw unreadable(`${path} is not an allocator trace: ${(error as Error).message}`);
  }
}

export function percentError(simulated: number, real: number): number {
  return real === 0 ? 0 : ((simulated - real) / real) * 100;
}

/** Replays one trace file, blind (synthetic addresses) and anchored on the real addresses. */
export function replayTraceFile(path: string): AllocatorReplayReport {
  const events = readTraceFile(path);
  let blind: ReplayResult;
  let anchored: ReplayResult;
  try {
    blind = replayTrace(events);
    anchored = replayTrace(events, { traceSegmentAddresses: true });
  } catch (error) {
    if (!(error instanceof TraceFormatError)) throw error;
    throw unreadable(`${path} is not a consistent allocator trace: ${error.message}`);
  }
  return {
    trace: path,
    ...blind,
    reservedPeakErrorPercent: percentError(
      blind.simulatedReservedPeakBytes,
      blind.traceReservedPeakBytes,
    ),
    withRealSegmentAddresses: {
      simulatedReservedPeakBytes: anchored.simulatedReservedPeakBytes,
      simulatedSegments: anchored.simulatedSegments,
      matchingSegmentDecisions: anchored.matchingSegmentDecisions,
      matchingAddresses: anchored.matchingAddresses,
    },
  };
}

const bytes = (n: number) => n.toLocaleString('en-US');
const signed = (percent: number) => `${percent >= 0 ? '+' : ''}${percent.toFixed(3)}%`;
const share = (part: number, whole: number) =>
  `${bytes(part)} of ${bytes(whole)} (${((part / Math.max(whole, 1)) * 100).toFixed(2)}%)`;

/** The human table: simulated beside real, then how many allocations agree event by event. */
export function renderAllocatorReplay(report: AllocatorReplayReport): string {
  const anchored = report.withRealSegmentAddresses;
  const rows = [
    [
      'reserved peak (B)',
      bytes(report.simulatedReservedPeakBytes),
      bytes(report.traceReservedPeakBytes),
      signed(report.reservedPeakErrorPercent),
    ],
    ['', formatGiB(report.simulatedReservedPeakBytes), formatGiB(report.traceReservedPeakBytes)],
    ['allocated peak (B)', bytes(report.allocatedPeakBytes), bytes(report.traceAllocatedPeakBytes)],
    ['segment_alloc', bytes(report.simulatedSegments), bytes(report.traceSegments)],
    ['segment_free', bytes(report.simulatedSegmentFrees), bytes(report.traceSegmentFrees)],
  ];
  const table = renderTable(['', 'simulated', 'trace', 'error'], rows, [
    'left',
    'right',
    'right',
    'right',
  ]);
  const first = report.firstSegmentMismatch;
  const of = (part: number) => share(part, report.allocations);
  const anchoredError = percentError(
    anchored.simulatedReservedPeakBytes,
    report.traceReservedPeakBytes,
  );
  return [
    `${report.trace}: ${bytes(report.events)} events, ${bytes(report.allocations)} allocations`,
    table,
    `allocated peak: simulated block bytes (rounded); trace: bytes as requested`,
    `segment opened as in the trace: ${of(report.matchingSegmentDecisions)}` +
      (first === null ? '' : `; first differs at event ${bytes(first + 1)}`),
    `with the real cudaMalloc addresses:`,
    `  reserved peak ${bytes(anchored.simulatedReservedPeakBytes)} (${signed(anchoredError)})`,
    `  segment opened as in the trace: ${of(anchored.matchingSegmentDecisions)}`,
    `  block at the real address: ${of(anchored.matchingAddresses ?? 0)}`,
  ].join('\n');
}
