import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { startApp, temporaryDatabase } from '../../test/support/app';
import { ENGINE_VERSION } from '../engine';
import { EXAMPLE_PLAN_REQUEST } from './openapi';

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
});
