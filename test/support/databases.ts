// The databases end-to-end suites run against: a SQLite file of their own, and a PostgreSQL
// database of their own created on the server SHARDPLAN_TEST_POSTGRES_URL names.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';

export type Engine = 'sqlite' | 'postgres';

/** A role with CREATEDB on the machine's PostgreSQL (.ci/run creates it); its `postgres`
 * database is where test databases are created from. */
export const DEFAULT_TEST_POSTGRES_URL = 'postgres://shardplan:shardplan@127.0.0.1:5432/postgres';

export function testPostgresUrl(): string {
  return process.env.SHARDPLAN_TEST_POSTGRES_URL ?? DEFAULT_TEST_POSTGRES_URL;
}

/** The engines this run covers: set by test/support/global-setup.ts (both where PostgreSQL
 * answers, and always both under CI), or by SHARDPLAN_TEST_DATABASES=sqlite,postgres. */
export function testEngines(): Engine[] {
  const listed = (process.env.SHARDPLAN_TEST_DATABASES ?? 'sqlite').split(',');
  return listed
    .map((name) => name.trim())
    .filter((name): name is Engine => name === 'sqlite' || name === 'postgres');
}

/** One database a test owns: the environment that points the app at it, and its removal. */
export interface TestDatabase {
  engine: Engine;
  /** DATABASE_PATH (SQLite) or DATABASE_URL (PostgreSQL). */
  env: { DATABASE_PATH?: string; DATABASE_URL?: string };
  remove: () => Promise<void>;
}

/** A fresh SQLite file in a folder of its own; the app must create the nested folder. */
export function sqliteDatabase(): TestDatabase & { path: string } {
  const folder = mkdtempSync(join(tmpdir(), 'shardplan-e2e-'));
  const path = join(folder, 'nested', 'shardplan.sqlite');
  return {
    engine: 'sqlite',
    path,
    env: { DATABASE_PATH: path },
    remove: async () => rmSync(folder, { recursive: true, force: true }),
  };
}

async function onServer<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: testPostgresUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new, empty PostgreSQL database; remove() drops it (closing what still connects to it). */
export async function postgresDatabase(): Promise<TestDatabase> {
  const name = `shardplan_test_${randomBytes(6).toString('hex')}`;
  await onServer((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(testPostgresUrl());
  url.pathname = `/${name}`;
  return {
    engine: 'postgres',
    env: { DATABASE_URL: url.toString() },
    // Sessions of our own role still open (a killed server's) are ended first; a plain DROP
    // then also waits out an autovacuum worker, which FORCE may not end without a superuser.
    remove: () =>
      onServer(async (client) => {
        await client.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = current_user AND pid <> pg_backend_pid()',
          [name],
        );
        await client.query(`DROP DATABASE IF EXISTS ${name}`);
      }),
  };
}

export function testDatabase(engine: Engine): Promise<TestDatabase> {
  return engine === 'sqlite' ? Promise.resolve(sqliteDatabase()) : postgresDatabase();
}

/** Whether the PostgreSQL server answers (global setup asks once per run). */
export async function postgresAnswers(): Promise<boolean> {
  try {
    await onServer((client) => client.query('SELECT 1'));
    return true;
  } catch {
    return false;
  }
}
