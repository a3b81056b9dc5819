// Time, cost and budget reviews over HTTP: throughput and price checked against arithmetic written
// out here, then summary totals, the CSV export, label edits and re-evaluation of saved plans.
import { appPerSuite, expectProblem, testEngines } from './support/app';
import { parseCsvRecords } from '../scripts/csv';

interface PlanBody {
  id: string;
  name: string;
  tags: string[];
  notes?: string;
  createdAt: string;
  engineVersion: string;
  request: Record<string, unknown>;
  layout: { gpus: number };
  memory: { perGpu: { deviceUsedBytes: number; allocatedPeakBytes: number; fits: boolean } };
  performance: {
    tokensPerStep: number;
    flopsPerToken: number;
    stepTimeSeconds: number;
    tokensPerSecond: number;
    exposedCommunicationSeconds: number;
    pipelineBubbleFraction: number;
  };
  cost: {
    pricePerGpuHour: number;
    usdPerMillionTokens: number;
    gpuHours?: number;
    totalUsd?: number;
  };
}

/** Relative closeness: floating-point sums in another order differ in the last bits only. */
function expectNear(actual: number, expected: number): void {
  expect(actual / expected).toBeCloseTo(1, 12);
}

// Llama-3.2-1B: P = 1,235,814,400 parameters (tied embeddings counted once), L = 16, h = 2048.
const P = 1_235_814_400;
const L = 16;
const H = 2048;
const S = 4096;
const TOKENS_TO_TRAIN = 1e9;

const LLAMA_1B_DDP = {
  model: 'llama-3.2-1b',
  cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 },
  training: { sequenceLength: S, microBatchSize: 1, tokensToTrain: TOKENS_TO_TRAIN },
  parallelism: { zeroStage: 0 },
};

