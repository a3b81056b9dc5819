// Two instances of the service on one database (the same SQLite file, the same PostgreSQL
// database): concurrent saves and PATCHes all succeed and every plan is read back from both;
// a custom model added on one is planned with on the other. bench/two-instances.ts runs the
// same with 10,000 of each against two real server processes.
import { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { startApp, testEngines } from './support/app';
import { TestDatabase, testDatabase } from './support/databases';

/** Saves and PATCHes per instance: enough to overlap constantly, few enough for CI. */
const WRITES_PER_INSTANCE = 100;
/** Requests each instance has in flight at once. */
const CONCURRENCY = 10;

const PLAN = { model: 'llama-3.2-1b', cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 } };
const TINY_CONFIG = {
  model_type: 'llama',
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  vocab_size: 1000,
};

/** Runs `task(i)` for i in [0, count) with at most `CONCURRENCY` running at once. */
async function inParallel<T>(count: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return results;
}

describe.each(testEngines())('two instances on one %s database', (engine) => {
  let database: TestDatabase;
  let apps: NestExpressApplication[];
  const http = (instance: number) => request(apps[instance].getHttpServer());

  beforeAll(async () => {
    database = await testDatabase(engine);
    apps = [await startApp(database), await startApp(database)];
  });
  afterAll(async () => {
    for (const app of apps ?? []) await app.close();
    await database?.remove();
  });

  let ids: string[] = [];

  it('saves concurrently on both: every answer 201, every plan read back from both', async () => {
    const statuses: number[] = [];
    const saved = await Promise.all(
      [0, 1].map((instance) =>
        inParallel(WRITES_PER_INSTANCE, async (i) => {
          const response = await http(instance)
            .post('/api/v1/plans')
            .send({ ...PLAN, name: `instance ${instance} plan ${i}`, tags: ['shared'] });
          statuses.push(response.status);
          return response.body.id as string;
        }),
      ),
    );
    expect(statuses.filter((status) => status !== 201)).toEqual([]);
    ids = saved.flat();
    expect(new Set(ids).size).toBe(2 * WRITES_PER_INSTANCE);
    for (const instance of [0, 1]) {
      const page = await http(instance).get('/api/v1/plans?tag=shared&limit=1').expect(200);
      expect(page.body.total).toBe(2 * WRITES_PER_INSTANCE);
      const reads = await inParallel(ids.length, (i) =>
        http(instance).get(`/api/v1/plans/${ids[i]}`),
      );
      expect(reads.filter((response) => response.status !== 200)).toEqual([]);
    }
  });

  it('PATCHes the same plans from both at once: every answer 200, both read the same', async () => {
    const statuses: number[] = [];
    await Promise.all(
      [0, 1].map((instance) =>
        inParallel(WRITES_PER_INSTANCE, async (i) => {
          // Both instances relabel the same plan at about the same moment.
          const response = await http(instance)
            .patch(`/api/v1/plans/${ids[i]}`)
            .send({ name: `renamed by ${instance}`, tags: [`by-${instance}`, 'patched'] });
          statuses.push(response.status);
        }),
      ),
    );
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    for (const id of ids.slice(0, WRITES_PER_INSTANCE)) {
      const [a, b] = await Promise.all([0, 1].map((i) => http(i).get(`/api/v1/plans/${id}`)));
      expect(a.text).toBe(b.text);
      // One PATCH won, whole: its name and its tags together, never a mix.
      const winner = a.body.name.slice(-1);
      expect(a.body.tags).toEqual([`by-${winner}`, 'patched']);
    }
    const patched = await http(1).get('/api/v1/plans?tag=patched&limit=1').expect(200);
    expect(patched.body.total).toBe(WRITES_PER_INSTANCE);
  });

  it('plans on one instance with a custom model added on the other', async () => {
    await http(0)
      .post('/api/v1/models')
      .send({ id: 'tiny-shared', config: TINY_CONFIG })
      .expect(201);
    const planned = await http(1)
      .post('/api/v1/plans/estimate')
      .send({ ...PLAN, model: 'tiny-shared' })
      .expect(200);
    expect(planned.body.model.id).toBe('tiny-shared');
    const listed = await http(1).get('/api/v1/models/tiny-shared').expect(200);
    expect(listed.body.custom).toBe(true);
    // The other instance knows the id is taken, and a delete there reaches the first.
    await http(1)
      .post('/api/v1/models')
      .send({ id: 'tiny-shared', config: TINY_CONFIG })
      .expect(409);
    await http(1).delete('/api/v1/models/tiny-shared').expect(204);
    await http(0).get('/api/v1/models/tiny-shared').expect(404);
  });

  it('adds the same model id on both at once: exactly one 201, the other 409', async () => {
    const statuses = await Promise.all(
      [0, 1].map(
        async (instance) =>
          (await http(instance).post('/api/v1/models').send({ id: 'raced', config: TINY_CONFIG }))
            .status,
      ),
    );
    expect(statuses.sort()).toEqual([201, 409]);
  });
});
