// The timeline engine against the twelve allocator traces of real H200 training runs
// (data/calibration/allocator-traces): each run planned from its recorded settings, its
// allocated peak read against the trace's own allocations and its simulated reserved peak
// against the trace's cudaMalloc'd segments. The traces, not the engine, are the truth here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { h100Request, loadTracedRuns } from '../scripts/measured-h100';
import { estimatePlan } from '../src/application/estimate';
import { loadCatalog } from '../src/catalog/catalog';
import { parseTrace, TraceEvent } from '../src/engine/memory/trace';

const DIRECTORY = join(__dirname, '..', 'data', 'calibration', 'allocator-traces');

// CUDACachingAllocator.cpp round_size: every block is a multiple of kMinBlockSize (512 B), the
// smallest 512 B; torch.cuda.max_memory_allocated counts blocks, the trace requested bytes.
const blockBytes = (bytes: number) => Math.max(512, Math.ceil(bytes / 512) * 512);

/**
 * The trace's allocated peak over the training steps: the running sum of its allocations'
 * blocks less its completed frees. The sharded runs (tools/measure/sharded.py) build the whole
 * model, shard it and empty the cache, the trace's only segment_free burst (its README): their
 * steps start after it, as the harness's own peak statistics do.
 */
function traceAllocatedPeak(events: TraceEvent[]): number {
  let start = 0;
  events.forEach((event, index) => {
    if (event.action === 'segment_free') start = index + 1;
  });
  const requested = new Map<number, number>();
  let live = 0;
  let peak = 0;
  events.forEach((event, index) => {
    if (event.action === 'alloc') {
      requested.set(event.block, blockBytes(event.bytes));
      live += blockBytes(event.bytes);
      if (index >= start) peak = Math.max(peak, live);
    } else if (event.action === 'free_completed') {
      live -= requested.get(event.block)!;
    }
  });
  return peak;
}

/** max_memory_reserved(): the highest running sum of segment_alloc less segment_free. */
function traceReservedPeak(events: TraceEvent[]): number {
  let reserved = 0;
  let peak = 0;
  for (const event of events) {
    if (event.action === 'segment_alloc') reserved += event.bytes;
    if (event.action === 'segment_free') reserved -= event.bytes;
    peak = Math.max(peak, reserved);
  }
  return peak;
}

interface RunFigures {
  id: number;
  /** Planned / measured - 1. */
  allocatedError: number;
  reservedError: number;
  /** Device used against what nvidia-smi showed after the last step. */
  deviceError: number;
}

const catalog = loadCatalog();
const runs: RunFigures[] = loadTracedRuns().map((run) => {
  const events = parseTrace(
    gunzipSync(readFileSync(join(DIRECTORY, `trace-${run.run_id}.csv.gz`))).toString('utf8'),
  );
  const rank = estimatePlan(h100Request(run), catalog).memory.perGpu;
  return {
    id: Number(run.run_id),
    allocatedError: rank.allocatedPeakBytes / traceAllocatedPeak(events) - 1,
    reservedError: rank.reservedPeakBytes / traceReservedPeak(events) - 1,
    deviceError: rank.deviceUsedBytes / (Number(run.nvidia_smi_used_mib) * 2 ** 20) - 1,
  };
});
const ids = runs.map((run) => run.id);
const figures = (id: number) => runs.find((run) => run.id === id)!;

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  return sorted[lower] + (sorted[Math.ceil(position)] - sorted[lower]) * (position - lower);
}

// Issue 20's bounds for plans on reserved memory: median at most 3%, 90th percentile at most 6%.
// Each run is held to 1%: all twelve are within 0.6% (npm run accuracy, "allocator-traced H200
// runs on reserved": run 90 +0.6%, run 10 -0.5%, run 55 -0.4%) since Hugging Face's
// inputs_embeds is kept to the end of the model's forward; runs 10 and 212 were -4.9% and -5.8%
// before.
const RESERVED_RUN_BOUND = 0.01;
const RESERVED_MEDIAN_BOUND = 0.03;
const RESERVED_P90_BOUND = 0.06;
// Issue 20 asks that no run's device used be under-predicted by more than 5%; held to 1% (the
// lowest is run 10 at -0.4%; runs 10 and 212 were -4.6% and -4.2%).
const DEVICE_UNDER_BOUND = -0.01;
// The allocated peak is the timeline's own sum of live tensors: it must match the trace closely.
const ALLOCATED_RUN_BOUND = 0.01;

describe('the timeline engine on the 12 traced H200 runs', () => {
  it('plans all twelve runs of results.jsonl', () => {
    expect([...ids].sort((a, b) => a - b)).toEqual([
      10, 20, 25, 30, 40, 50, 55, 60, 90, 202, 205, 212,
    ]);
  });

  it.each(ids)('run %i: allocated peak within 1% of the trace', (id) => {
    expect(Math.abs(figures(id).allocatedError)).toBeLessThanOrEqual(ALLOCATED_RUN_BOUND);
  });

  it.each(ids)('run %i: simulated reserved peak within 6% of the trace segments', (id) => {
    expect(Math.abs(figures(id).reservedError)).toBeLessThanOrEqual(RESERVED_RUN_BOUND);
  });

  it.each(ids)('run %i: device used not under-predicted by more than 5% (nvidia-smi)', (id) => {
    expect(figures(id).deviceError).toBeGreaterThanOrEqual(DEVICE_UNDER_BOUND);
  });

  it('reserved: median within 3% and 90th percentile within 6% over the twelve', () => {
    const errors = runs.map((run) => Math.abs(run.reservedError));
    expect(quantile(errors, 0.5)).toBeLessThanOrEqual(RESERVED_MEDIAN_BOUND);
    expect(quantile(errors, 0.9)).toBeLessThanOrEqual(RESERVED_P90_BOUND);
  });
});
