// Every request issue #24 reported as stopping or corrupting the service: each now gets its 4xx
// (as problem+json, without a path or a stack), saves nothing, and /health still answers.
// How long each takes is measured by bench/reproductions.ts, not here.
import type { Test } from 'supertest';
import { appPerSuite, expectProblem, testEngines } from './support/app';
import { Reproduction, REPRODUCTIONS } from './support/reproductions';

type Http = ReturnType<ReturnType<typeof appPerSuite>['http']>;

function send(http: Http, reproduction: Reproduction): Test {
  const method = reproduction.method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete';
  const request = http[method](reproduction.path);
  if (reproduction.method === 'GET') return request;
  request.set('content-type', 'application/json');
  for (const [name, value] of Object.entries(reproduction.headers ?? {})) request.set(name, value);
  return request.send(reproduction.raw ?? (reproduction.body as object));
}

/** What a response must never show: where the service is installed, or a stack frame. */
function expectNothingInternal(text: string): void {
  expect(text).not.toContain(process.cwd());
  expect(text).not.toContain('node_modules');
  expect(text).not.toMatch(/\n\s+at /);
}

// A saved custom model from before the limits: 1e9 layers, which counting would never finish.
const OVERSIZED_CONFIG = {
  model_type: 'llama',
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 1_000_000_000,
  num_attention_heads: 32,
  vocab_size: 128256,
};

describe.each(testEngines())('issue #24 reproductions on %s', (engine) => {
  const { http, sql } = appPerSuite(engine);
  const counts = async () => {
    const plans = (await http().get('/api/v1/plans').expect(200)).body as { total: number };
    const models = (await http().get('/api/v1/models').expect(200)).body as unknown[];
    return { plans: plans.total, models: models.length };
  };

  beforeAll(async () => {
    await http()
      .post('/api/v1/plans')
      .send({ model: 'llama-3-8b', cluster: { gpu: 'h100-80gb' } })
      .expect(201);
  });

  it.each(REPRODUCTIONS.map((r) => [r.name, r] as const))(
    '%s: its 4xx, nothing saved, /health answers',
    async (_, reproduction) => {
      const before = await counts();
      const response = await send(http(), reproduction);
      expectProblem(response, reproduction.status);
      expectNothingInternal(response.text);
      expect(await counts()).toEqual(before);
      await http().get('/api/v1/health').expect(200);
    },
  );

  it('a model saved before the limits is left out of GET /models and can be deleted', async () => {
    const placeholder = engine === 'sqlite' ? '?' : '$1';
    const json = JSON.stringify(OVERSIZED_CONFIG);
    await sql(
      `INSERT INTO custom_models (id, config, architecture, created_at) VALUES ('oversized', ${placeholder}, ${placeholder.replace('1', '2')}, '2025-01-01T00:00:00.000Z')`,
      [json, JSON.stringify({ id: 'oversized', name: 'oversized' })],
    );
    await sql('UPDATE custom_model_revision SET revision = revision + 1 WHERE id = 1');

    const models = (await http().get('/api/v1/models').expect(200)).body as { id: string }[];
    expect(models.map((model) => model.id)).not.toContain('oversized');
    expectProblem(await http().get('/api/v1/models/oversized'), 404);

    await http().delete('/api/v1/models/oversized').expect(204);
    expect(await sql(`SELECT id FROM custom_models WHERE id = 'oversized'`)).toEqual([]);
    expectProblem(await http().delete('/api/v1/models/oversized'), 404);
  });
});
