// bin/shardplan.js end to end: a child process, the shipped catalog and the engine in-process.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PlanResult } from '../engine';

const ROOT = join(__dirname, '..', '..');

function shardplan(...args: string[]) {
  const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'shardplan.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, SHARDPLAN_FROM_SOURCE: '1' },
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const LLAMA_3_8B = 8_030_261_248; // Meta's published parameter count
const EXAMPLE = [
  '--model',
  'llama-3-8b',
  '--gpu',
  'a100-80gb',
  '--nodes',
  '1',
  '--gpus-per-node',
  '8',
];
const ZERO_3 = [
  ...EXAMPLE,
  '--method',
  'full',
  '--precision',
  'bf16-mixed',
  '--optimizer',
  'adamw',
  '--zero',
  '3',
  '--seq',
  '4096',
  '--mb',
  '1',
];

describe('shardplan (the binary)', () => {
  it('plan --json: Llama-3-8B under ZeRO-3 on 8 x A100-80GB shards the 2 + 4 + 8 bytes per parameter eight ways', () => {
    const { status, stdout, stderr } = shardplan('plan', ...ZERO_3, '--json');
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const result = JSON.parse(stdout) as PlanResult;
    expect(result.model.parameters.total).toBe(LLAMA_3_8B);
    expect(result.layout).toMatchObject({
      gpus: 8,
      dataParallel: 8,
      tensorParallel: 1,
      pipelineParallel: 1,
    });
    const { breakdown, capacityBytes } = result.memory.perGpu;
    // ZeRO paper: bf16 weights (2 B), fp32 master copy (4 B) and Adam's two fp32 moments (8 B).
    expect(breakdown.weights).toBe((2 * LLAMA_3_8B) / 8);
    expect(breakdown.masterWeights).toBe((4 * LLAMA_3_8B) / 8);
    expect(breakdown.optimizerStates).toBe((8 * LLAMA_3_8B) / 8);
    expect(capacityBytes).toBe(81_920 * 2 ** 20); // nvidia-smi reports 81920 MiB
  });

  it('plan prints a readable table by default', () => {
    const { status, stdout } = shardplan('plan', ...ZERO_3);
    expect(status).toBe(0);
    expect(stdout).toMatch(/^Llama-3-8B \(8\.03 B parameters/);
    expect(stdout).toMatch(/optimizerStates\s+7\.48 GiB/); // 8,030,261,248 B / 2^30
    expect(stdout).toMatch(/weights\s+1\.87 GiB/); // 2,007,565,312 B / 2^30
  });

  it('exits 1 with the field and message the API gives for an impossible layout', () => {
    const { status, stdout, stderr } = shardplan('plan', ...EXAMPLE, '--tp', '3');
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(
      'parallelism.tensorParallel: tensorParallel (3) must divide num_attention_heads (32)',
    );
  });

  it('compare --vary zeroStage plans stages 0 to 3, each no larger per GPU than the one before', () => {
    const { status, stdout } = shardplan('compare', '--vary', 'zeroStage', ...EXAMPLE, '--json');
    expect(status).toBe(0);
    const { rows } = JSON.parse(stdout) as { rows: { label: string; result: PlanResult }[] };
    expect(rows.map((row) => row.result.request.parallelism.zeroStage)).toEqual([0, 1, 2, 3]);
    const used = rows.map((row) => row.result.memory.perGpu.deviceUsedBytes);
    for (let stage = 1; stage < 4; stage++)
      expect(used[stage]).toBeLessThanOrEqual(used[stage - 1]);
  });

  it("allocator replay --json sets the simulated reserved peak beside the trace's real one", () => {
    const trace = join('data', 'calibration', 'allocator-traces', 'trace-20.csv.gz');
    const { status, stdout, stderr } = shardplan('allocator', 'replay', trace, '--json');
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const report = JSON.parse(stdout) as Record<string, number>;
    expect(report.traceReservedPeakBytes).toBe(18_555_600_896); // results.jsonl max_reserved
    expect(report.simulatedReservedPeakBytes).toBe(18_555_600_896);
    expect(report.allocatedPeakBytes).toBe(17_968_017_408); // results.jsonl max_allocated
  });

  it('allocator replay exits 2 with a one-line reason for a missing file or one that is no trace', () => {
    for (const path of ['no-such-trace.csv.gz', 'package.json']) {
      const { status, stdout, stderr } = shardplan('allocator', 'replay', path);
      expect(status).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/cannot read no-such-trace|package\.json is not an allocator trace/);
      expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });

  it('search without a server follows the API: a setting it chooses is named as unused, not refused', () => {
    const { status, stdout } = shardplan(
      'search',
      ...['--model', 'llama-3.2-1b', '--gpu', 'h100-80gb', '--gpus', '8', '--seq', '2048'],
      ...['--tp', '2', '--objective', 'fewestGpus', '--top', '2'],
    );
    expect(status).toBe(0);
    expect(stdout).toContain(
      'parallelism.tensorParallel is chosen by the search; the value given was not used',
    );
  });
});
