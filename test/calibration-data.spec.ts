// Integrity of the calibration set: every published run accounted for, units and selection exact.
import { readFileSync } from 'fs';
import { join } from 'path';
import { CalibrationRow, loadCalibrationRows, repositoryRoot } from '../scripts/calibration-rows';
import { parseCsv } from '../scripts/csv';
import { HELD_OUT_SEED, mulberry32, pickHeldOut } from '../scripts/pick-held-out';
import {
  FRAMEWORK_PRESETS,
  OPTIMIZERS,
  PRECISIONS,
  RECOMPUTE_MODES,
  TRAINING_METHODS,
  ZERO_STAGES,
} from '../src/engine';

const csvRows = parseCsv(
  readFileSync(join(repositoryRoot(), 'data', 'calibration', 'measured.csv'), 'utf8'),
);
const csvById = new Map(csvRows.map((row) => [Number(row.id), row]));
const rows = loadCalibrationRows();
const scored = rows.filter((row) => row.use === 'score');

/** Leading integer of a CSV cell such as "2 (per config; machine has 4)"; undefined if none. */
function leadingInteger(cell: string): number | undefined {
  const match = /^\s*(\d+)/.exec(cell);
  return match ? Number(match[1]) : undefined;
}

function gpusOf(row: CalibrationRow): number {
  const cluster = row.request!.cluster;
  return (cluster.nodes ?? 1) * (cluster.gpusPerNode ?? 1);
}

describe('calibration set (data/calibration/published.json)', () => {
  it('holds the 120 CSV rows, each id exactly once, in CSV order', () => {
    expect(csvRows).toHaveLength(120);
    expect(rows.map((row) => row.id)).toEqual(csvRows.map((row) => Number(row.id)));
    expect(new Set(rows.map((row) => row.id)).size).toBe(rows.length);
  });

  it('keeps the reported value, unit and metric verbatim', () => {
    for (const row of rows) {
      const csv = csvById.get(row.id)!;
      expect(row.reported).toEqual({
        value: csv.memory_value,
        unit: csv.memory_unit,
        metric: csv.memory_metric,
      });
    }
  });

  it('converts every figure with its stated unit (GB 1e9, GiB 2^30, MiB 2^20)', () => {
    const units = new Set([1e9, 2 ** 30, 2 ** 20]);
    for (const row of rows.filter((r) => r.unitBytes !== undefined)) {
      expect(units.has(row.unitBytes!)).toBe(true);
      expect(row.measuredBytes).toBe(Math.round(Number(row.reported.value) * row.unitBytes!));
    }
    // Spot checks written out: litgpt 21.30 GB, torchtitan 82.4 GiB, HF guide 14949 MiB.
    const bytesOf = (id: number) => rows.find((row) => row.id === id)!.measuredBytes;
    expect(bytesOf(49)).toBe(21_300_000_000);
    expect(bytesOf(106)).toBe(Math.round(82.4 * 1_073_741_824));
    expect(bytesOf(77)).toBe(14_949 * 1_048_576);
  });

  it('scores only measurements, each with a request, a statistic, a tolerance and bytes > 0', () => {
    expect(scored.length).toBeGreaterThan(0);
    for (const row of scored) {
      expect(csvById.get(row.id)!.measured_or_estimate).toMatch(/^measured/);
      expect(row.request).toBeDefined();
      expect(['allocated', 'reserved', 'active', 'device']).toContain(row.statistic);
      expect(row.measuredBytes).toBeGreaterThan(0);
      expect(row.tolerance).toBeGreaterThan(0);
      expect(row.excludedReason).toBeUndefined();
      expect(row.assumptions.length).toBeGreaterThan(0);
    }
  });

  it('never scores an estimate or a claim', () => {
    for (const row of rows) {
      if (!/^measured/.test(csvById.get(row.id)!.measured_or_estimate)) {
        expect(row.use).toBe('excluded');
      }
    }
  });

  it('gives every unscored row a reason; fit-only rows an expectation and a request', () => {
    for (const row of rows.filter((r) => r.use !== 'score')) {
      expect(row.excludedReason?.length).toBeGreaterThan(0);
      expect(row.heldOut).toBe(false);
      if (row.use === 'fit-only') {
        expect(typeof row.expectFits).toBe('boolean');
        expect(row.request).toBeDefined();
      } else {
        expect(row.request).toBeUndefined();
      }
    }
    const outOfMemory = rows.filter(
      (row) => row.reported.value === 'OOM' && row.use !== 'excluded',
    );
    expect(outOfMemory.map((row) => row.expectFits)).toEqual(outOfMemory.map(() => false));
  });

  it('matches categories and GPU counts to the CSV', () => {
    for (const row of rows) {
      const gpus = leadingInteger(csvById.get(row.id)!.num_gpus);
      expect(row.category === 'multi-gpu').toBe(gpus !== undefined && gpus > 1);
      if (row.request) {
        expect(gpusOf(row)).toBe(gpus);
        if (row.category !== 'multi-gpu') expect(row.request.training?.method).toBe(row.category);
      }
    }
  });

  it('writes requests in the PlanRequest vocabulary', () => {
    const gpuIds = [
      'a100-40gb',
      'a100-80gb',
      'h100-80gb',
      'h100-nvl',
      'rtx-4090',
      'a10g',
      'v100-16gb',
    ];
    for (const row of rows.filter((r) => r.request)) {
      const { model, cluster, training, parallelism, runtime } = row.request!;
      if (typeof model === 'string') expect(model).toMatch(/^[a-z0-9.-]+$/);
      else expect(model).toEqual(expect.objectContaining({ hidden_size: expect.any(Number) }));
      expect(gpuIds).toContain(cluster.gpu);
      expect(TRAINING_METHODS).toContain(training?.method);
      expect(PRECISIONS).toContain(training?.precision);
      expect(OPTIMIZERS).toContain(training?.optimizer);
      expect(RECOMPUTE_MODES).toContain(training?.activationCheckpointing);
      expect(Number.isInteger(training?.microBatchSize)).toBe(true);
      expect(Number.isInteger(training?.sequenceLength)).toBe(true);
      expect(training?.lora !== undefined).toBe(training?.method !== 'full');
      expect(training?.qlora !== undefined).toBe(training?.method === 'qlora');
      expect(ZERO_STAGES).toContain(parallelism?.zeroStage);
      expect(FRAMEWORK_PRESETS).toContain(runtime?.preset);
    }
  });

  it('holds out a fifth of the scored rows (within one row)', () => {
    const heldOut = rows.filter((row) => row.heldOut);
    expect(heldOut.every((row) => row.use === 'score')).toBe(true);
    expect(Math.abs(heldOut.length - scored.length / 5)).toBeLessThanOrEqual(1);
  });

  it('holds out exactly what the seeded script picks', () => {
    const picked = pickHeldOut(
      scored.map((row) => row.id),
      HELD_OUT_SEED,
    );
    expect(rows.filter((row) => row.heldOut).map((row) => row.id)).toEqual(picked);
  });

  it('uses the published mulberry32 sequence', () => {
    // mulberry32(1)'s first draw is the widely quoted 0.6270739405881613 (2,693,262,067 / 2^32).
    expect(mulberry32(1)()).toBe(2_693_262_067 / 2 ** 32);
  });
});
