// The range, the verdict, the advice and the GPU count over real HTTP: what a plan that does not
// fit says, and that its first advice, sent back to /plans/estimate, fits.
import { appPerSuite, expectProblem } from './support/app';
import type { Advice, PlanResult } from '../src/engine';

/** The issue's plan: 121 GiB of QLoRA on a 45 GiB L40S. */
const ISSUE = {
  model: 'llama-3.1-70b',
  cluster: { gpu: 'l40s' },
  training: { method: 'qlora', sequenceLength: 2048 },
};

describe('range, verdict, advice and GPU count (e2e)', () => {
  const { http } = appPerSuite();

  it('gives every rank its 80% range from the band it names, and a verdict', async () => {
    const plan = (await http().post('/api/v1/plans/estimate').send(ISSUE).expect(200))
      .body as PlanResult;
    const { perGpu, ranks, errorBand } = plan.memory;
    // One GPU, QLoRA: the qlora band; measured = predicted / (1 + error).
    expect(errorBand).toMatchObject({ category: 'qlora', coverage: 0.8 });
    const used = perGpu.deviceUsedBytes;
    expect(perGpu.deviceUsedRangeBytes).toEqual([
      Math.round(used / (1 + errorBand!.highError)),
      Math.round(used / (1 + errorBand!.lowError)),
    ]);
    expect(perGpu.verdict).toBe('does not fit');
    for (const rank of ranks) expect(rank.verdict).toBe('does not fit');
  });

  it('advises a plan that does not fit; the first advice sent back as a request fits', async () => {
    const plan = (await http().post('/api/v1/plans/estimate').send(ISSUE).expect(200))
      .body as PlanResult;
    const first = plan.advice![0] as Advice;
    expect(first.rank).toBe(1);
    const again = (await http().post('/api/v1/plans/estimate').send(first.request).expect(200))
      .body as PlanResult;
    expect(again.memory.perGpu.fits).toBe(true);
    expect(again.memory.perGpu.deviceUsedBytes).toBe(first.figures.deviceUsedBytes);
    // Advice with room for the top of its range ranks first, and such a plan needs no advice.
    expect(first.figures.verdict).toBe('fits');
    expect(again.memory.perGpu.verdict).toBe('fits');
    expect(again.advice).toEqual([]);
  });

  it('saves the advice with the plan and serves it back as saved', async () => {
    const saved = await http()
      .post('/api/v1/plans')
      .send({ ...ISSUE, name: 'too big', tags: ['advice'] })
      .expect(201);
    const read = await http().get(saved.headers.location).expect(200);
    expect(read.body).toEqual(saved.body);
    expect(read.body.advice.length).toBeGreaterThan(0);
  });

  it('answers how many GPUs: the fewest fit, one fewer size does not', async () => {
    const answer = (
      await http()
        .post('/api/v1/plans/gpus-needed')
        .send({ model: ISSUE.model, cluster: { gpu: 'l40s' }, training: ISSUE.training })
        .expect(200)
    ).body as {
      fewest: { gpus: number; request: object; figures: { deviceUsedBytes: number } };
      cheapest: { gpus: number };
      tried: { gpus: number; fits: boolean }[];
    };
    expect(answer.tried.filter((t) => t.gpus < answer.fewest.gpus).every((t) => !t.fits)).toBe(
      true,
    );
    const again = (
      await http().post('/api/v1/plans/estimate').send(answer.fewest.request).expect(200)
    ).body as PlanResult;
    expect(again.layout.gpus).toBe(answer.fewest.gpus);
    expect(again.memory.perGpu.verdict).toBe('fits');
    expect(again.memory.perGpu.deviceUsedBytes).toBe(answer.fewest.figures.deviceUsedBytes);
  });

  it('refuses a bad GPU-count question with a 400 naming the field', async () => {
    const bad = await http()
      .post('/api/v1/plans/gpus-needed')
      .send({ model: 'llama-3-8b', cluster: { gpu: 'l40s', maxGpus: 0 } });
    expectProblem(bad, 400, 'cluster.maxGpus');
    const unknown = await http()
      .post('/api/v1/plans/gpus-needed')
      .send({ model: 'llama-3-8b', cluster: { gpu: 'tpu-v9' } });
    expectProblem(unknown, 400, 'cluster.gpu');
    const serving = await http()
      .post('/api/v1/plans/gpus-needed')
      .send({ model: 'llama-3-8b', cluster: { gpu: 'l40s' }, workload: 'inference' });
    expectProblem(serving, 400, 'workload');
    const tooMany = await http()
      .post('/api/v1/plans/gpus-needed')
      .send({ model: 'llama-3-8b', cluster: { gpu: 'l40s', maxGpus: 100000 } });
    expectProblem(tooMany, 400, 'cluster.maxGpus');
  });
});
