// Starts the real AppModule on a database of the test's own, as `npm start` would.
import { NestExpressApplication } from '@nestjs/platform-express';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/common/configure-app';
import { Engine, sqliteDatabase, TestDatabase, testDatabase } from './databases';

export { testEngines } from './databases';
export type { Engine } from './databases';

/** A fresh SQLite file for one suite; `remove()` deletes its folder. */
export function temporaryDatabase(): { path: string; remove: () => void } {
  const database = sqliteDatabase();
  return { path: database.path, remove: () => void database.remove() };
}

/** The application serving `database` (a SQLite path, or a test database of either engine),
 * initialised and ready for HTTP. */
export async function startApp(
  database: string | TestDatabase,
  env: Record<string, string | undefined> = {},
): Promise<NestExpressApplication> {
  const target = typeof database === 'string' ? { DATABASE_PATH: database } : database.env;
  // The app reads its configuration from the environment when it boots, as under `npm start`.
  delete process.env.DATABASE_PATH;
  delete process.env.DATABASE_URL;
  Object.assign(process.env, target);
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  // NestFactory rather than Test.createTestingModule: the static web page needs the HTTP adapter
  // while modules are built, as it has under `npm start`.
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    logger: ['error', 'warn'],
  });
  configureApp(app);
  await app.init();
  return app;
}

/** Runs SQL on the app's own database (`?` placeholders on SQLite, `$1` on PostgreSQL). */
export function sqlOf(app: NestExpressApplication) {
  return (sql: string, parameters: unknown[] = []): Promise<unknown[]> =>
    app.get(DataSource).query(sql, parameters);
}

/** One app on a database of its own for a whole suite: started before it, closed and removed
 * after; `restart()` closes it and boots a new one on the same database, as a redeploy would. */
export function appPerSuite(engine: Engine = 'sqlite'): {
  http: () => ReturnType<typeof request>;
  engine: Engine;
  sql: (sql: string, parameters?: unknown[]) => Promise<unknown[]>;
  restart: () => Promise<void>;
} {
  let database: TestDatabase;
  let app: NestExpressApplication;
  beforeAll(async () => {
    database = await testDatabase(engine);
    app = await startApp(database);
  });
  afterAll(async () => {
    await app?.close();
    await database?.remove();
  });
  return {
    http: () => request(app.getHttpServer()),
    engine,
    sql: (sql, parameters) => sqlOf(app)(sql, parameters),
    restart: async () => {
      await app.close();
      app = await startApp(database);
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
