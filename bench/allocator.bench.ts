// `npx ts-node --transpile-only bench/allocator.bench.ts`: replay speed of the simulated caching
// allocator on each recorded trace, with its reserved peak beside the real one.
import { join } from 'node:path';
import { percentError, readTraceFile } from '../src/cli/allocator-replay';
import { replayTrace, TraceEvent } from '../src/engine/memory/trace';

const DIRECTORY = join(__dirname, '..', 'data', 'calibration', 'allocator-traces');
const RUN_IDS = [10, 20, 25, 30, 40, 50, 55, 60, 90, 202, 205, 212];
const WARM_UP_REPLAYS = 5;
const TIMED_REPLAYS = 20;

/** Milliseconds per replay: the median of the timed replays, after the JIT has warmed up. */
function millisecondsPerReplay(events: TraceEvent[]): number {
  for (let i = 0; i < WARM_UP_REPLAYS; i++) replayTrace(events);
  const times: number[] = [];
  for (let i = 0; i < TIMED_REPLAYS; i++) {
    const started = process.hrtime.bigint();
    replayTrace(events);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b)[times.length >> 1];
}

const header = [
  'trace',
  'events',
  'sim reserved peak',
  'real reserved peak',
  'error',
  'segments sim/real',
  'ms/replay',
  'events/s',
];
console.log(header.join('  '));
for (const id of RUN_IDS) {
  const events = readTraceFile(join(DIRECTORY, `trace-${id}.csv.gz`));
  const result = replayTrace(events);
  const milliseconds = millisecondsPerReplay(events);
  const error = percentError(result.simulatedReservedPeakBytes, result.traceReservedPeakBytes);
  console.log(
    [
      String(id).padStart(5),
      String(events.length).padStart(6),
      String(result.simulatedReservedPeakBytes).padStart(17),
      String(result.traceReservedPeakBytes).padStart(18),
      `${error >= 0 ? '+' : ''}${error.toFixed(3)}%`.padStart(7),
      `${result.simulatedSegments}/${result.traceSegments}`.padStart(17),
      milliseconds.toFixed(2).padStart(9),
      Math.round(events.length / (milliseconds / 1000))
        .toLocaleString('en-US')
        .padStart(10),
    ].join('  '),
  );
}
