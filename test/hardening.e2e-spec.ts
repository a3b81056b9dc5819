// What issue #24 added besides its reproductions: keyset pages, only the read fields of an
// inline or custom model stored, DELETE /models, the last check on saved figures, security
// headers and the API key for writes.
import { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { appPerSuite, expectProblem, startApp, testEngines } from './support/app';
import { postgresDatabase, sqliteDatabase, TestDatabase } from './support/databases';

const LLAMA_CONFIG = {
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  vocab_size: 128256,
};
/** Keys the planner never reads, one of them 100,000 characters long. */
const IGNORED = { rope_theta: 500000, eos_token_id: 2, padding: 'x'.repeat(100_000) };
const H100 = { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 };

interface Page {
  items: { id: string }[];
  total: number;
  offset?: number;
  cursor?: string;
  nextCursor: string | null;
}

describe.each(testEngines())('hardening on %s', (engine) => {
  const { http, sql } = appPerSuite(engine);
  const param = (n: number) => (engine === 'sqlite' ? '?' : `$${n}`);
  const storedRequest = async (id: string) => {
    const [row] = (await sql(`SELECT request FROM plans WHERE id = ${param(1)}`, [id])) as {
      request: unknown;
    }[];
    return (typeof row.request === 'string' ? JSON.parse(row.request) : row.request) as {
      model: Record<string, unknown>;
    };
  };

  it('pages by cursor through the same plans, newest first, as offset pages do', async () => {
    for (let i = 0; i < 5; i++) {
      await http()
        .post('/api/v1/plans')
        .send({ name: `paged ${i}`, tags: ['paged'], model: 'llama-3.2-1b', cluster: H100 })
        .expect(201);
    }
    const all = (await http().get('/api/v1/plans?tag=paged&limit=5').expect(200)).body as Page;
    expect(all.nextCursor).toBeNull();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: Record<string, string | number> = { tag: 'paged', limit: 2 };
      if (cursor) query.cursor = cursor;
      const page = (await http().get('/api/v1/plans').query(query).expect(200)).body as Page;
      expect(page.total).toBe(5);
      if (cursor) expect(page).toMatchObject({ cursor });
      seen.push(...page.items.map((plan) => plan.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.items.map((plan) => plan.id));

    const first = (await http().get('/api/v1/plans?tag=paged&limit=2').expect(200)).body as Page;
    expectProblem(
      await http().get('/api/v1/plans').query({ cursor: first.nextCursor, offset: 2 }),
      400,
      'cursor',
    );
    expectProblem(await http().get('/api/v1/plans?cursor=not-a-cursor'), 400, 'cursor');
  });

  it('stores only the inline-model fields the planner read, with the same figures', async () => {
    const sent = { ...LLAMA_CONFIG, ...IGNORED };
    const saved = await http()
      .post('/api/v1/plans')
      .send({ model: sent, cluster: H100 })
      .expect(201);
    const stored = await storedRequest(saved.body.id);
    expect(stored.model).toEqual(LLAMA_CONFIG);
    expect(saved.body.request.model).toEqual(LLAMA_CONFIG);
    expect(saved.text.length).toBeLessThan(20_000);
    const planned = await http()
      .post('/api/v1/plans/estimate')
      .send({ model: LLAMA_CONFIG, cluster: H100 })
      .expect(200);
    expect(saved.body.memory).toEqual(planned.body.memory);
  });

  it('keeps id, name and the read config fields of a { id, name, config } model', async () => {
    const saved = await http()
      .post('/api/v1/plans')
      .send({
        model: { id: 'mine', name: 'Mine', config: { ...LLAMA_CONFIG, ...IGNORED } },
        cluster: H100,
      })
      .expect(201);
    expect((await storedRequest(saved.body.id)).model).toEqual({
      id: 'mine',
      name: 'Mine',
      config: LLAMA_CONFIG,
    });
  });

  it('stores only the config fields of a custom model the planner read', async () => {
    await http()
      .post('/api/v1/models')
      .send({ id: 'trimmed', config: { ...LLAMA_CONFIG, ...IGNORED } })
      .expect(201);
    const [row] = (await sql(`SELECT config FROM custom_models WHERE id = 'trimmed'`)) as {
      config: unknown;
    }[];
    const config = typeof row.config === 'string' ? JSON.parse(row.config) : row.config;
    expect(config).toEqual(LLAMA_CONFIG);
  });

  it('DELETE /models: 409 for a shipped model, 404 for none, 204 then unknown to planning', async () => {
    const shipped = await http().delete('/api/v1/models/llama-3-8b');
    expectProblem(shipped, 409);
    expect(shipped.body.detail).toMatch(/shipped catalog/);
    expectProblem(await http().delete('/api/v1/models/no-such-model'), 404);

    await http()
      .post('/api/v1/models')
      .send({ id: 'short-lived', config: LLAMA_CONFIG })
      .expect(201);
    await http()
      .post('/api/v1/plans/estimate')
      .send({ model: 'short-lived', cluster: H100 })
      .expect(200);
    await http().delete('/api/v1/models/short-lived').expect(204);
    expectProblem(
      await http().post('/api/v1/plans/estimate').send({ model: 'short-lived', cluster: H100 }),
      400,
      'model',
    );
    // The id is free again.
    await http()
      .post('/api/v1/models')
      .send({ id: 'short-lived', config: LLAMA_CONFIG })
      .expect(201);
  });

  it('refuses catalog ids past 200 characters without echoing them back', async () => {
    const long = 'x'.repeat(100_000);
    for (const [body, field] of [
      [{ model: long, cluster: H100 }, 'model'],
      [{ model: 'llama-3-8b', cluster: { ...H100, gpu: long } }, 'cluster.gpu'],
    ] as const) {
      const response = await http().post('/api/v1/plans/estimate').send(body);
      expectProblem(response, 400, field);
      expect(response.text.length).toBeLessThan(2_000);
    }
  });

  it('answers 422 and saves nothing when a figure could not be stored exactly', async () => {
    // Eager attention keeps scores of s^2 per head: at 2^24 tokens, ~1.8e18 bytes, past 2^53.
    const body = {
      model: 'llama-3-8b',
      cluster: H100,
      training: { sequenceLength: 16_777_216 },
      runtime: { attention: 'eager' },
    };
    const { total } = (await http().get('/api/v1/plans').expect(200)).body as Page;
    const estimate = await http().post('/api/v1/plans/estimate').send(body).expect(200);
    expect(estimate.body.memory.perGpu.allocatedPeakBytes).toBeGreaterThan(2 ** 53);
    const response = await http().post('/api/v1/plans').send(body);
    expectProblem(response, 422, 'memory.perGpu.allocatedPeakBytes');
    expect(((await http().get('/api/v1/plans').expect(200)).body as Page).total).toBe(total);
    // Nothing fits, so the estimate and the save each advise; gpus-needed's lower bound leaves
    // two cluster sizes to search (512 and 1,024 GPUs), about 11 s each on two cores.
  }, 120_000);
});

describe('serving hygiene', () => {
  const { http } = appPerSuite('sqlite');

  it.each(['/', '/api/v1/health', '/docs', '/api/v1/no-such-route'])(
    '%s carries the security headers and no X-Powered-By',
    async (path) => {
      const response = await http().get(path);
      expect(response.headers['x-powered-by']).toBeUndefined();
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(response.headers['content-security-policy']).toMatch(/script-src 'self'/);
    },
  );

  it('answers a repeated estimate with the same JSON, as JSON, from the remembered plan', async () => {
    const body = { model: 'llama-3-8b', cluster: H100, parallelism: { zeroStage: 3 } };
    const first = await http().post('/api/v1/plans/estimate').send(body).expect(200);
    const again = await http().post('/api/v1/plans/estimate').send(body).expect(200);
    expect(again.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(again.text).toBe(first.text);
    expect(again.body.memory.perGpu.fits).toBe(first.body.memory.perGpu.fits);
    expect(again.headers['x-frame-options']).toBe('DENY');
  });

  it('serves the page and its chart library, but no folder listing', async () => {
    await http().get('/').expect(200).expect('content-type', /html/);
    await http().get('/vendor/chartjs/chart.umd.js').expect(200);
    const folder = await http().get('/vendor/chartjs/');
    expectProblem(folder, 404);
    expect(folder.text).not.toContain(process.cwd());
  });
});

describe('an API key for writes (SHARDPLAN_API_KEY)', () => {
  const KEY = 'correct horse battery staple';
  let database: TestDatabase;
  let app: NestExpressApplication;
  const http = () => request(app.getHttpServer());
  const plan = { model: 'llama-3.2-1b', cluster: H100 };

  beforeAll(async () => {
    database = sqliteDatabase();
    app = await startApp(database, { SHARDPLAN_API_KEY: KEY });
  });
  afterAll(async () => {
    await app.close();
    delete process.env.SHARDPLAN_API_KEY;
    await database?.remove();
  });

  it('refuses writes without the key: 401 problem with WWW-Authenticate, nothing saved', async () => {
    for (const response of [
      await http().post('/api/v1/plans').send(plan),
      await http().post('/api/v1/plans').set('authorization', 'Bearer wrong').send(plan),
      await http().post('/api/v1/models').send({ id: 'x', config: LLAMA_CONFIG }),
      await http().delete('/api/v1/models/x'),
    ]) {
      expectProblem(response, 401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
    expect((await http().get('/api/v1/plans').expect(200)).body.total).toBe(0);
  });

  it('accepts the key as a bearer token or as x-api-key', async () => {
    const saved = await http()
      .post('/api/v1/plans')
      .set('authorization', `Bearer ${KEY}`)
      .send(plan)
      .expect(201);
    expectProblem(await http().patch(`/api/v1/plans/${saved.body.id}`).send({ name: 'n' }), 401);
    await http()
      .patch(`/api/v1/plans/${saved.body.id}`)
      .set('x-api-key', KEY)
      .send({ name: 'renamed' })
      .expect(200);
    await http().delete(`/api/v1/plans/${saved.body.id}`).set('x-api-key', KEY).expect(204);
  });

  it('leaves reads open: estimate, compare, search, reevaluate and every GET', async () => {
    await http().post('/api/v1/plans/estimate').send(plan).expect(200);
    await http().post('/api/v1/plans/compare').send({ base: plan, vary: 'zeroStage' }).expect(200);
    await http()
      .post('/api/v1/plans/search')
      .send({ model: 'llama-3.2-1b', cluster: { gpu: 'h100-80gb', gpus: 8 } })
      .expect(200);
    await http().get('/api/v1/models').expect(200);
    expectProblem(await http().post('/api/v1/plans/no-such-plan/reevaluate'), 404);
  });
});

const postgresOnly = testEngines().includes('postgres') ? describe : describe.skip;

postgresOnly('a PostgreSQL database that goes away', () => {
  let database: TestDatabase;
  let app: NestExpressApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    database = await postgresDatabase();
    app = await startApp(database);
    await http().get('/api/v1/health').expect(200);
    await database?.remove(); // drops it, closing the app's connections
  });
  afterAll(async () => {
    await app.close();
  });

  it.each(['/api/v1/health', '/api/v1/models', '/api/v1/plans'])(
    '%s answers 503 without the driver message',
    async (path) => {
      const response = await http().get(path);
      expectProblem(response, 503);
      expect(response.text).not.toMatch(/database "shardplan_test|terminat|ECONN|does not exist/);
    },
  );
});
