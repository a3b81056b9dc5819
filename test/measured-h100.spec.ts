// Integrity of our own H100 runs: complete records, and the models they built are the ones the
// planner describes (PyTorch's parameter count on the device against the planner's count).
import { readFileSync } from 'fs';
import { join } from 'path';
import { repositoryRoot } from '../scripts/calibration-rows';
import { parseCsv } from '../scripts/csv';
import {
  h100Request,
  loadMeasuredH100Rows,
  MEASURED_H100_FILE,
  MEASURED_H100_SHARDED_FILE,
} from '../scripts/measured-h100';
import { architectureFromConfig } from '../src/engine';
import { countParameters, loraParameters } from '../src/engine';
import { LoraSettings } from '../src/engine';

const runs = parseCsv(readFileSync(join(repositoryRoot(), MEASURED_H100_FILE), 'utf8'));
const MIB = 2 ** 20;

describe('data/calibration/measured-h100.csv', () => {
  it('holds at least 60 runs, each with its versions, GPU and status', () => {
    expect(runs.length).toBeGreaterThanOrEqual(60);
    for (const run of runs) {
      expect(run.gpu).toMatch(/H100/);
      expect(run.torch && run.transformers && run.peft && run.driver).toBeTruthy();
      expect(['ok', 'oom']).toContain(run.status);
    }
  });
  it('counts the parameters of every model it built as PyTorch did on the device', () => {
    for (const run of runs.filter((r) => r.method === 'full')) {
      const config = h100Request(run).model as Record<string, unknown>;
      const arch = architectureFromConfig('measured', config);
      expect(countParameters(arch).total).toBe(Number(run.parameters_total));
    }
  });
  it("counts the adapters PEFT trained, fused qkv_proj and gate_up_proj (Phi-3) and GPT-2's c_attn included", () => {
    for (const run of runs.filter((r) => r.method === 'lora')) {
      const request = h100Request(run);
      const arch = architectureFromConfig('measured', request.model as Record<string, unknown>);
      const lora = request.training!.lora as LoraSettings;
      expect(loraParameters(arch, lora).total).toBe(Number(run.parameters_trainable));
    }
  });
  it('weighs the weights before the first step at 4 or 2 bytes per parameter', () => {
    for (const run of runs.filter((r) => r.method === 'full')) {
      const bytes = run.precision === 'bf16-pure' ? 2 : 4;
      const extra = Number(run.weights_allocated_bytes) - bytes * Number(run.parameters_total);
      expect(extra).toBeGreaterThanOrEqual(0);
      // Buffers (RoPE tables, GPT-2's causal mask), token ids, 512-byte rounding of small tensors.
      expect(extra).toBeLessThan(16 * MIB);
    }
  });
  it('scores every finished run on its allocated peak and checks each out-of-memory run for fit', () => {
    const rows = loadMeasuredH100Rows();
    const shardedRuns = parseCsv(
      readFileSync(join(repositoryRoot(), MEASURED_H100_SHARDED_FILE), 'utf8'),
    );
    expect(rows.filter((r) => r.use === 'score').length).toBe(
      [...runs, ...shardedRuns].filter((r) => r.status === 'ok').length,
    );
    expect(rows.filter((r) => r.use === 'fit-only').length).toBe(
      runs.filter((r) => r.status === 'oom').length,
    );
  });
});

describe('data/calibration/measured-h100-sharded.csv (rank 0 of a simulated world)', () => {
  const sharded = parseCsv(
    readFileSync(join(repositoryRoot(), MEASURED_H100_SHARDED_FILE), 'utf8'),
  );
  it('holds FSDP2 and DDP runs, each finished on the H100 with its world size', () => {
    expect(sharded.length).toBeGreaterThanOrEqual(14);
    for (const run of sharded) {
      expect(run.gpu).toMatch(/H100/);
      expect(['fsdp2', 'ddp']).toContain(run.data_parallel);
      expect(Number(run.world_size)).toBeGreaterThanOrEqual(2);
      expect(run.status).toBe('ok');
    }
  });
  it('counts the parameters of every model it built as PyTorch did on the device', () => {
    for (const run of sharded) {
      const arch = architectureFromConfig(
        'measured',
        h100Request(run).model as Record<string, unknown>,
      );
      expect(countParameters(arch).total).toBe(Number(run.parameters_total));
    }
  });
  it('holds 1/world of the weights under FSDP2; DDP all of them and its gradient buckets', () => {
    for (const run of sharded) {
      const bytes = run.precision === 'bf16-pure' ? 2 : 4;
      const parameters = Number(run.parameters_total);
      // DDP's reducer allocates its flat buckets, one copy of every gradient, when it is built.
      const expected =
        run.data_parallel === 'fsdp2'
          ? (bytes * parameters) / Number(run.world_size)
          : 2 * bytes * parameters;
      const extra = Number(run.weights_allocated_bytes) - expected;
      expect(extra).toBeGreaterThanOrEqual(0);
      // dim-0 padding of each shard to a multiple of the world, RoPE tables, 512-byte rounding.
      expect(extra).toBeLessThan(16 * MIB);
    }
  });
});
