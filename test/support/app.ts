// Starts the real AppModule on a SQLite file of the test's own, as `npm start` would.
import { NestExpressApplication } from '@nestjs/platform-express';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { Response } from 'supertest';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/common/configure-app';

/** A fresh folder for one suite's database; `remove()` deletes it. */
export function temporaryDatabase(): { path: string; remove: () => void } {
  const folder = mkdtempSync(join(tmpdir(), 'shardplan-e2e-'));
  return {
    path: join(folder, 'nested', 'shardplan.sqlite'), // nested: the app must create the folder
    remove: () => rmSync(folder, { recursive: true, force: true }),
  };
}

/** The application serving the database at `databasePath`, initialised and ready for HTTP. */
export async function startApp(databasePath: string): Promise<NestExpressApplication> {
  process.env.DATABASE_PATH = databasePath;
  // NestFactory rather than Test.createTestingModule: the static web page needs the HTTP adapter
  // while modules are built, as it has under `npm start`.
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    logger: ['error', 'warn'],
  });
  configureApp(app);
  await app.init();
  return app;
}

/** One app on a database of its own for a whole suite: started before it, closed and removed
 * after; `restart()` closes it and boots a new one on the same file, as a redeploy would. */
export function appPerSuite(): {
  http: () => ReturnType<typeof request>;
  databasePath: string;
  restart: () => Promise<void>;
} {
  const database = temporaryDatabase();
  let app: NestExpressApplication;
  beforeAll(async () => {
    app = await startApp(database.path);
  });
  afterAll(async () => {
    await app.close();
    database.remove();
  });
  return {
    http: () => request(app.getHttpServer()),
    databasePath: database.path,
    restart: async () => {
      await app.close();
      app = await startApp(database.path);
    },
  };
}

/** A 4xx problem+json answer whose errors name `field` (one entry's field equals it). */
export function expectProblem(response: Response, status: number, field?: string): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.body as {
    type: string;
    title: string;
    status: number;
    detail: string;
    errors: { field: string; message: string }[];
  };
  expect(body).toEqual(
    expect.objectContaining({
      type: expect.any(String),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      errors: expect.any(Array),
    }),
  );
  if (field !== undefined) {
    expect(body.errors.map((error) => error.field)).toContain(field);
    for (const error of body.errors) expect(error.message.length).toBeGreaterThan(0);
  }
}
