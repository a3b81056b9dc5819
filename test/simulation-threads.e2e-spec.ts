// The service with simulation threads on (SHARDPLAN_SIMULATION_THREADS): plans, comparisons,
// searches and saves answer as before, and while a plan's ranks simulate on the threads the
// thread serving HTTP answers other requests.
import { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { startApp, temporaryDatabase } from './support/app';

// Eight pipeline stages of Llama-3-70B, 64 micro-batches: eight rank simulations, and a plan
// that fits (no advice, which plans on the serving thread).
const PIPELINE = {
  model: 'llama-3-70b',
  cluster: { gpu: 'h100-80gb', nodes: 8, gpusPerNode: 8 },
  training: {
    sequenceLength: 4096,
    gradientAccumulationSteps: 64,
    activationCheckpointing: 'full',
  },
  parallelism: { tensorParallel: 8, pipelineParallel: 8, sequenceParallel: true },
};

describe('simulation threads (e2e)', () => {
  const database = temporaryDatabase();
  let app: NestExpressApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await startApp(database.path, { SHARDPLAN_SIMULATION_THREADS: '2' });
  });
  afterAll(async () => {
    await app.close(); // stops the threads (PlanningModule's SimulationThreadsShutdown)
    delete process.env.SHARDPLAN_SIMULATION_THREADS; // suites after this one in the process
    database.remove();
  });

  it('answers health while a cold pipeline plan simulates on the threads', async () => {
    const finished: string[] = [];
    const estimate = http()
      .post('/api/v1/plans/estimate')
      .send(PIPELINE)
      .then((response) => {
        finished.push('estimate');
        return response;
      });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await http().get('/api/v1/health').expect(200);
    finished.push('health');
    const planned = await estimate;
    expect(planned.status).toBe(200);
    expect(finished).toEqual(['health', 'estimate']);
    expect(planned.body.memory.ranks).toHaveLength(8);
    expect(planned.body.memory.perGpu.verdict).toBe('fits');
  }, 120_000);

  it('answers a repeated plan with the same body', async () => {
    const first = await http().post('/api/v1/plans/estimate').send(PIPELINE).expect(200);
    const again = await http().post('/api/v1/plans/estimate').send(PIPELINE).expect(200);
    expect(again.body).toEqual(first.body);
  }, 60_000);

  it('compares ZeRO stages, searches and saves with the threads', async () => {
    const base = {
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 },
      training: { sequenceLength: 4096 },
    };
    const compared = await http()
      .post('/api/v1/plans/compare')
      .send({ base, vary: 'zeroStage' })
      .expect(200);
    expect(compared.body.rows.map((row: { label: string }) => row.label)).toHaveLength(4);
    const found = await http()
      .post('/api/v1/plans/search')
      .send({ model: 'llama-3-8b', cluster: { gpu: 'a100-80gb', gpus: 8, gpusPerNode: 8 } })
      .expect(200);
    expect(found.body.results.length).toBeGreaterThan(0);
    const saved = await http().post('/api/v1/plans').send(base).expect(201);
    const estimated = await http().post('/api/v1/plans/estimate').send(base).expect(200);
    expect(saved.body.memory).toEqual(estimated.body.memory);
  }, 120_000);
});
