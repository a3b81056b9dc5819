import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { startApp, temporaryDatabase } from '../../test/support/app';
import { ENGINE_VERSION, normalizeRequest, PlanRequestInput } from '../engine';
import { EXAMPLE_PLAN_REQUEST } from './openapi';

interface Schema {
  $ref?: string;
  allOf?: Schema[];
  default?: unknown;
  properties?: Record<string, Schema>;
}

/** Every `default` a schema states, by dotted path, following references to nested sections. */
function statedDefaults(
  schemas: Record<string, Schema>,
  name: string,
  path = '',
): [string, unknown][] {
  return Object.entries(schemas[name].properties ?? {}).flatMap(([key, property]) => {
    const field = path ? `${path}.${key}` : key;
    const ref = property.$ref ?? property.allOf?.[0]?.$ref;
    if (ref) return statedDefaults(schemas, ref.split('/').pop()!, field);
    return 'default' in property ? [[field, property.default] as [string, unknown]] : [];
  });
}

function valueAt(source: unknown, path: string): unknown {
  return path.split('.').reduce((node, key) => (node as Record<string, unknown>)?.[key], source);
}

describe('OpenAPI (setupOpenApi through configureApp)', () => {
  const database = temporaryDatabase();
  let app: INestApplication;

  beforeAll(async () => {
    app = await startApp(database.path);
  });

  afterAll(async () => {
    await app.close();
    database.remove();
  });

  it('serves the JSON document at /docs-json with the title, version and every endpoint', async () => {
    const response = await request(app.getHttpServer()).get('/docs-json').expect(200);
    expect(response.body.info).toMatchObject({ title: 'Shardplan', version: ENGINE_VERSION });
    expect(Object.keys(response.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/plans/estimate',
        '/api/v1/plans',
        '/api/v1/models',
        '/api/v1/gpus',
      ]),
    );
  });

  it('starts "Try it out" for estimate and save from the 8 x A100 Llama-3-8B example', async () => {
    const { body } = await request(app.getHttpServer()).get('/docs-json').expect(200);
    for (const path of ['/api/v1/plans/estimate', '/api/v1/plans']) {
      expect(body.paths[path].post.requestBody.content['application/json'].example).toEqual(
        EXAMPLE_PLAN_REQUEST,
      );
    }
  });

  it('serves Swagger UI at /docs', async () => {
    const response = await request(app.getHttpServer()).get('/docs').expect(200);
    expect(response.text).toContain('swagger');
  });

  it('the example is a request the API plans', async () => {
    const response = await request(app.getHttpServer())
      .post('/api/v1/plans/estimate')
      .send(EXAMPLE_PLAN_REQUEST)
      .expect(200);
    expect(response.body.layout).toMatchObject({ gpus: 8, dataParallel: 8 });
    expect(response.body.request.parallelism.zeroStage).toBe(3);
  });

  it('states as each PlanRequest default what the engine fills in when the field is left out', async () => {
    const { body } = await request(app.getHttpServer()).get('/docs-json').expect(200);
    const defaults = statedDefaults(body.components.schemas, 'PlanRequestDto');
    // The smallest requests: LoRA and QLoRA settings exist only for those methods, DPO's and
    // KTO's only for them, and the inference section only for serving.
    const minimal: PlanRequestInput = { model: 'llama-3-8b', cluster: { gpu: 'a100-80gb' } };
    const filled = {
      plan: normalizeRequest(minimal),
      qlora: normalizeRequest({ ...minimal, training: { method: 'qlora' } }),
      dpo: normalizeRequest({ ...minimal, training: { preference: 'dpo' } }),
      kto: normalizeRequest({ ...minimal, training: { preference: 'kto' } }),
      inference: normalizeRequest({ ...minimal, workload: 'inference' }),
    };
    const filledFor = (field: string) =>
      field.startsWith('inference.')
        ? filled.inference
        : /^training\.(lora|qlora)\./.test(field)
          ? filled.qlora
          : field.startsWith('training.dpo.')
            ? filled.dpo
            : field.startsWith('training.kto.')
              ? filled.kto
              : filled.plan;
    expect(defaults.length).toBeGreaterThan(40);
    for (const [field, stated] of defaults) {
      expect([field, valueAt(filledFor(field), field)]).toEqual([field, stated]);
    }
  });
});