describe.each(testEngines())('time, cost and budget reviews (e2e) on %s', (engine) => {
  const { http, sql } = appPerSuite(engine);

  it('throughput and cost follow 6P + 12Lhs FLOPs per token and price x GPUs x hours', async () => {
    const gpu = (await http().get('/api/v1/gpus/h100-80gb').expect(200)).body as {
      bf16FlopsPerSecond: number;
      pricePerGpuHour: number;
    };
    const plan = (await http().post('/api/v1/plans/estimate').send(LLAMA_1B_DDP).expect(200))
      .body as PlanBody;
    // One node of 8, no pipeline; DDP's all-reduce hides behind backward over NVLink.
    expect(plan.performance.pipelineBubbleFraction).toBe(0);
    expect(plan.performance.exposedCommunicationSeconds).toBe(0);

    const gpus = 8;
    const mfu = 0.4; // the documented default
    const flopsPerToken = 6 * P + 12 * L * H * S; // 9,025,499,136
    const tokensPerStep = 1 * S * 1 * gpus; // micro-batch x sequence x accumulation x data-parallel
    const stepTime = (tokensPerStep * flopsPerToken) / (gpus * gpu.bf16FlopsPerSecond * mfu);
    const tokensPerSecond = tokensPerStep / stepTime;
    expect(plan.performance.flopsPerToken).toBe(flopsPerToken);
    expect(plan.performance.tokensPerStep).toBe(tokensPerStep);
    expectNear(plan.performance.stepTimeSeconds, stepTime);
    expectNear(plan.performance.tokensPerSecond, tokensPerSecond);

    const hoursForAMillion = 1e6 / tokensPerSecond / 3600;
    expectNear(plan.cost.usdPerMillionTokens, gpu.pricePerGpuHour * gpus * hoursForAMillion);
    const hours = TOKENS_TO_TRAIN / tokensPerSecond / 3600;
    expectNear(plan.cost.gpuHours!, gpus * hours);
    expectNear(plan.cost.totalUsd!, gpu.pricePerGpuHour * gpus * hours);
  });

  describe('saved plans', () => {
    let first: PlanBody;
    let second: PlanBody;
    let untracked: PlanBody;

    beforeAll(async () => {
      const save = async (body: object) =>
        (await http().post('/api/v1/plans').send(body).expect(201)).body as PlanBody;
      first = await save({ ...LLAMA_1B_DDP, name: 'ddp, "baseline"', tags: ['q3'] });
      second = await save({
        name: '=2 nodes',
        tags: ['q3', 'llama-8b'],
        model: 'llama-3-8b',
        cluster: { gpu: 'a100-80gb', nodes: 2, gpusPerNode: 8 },
        training: { sequenceLength: 4096, tokensToTrain: 2e9 },
        parallelism: { zeroStage: 3 },
      });
      untracked = await save({ ...LLAMA_1B_DDP, training: { sequenceLength: S }, tags: ['other'] });
    });

    it('summary totals GPU-hours and cost of a tag from its plans with tokensToTrain', async () => {
      const q3 = (await http().get('/api/v1/plans/summary?tag=q3').expect(200)).body as Record<
        string,
        number
      >;
      expect(q3).toMatchObject({ tag: 'q3', plans: 2, budgeted: 2 });
      // Each plan: tokens / (tokens per second) / 3600 x GPUs hours, at its GPU's price.
      const hours = (plan: PlanBody, tokens: number) =>
        (tokens / plan.performance.tokensPerSecond / 3600) * plan.layout.gpus;
      expectNear(q3.gpuHours, hours(first, 1e9) + hours(second, 2e9));
      expectNear(
        q3.totalUsd,
        hours(first, 1e9) * first.cost.pricePerGpuHour +
          hours(second, 2e9) * second.cost.pricePerGpuHour,
      );
      const other = (await http().get('/api/v1/plans/summary?tag=other').expect(200)).body;
      expect(other).toMatchObject({ plans: 1, budgeted: 0, gpuHours: 0, totalUsd: 0 });
    });

    it('exports the plans of a tag as CSV a spreadsheet reads, one row per plan', async () => {
      const response = await http().get('/api/v1/plans/export.csv?tag=q3').expect(200);
      expect(response.headers['content-type']).toMatch(/^text\/csv/);
      const [header, ...rows] = parseCsvRecords(response.text);
      for (const column of [
        'id',
        'name',
        'tags',
        'createdAt',
        'model',
        'gpu',
        'gpus',
        'layout',
        'allocatedPeakGiB',
        'deviceUsedGiB',
        'fits',
        'tokensPerSecond',
        'usdPerMillionTokens',
        'gpuHours',
        'totalUsd',
      ]) {
        expect(header).toContain(column);
      }
      const byId = new Map(rows.map((row) => [row[header.indexOf('id')], row]));
      expect([...byId.keys()].sort()).toEqual([first.id, second.id].sort());
      const cell = (plan: PlanBody, column: string) => byId.get(plan.id)![header.indexOf(column)];
      expect(cell(first, 'name')).toBe('ddp, "baseline"');
      expect(cell(second, 'name')).toBe("'=2 nodes"); // defused formula
      expect(cell(second, 'gpus')).toBe('16');
      expect(cell(second, 'layout')).toBe('dp16 tp1 pp1 cp1');
      expect(cell(first, 'fits')).toBe(String(first.memory.perGpu.fits));
      expect(Number(cell(first, 'gpuHours'))).toBeCloseTo(first.cost.gpuHours!, 6);
      expect(Number(cell(second, 'totalUsd'))).toBeCloseTo(second.cost.totalUsd!, 6);
    });

    it('PATCH changes name, tags and notes, never the figures, and rejects anything else', async () => {
      const patched = (
        await http()
          .patch(`/api/v1/plans/${untracked.id}`)
          .send({ name: 'renamed', tags: ['q4'], notes: 'for the review' })
          .expect(200)
      ).body as PlanBody;
      expect(patched).toMatchObject({ name: 'renamed', tags: ['q4'], notes: 'for the review' });
      const stored = (await http().get(`/api/v1/plans/${untracked.id}`).expect(200))
        .body as PlanBody;
      for (const plan of [patched, stored]) {
        expect(plan.memory).toEqual(untracked.memory);
        expect(plan.performance).toEqual(untracked.performance);
        expect(plan.cost).toEqual(untracked.cost);
        expect(plan.request).toEqual(untracked.request);
        expect(plan.createdAt).toBe(untracked.createdAt);
      }
      const q4 = (await http().get('/api/v1/plans?tag=q4').expect(200)).body as {
        items: PlanBody[];
      };
      expect(q4.items.map((p) => p.id)).toEqual([untracked.id]);
      const other = (await http().get('/api/v1/plans?tag=other').expect(200)).body as {
        total: number;
      };
      expect(other.total).toBe(0);

      const cleared = (
        await http().patch(`/api/v1/plans/${untracked.id}`).send({ notes: null }).expect(200)
      ).body as PlanBody;
      expect(cleared.notes).toBeUndefined();
      expect(cleared.name).toBe('renamed');

      expectProblem(
        await http()
          .patch(`/api/v1/plans/${untracked.id}`)
          .send({ memory: { perGpu: { fits: true } } }),
        400,
        'memory',
      );
      expectProblem(
        await http().patch(`/api/v1/plans/${untracked.id}`).send({ name: null }),
        400,
        'name',
      );
      expectProblem(await http().patch('/api/v1/plans/no-such-plan').send({ name: 'x' }), 404);
    });

    it('reevaluate shows the saved figures next to the current ones without overwriting', async () => {
      const same = (await http().post(`/api/v1/plans/${first.id}/reevaluate`).expect(200)).body;
      expect(same.engineVersion).toEqual({
        saved: first.engineVersion,
        current: first.engineVersion,
      });
      expect(same.differences).toEqual([]);
      expect(same.current.memory).toEqual(first.memory);

      // A plan saved by an engine that computed another figure: edit the stored row directly.
      await sql(
        engine === 'sqlite'
          ? `UPDATE plans SET result = json_set(result, '$.memory.perGpu.deviceUsedBytes', 1, '$.engineVersion', '0.9.0') WHERE id = ?`
          : `UPDATE plans SET result = jsonb_set(jsonb_set(result, '{memory,perGpu,deviceUsedBytes}', '1'), '{engineVersion}', '"0.9.0"') WHERE id = $1`,
        [first.id],
      );

      const changed = (await http().post(`/api/v1/plans/${first.id}/reevaluate`).expect(200)).body;
      expect(changed.engineVersion).toEqual({ saved: '0.9.0', current: first.engineVersion });
      expect(changed.differences).toEqual([
        {
          field: 'memory.perGpu.deviceUsedBytes',
          saved: 1,
          current: first.memory.perGpu.deviceUsedBytes,
        },
      ]);
      const stored = (await http().get(`/api/v1/plans/${first.id}`).expect(200)).body as PlanBody;
      expect(stored.memory.perGpu.deviceUsedBytes).toBe(1);
      expect(stored.engineVersion).toBe('0.9.0');

      expectProblem(await http().post('/api/v1/plans/no-such-plan/reevaluate'), 404);
    });
  });
});
