// Compare and search over HTTP: ZeRO stages side by side, variants that fail alone, and layouts
// that reproduce their own figures when re-submitted to /plans/estimate.
import { appPerSuite, expectProblem } from './support/app';

interface PlanBody {
  request: Record<string, unknown>;
  layout: { gpus: number; dataParallel: number; tensorParallel: number; pipelineParallel: number };
  memory: { perGpu: { deviceUsedBytes: number; allocatedPeakBytes: number; fits: boolean } };
  performance: { stepTimeSeconds: number; tokensPerSecond: number };
  cost: { usdPerMillionTokens: number };
}

interface CompareBody {
  rows: { label: string; result?: PlanBody; errors?: { field: string; message: string }[] }[];
  table: {
    label: string;
    modelStateBytes: number | null;
    deviceUsedBytes: number | null;
    fits: boolean;
    error?: string;
  }[];
}

interface SearchBody {
  objective: string;
  results: {
    rank: number;
    label: string;
    request: Record<string, unknown>;
    result: PlanBody;
    figures: { deviceUsedBytes: number; tokensPerSecond: number; usdPerMillionTokens: number };
  }[];
  counts: {
    candidates: number;
    boundEvaluated: number;
    planned: number;
    evaluated: number;
    feasible: number;
  };
  exhaustive: boolean;
  boundToleranceBytes: number;
  warnings: string[];
}

const LLAMA_8B_NODE = {
  model: 'llama-3-8b',
  cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 },
};

