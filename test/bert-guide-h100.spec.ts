// The HF single-GPU guide's BERT-large runs (calibration rows 77-81) re-run on a current stack:
// torch 2.11 and transformers 5.17 on an H100 (tools/measure/bert_guide.py). The planner, told
// the stack is current (softmaxSavesInput false), must match what the allocator measured.
import { readFileSync } from 'fs';
import { join } from 'path';
import { loadCalibrationRows, repositoryRoot } from '../scripts/calibration-rows';
import { loadCatalog } from '../src/catalog/catalog';
import { estimatePlan } from '../src/application/estimate';
import { PlanRequestInput } from '../src/engine';

interface Rerun {
  row: number;
  max_allocated: number;
  gpu: string;
  torch: string;
}

const reruns: Rerun[] = readFileSync(
  join(repositoryRoot(), 'data', 'calibration', 'bert-guide-h100.jsonl'),
  'utf8',
)
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Rerun);
const rows = loadCalibrationRows();
const catalog = loadCatalog();

describe('the HF guide’s BERT-large runs re-measured on an H100 (data/calibration/bert-guide-h100.jsonl)', () => {
  it('holds the five AdamW runs, each measured on an H100 with torch 2.x', () => {
    expect(reruns.map((r) => r.row)).toEqual([77, 78, 79, 80, 81]);
    for (const run of reruns) {
      expect(run.gpu).toMatch(/H100/);
      expect(run.torch).toMatch(/^2\./);
    }
  });
  it.each(reruns.map((run) => [run.row, run] as const))(
    'row %s: the planner’s allocated peak is within 5%% of the re-run’s',
    (_row, run) => {
      const request = structuredClone(
        rows.find((r) => r.id === run.row)!.request!,
      ) as PlanRequestInput;
      request.cluster = { ...request.cluster, gpu: 'h100-80gb' };
      request.runtime = { ...request.runtime, softmaxSavesInput: false };
      delete request.runtime.cudaContextBytes;
      const planned = estimatePlan(request, catalog).memory.perGpu.allocatedPeakBytes;
      expect(Math.abs(planned / run.max_allocated - 1)).toBeLessThanOrEqual(0.05);
    },
  );
});