describe('compare and search (e2e)', () => {
  const { http } = appPerSuite();

  describe('POST /api/v1/plans/compare', () => {
    it('vary zeroStage: four rows whose model-state bytes strictly decrease', async () => {
      const response = await http()
        .post('/api/v1/plans/compare')
        .send({ base: LLAMA_8B_NODE, vary: 'zeroStage' })
        .expect(200);
      const body = response.body as CompareBody;
      expect(body.rows.map((row) => row.label)).toEqual([
        'zeroStage 0',
        'zeroStage 1',
        'zeroStage 2',
        'zeroStage 3',
      ]);
      const states = body.table.map((row) => row.modelStateBytes!);
      for (let stage = 1; stage < 4; stage++) expect(states[stage]).toBeLessThan(states[stage - 1]);
      // bf16-mixed AdamW, P = 8,030,261,248, N = 8: (2 + 2 + 12)P whole, 16P/N fully sharded.
      const P = 8_030_261_248;
      expect(states[0]).toBe(16 * P);
      expect(states[3]).toBe((16 * P) / 8);
      body.rows.forEach((row, i) =>
        expect(body.table[i].deviceUsedBytes).toBe(row.result!.memory.perGpu.deviceUsedBytes),
      );
    });

    it('a variant the engine rejects is a row with its errors, not a failed request', async () => {
      const response = await http()
        .post('/api/v1/plans/compare')
        .send({
          base: LLAMA_8B_NODE,
          variants: [
            { label: 'ZeRO-3', overrides: { parallelism: { zeroStage: 3 } } },
            { label: 'TP 3', overrides: { parallelism: { tensorParallel: 3 } } },
          ],
        })
        .expect(200);
      const body = response.body as CompareBody;
      expect(body.rows[0].result?.memory.perGpu.fits).toBe(true);
      expect(body.rows[1].result).toBeUndefined();
      expect(body.rows[1].errors?.map((e) => e.field)).toContain('parallelism.tensorParallel');
      expect(body.table[1].error).toMatch(/tensorParallel \(3\) must divide num_attention_heads/);
    });

    it('a swept value of the wrong kind is a row error worded like a 400 field error', async () => {
      const response = await http()
        .post('/api/v1/plans/compare')
        .send({ base: LLAMA_8B_NODE, vary: 'zeroStage', values: [3, 7] })
        .expect(200);
      const body = response.body as CompareBody;
      expect(body.rows[0].result).toBeDefined();
      expect(body.rows[1].errors).toEqual([
        {
          field: 'parallelism.zeroStage',
          message: expect.stringMatching(/not one of: 0, 1, 2, 3/),
        },
      ]);
    });

    it('rejects unknown fields inside overrides, a missing base and an unknown vary with 400', async () => {
      expectProblem(
        await http()
          .post('/api/v1/plans/compare')
          .send({
            base: LLAMA_8B_NODE,
            variants: [{ label: 'x', overrides: { parallelism: { zeroStge: 3 } } }],
          }),
        400,
        'variants.0.overrides.parallelism.zeroStge',
      );
      expectProblem(
        await http().post('/api/v1/plans/compare').send({ vary: 'zeroStage' }),
        400,
        'base',
      );
      expectProblem(
        await http().post('/api/v1/plans/compare').send({ base: [], vary: 'zeroStage' }),
        400,
        'base',
      );
      expectProblem(
        await http()
          .post('/api/v1/plans/compare')
          .send({ base: LLAMA_8B_NODE, variants: [{ label: 'x', overrides: [] }] }),
        400,
        'variants.0.overrides',
      );
      expectProblem(
        await http()
          .post('/api/v1/plans/compare')
          .send({ base: LLAMA_8B_NODE, variants: { label: 'x', overrides: {} } }),
        400,
        'variants',
      );
      expectProblem(
        await http()
          .post('/api/v1/plans/compare')
          .send({ base: LLAMA_8B_NODE, variants: [[]] }),
        400,
        'variants',
      );
      expectProblem(
        await http()
          .post('/api/v1/plans/compare')
          .send({ base: LLAMA_8B_NODE, vary: 'zeroStage', values: [3, null] }),
        400,
        'values',
      );
      expectProblem(
        await http().post('/api/v1/plans/compare').send({ base: LLAMA_8B_NODE, vary: 'colour' }),
        400,
        'vary',
      );
      expectProblem(
        await http()
          .post('/api/v1/plans/compare')
          .send({ base: { ...LLAMA_8B_NODE, model: 'llama-9b' }, vary: 'zeroStage' }),
        400,
        'model',
      );
    });
  });

  describe('POST /api/v1/plans/search', () => {
    const LLAMA_70B_8K = {
      model: 'llama-3-70b',
      training: { method: 'full', sequenceLength: 8192 },
    };

    it('finds layouts for Llama-3-70B full fine-tuning at 8k on 64 H100s; each reproduces itself', async () => {
      const response = await http()
        .post('/api/v1/plans/search')
        .send({ ...LLAMA_70B_8K, cluster: { gpu: 'h100-80gb', gpus: 64 } })
        .expect(200);
      const body = response.body as SearchBody;
      expect(body.objective).toBe('throughput');
      expect(body.results.length).toBeGreaterThan(0);
      expect(body.counts.feasible).toBeGreaterThanOrEqual(body.results.length);
      const speeds = body.results.map((r) => r.figures.tokensPerSecond);
      expect([...speeds].sort((a, b) => b - a)).toEqual(speeds);
      for (const found of body.results) {
        expect(found.result.layout.gpus).toBe(64);
        const again = await http().post('/api/v1/plans/estimate').send(found.request).expect(200);
        const plan = again.body as PlanBody;
        expect(plan.memory.perGpu.fits).toBe(true);
        expect(plan.memory.perGpu.deviceUsedBytes).toBe(found.figures.deviceUsedBytes);
        expect(plan.performance.tokensPerSecond).toBe(found.figures.tokensPerSecond);
        expect(plan.cost.usdPerMillionTokens).toBe(found.figures.usdPerMillionTokens);
        expect(plan.layout).toEqual(found.result.layout);
      }
      // Ten 70B layouts planned again, most of them tight, so each estimate also plans its advice
      // (a search of the same 64 GPUs): up to ten seconds apiece, cold, on a loaded two-core machine.
    }, 300_000);

    it('exhaustive: bounds every layout, plans only finalists, and returns their full plans', async () => {
      const response = await http()
        .post('/api/v1/plans/search')
        .send({ ...LLAMA_70B_8K, cluster: { gpu: 'h100-80gb', gpus: 64 }, exhaustive: true })
        .expect(200);
      const body = response.body as SearchBody;
      expect(body.exhaustive).toBe(true);
      expect(body.boundToleranceBytes).toBeGreaterThan(0);
      expect(body.counts.boundEvaluated).toBe(body.counts.candidates);
      expect(body.counts.planned).toBe(body.counts.evaluated);
      expect(body.counts.planned).toBeLessThan(body.counts.candidates);
      expect(body.results.length).toBeGreaterThan(0);
      const best = body.results[0];
      const again = await http().post('/api/v1/plans/estimate').send(best.request).expect(200);
      expect((again.body as PlanBody).memory.perGpu.deviceUsedBytes).toBe(
        best.figures.deviceUsedBytes,
      );
      expectProblem(
        await http()
          .post('/api/v1/plans/search')
          .send({ ...LLAMA_70B_8K, cluster: { gpu: 'h100-80gb', gpus: 64 }, exhaustive: 'yes' }),
        400,
        'exhaustive',
      );
    });

    it('finds nothing on a single A100 40GB, and says how many layouts it tried', async () => {
      const response = await http()
        .post('/api/v1/plans/search')
        .send({ ...LLAMA_70B_8K, cluster: { gpu: 'a100-40gb', gpus: 1 } })
        .expect(200);
      const body = response.body as SearchBody;
      expect(body.results).toEqual([]);
      expect(body.counts.feasible).toBe(0);
      expect(body.counts.evaluated).toBeGreaterThan(0);
    });

    it('names settings the search chooses itself instead of dropping them silently', async () => {
      const response = await http()
        .post('/api/v1/plans/search')
        .send({
          model: 'llama-3-8b',
          cluster: { gpu: 'h100-80gb', nodes: { min: 1, max: 2 }, gpusPerNode: 8 },
          training: { sequenceLength: 4096, microBatchSize: 2 },
          parallelism: { zeroStage: 3, sequenceParallel: true },
          objective: 'fewestGpus',
          top: 3,
        })
        .expect(200);
      const body = response.body as SearchBody;
      expect(body.results).toHaveLength(3);
      expect(body.results[0].result.layout.gpus).toBe(8);
      expect(body.warnings).toEqual([
        'parallelism.zeroStage is chosen by the search; the value given was not used',
        'training.microBatchSize is chosen by the search; the value given was not used',
      ]);
    });

    it('answers 400 for an unknown objective, a bad node range and an unknown model', async () => {
      expectProblem(
        await http()
          .post('/api/v1/plans/search')
          .send({
            model: 'llama-3-8b',
            cluster: { gpu: 'h100-80gb', gpus: 8 },
            objective: 'speed',
          }),
        400,
        'objective',
      );
      expectProblem(
        await http()
          .post('/api/v1/plans/search')
          .send({ model: 'llama-3-8b', cluster: { gpu: 'h100-80gb', nodes: { min: 4 } } }),
        400,
        'cluster.nodes',
      );
      expectProblem(
        await http()
          .post('/api/v1/plans/search')
          .send({ model: 'llama-9b', cluster: { gpu: 'h100-80gb', gpus: 8 } }),
        400,
        'model',
      );
      expectProblem(
        await http()
          .post('/api/v1/plans/search')
          .send({ model: 'llama-3-8b', cluster: [{ gpu: 'h100-80gb', gpus: 8 }] }),
        400,
        'cluster',
      );
      expectProblem(
        await http()
          .post('/api/v1/plans/search')
          .send({
            model: 'llama-3-8b',
            cluster: { gpu: 'h100-80gb', nodes: { min: 1, max: 1e15 } },
          }),
        400,
        'cluster.nodes',
      );
    });
  });
});
