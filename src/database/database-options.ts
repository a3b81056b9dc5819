// The one place the database connection is described; the app and the TypeORM CLI both use it.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import type { DatabaseConfig } from '../config/app-config';
import { CustomModelEntity } from '../models/custom-model.entity';
import { PlanTagEntity } from '../plans/plan-tag.entity';
import { PlanEntity } from '../plans/plan.entity';

export const ENTITIES = [PlanEntity, PlanTagEntity, CustomModelEntity];

/** How long a SQLite statement waits for another connection's write lock before SQLITE_BUSY;
 * every write here holds the lock for milliseconds, so 2 s only runs out under a stuck writer. */
export const SQLITE_BUSY_TIMEOUT_MS = 2000;

/** Connections one instance opens to PostgreSQL: pg-pool's default of 10, so two instances
 * stay well inside the server's default max_connections of 100. */
const POSTGRES_POOL_SIZE = 10;

function sqliteOptions(databasePath: string): DataSourceOptions {
  if (databasePath !== ':memory:') mkdirSync(dirname(databasePath), { recursive: true });
  return {
    type: 'better-sqlite3',
    database: databasePath,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    timeout: SQLITE_BUSY_TIMEOUT_MS,
    // Readers do not block the writer, and a crash mid-write cannot corrupt saved plans.
    prepareDatabase: (db: Database) => {
      db.pragma('journal_mode = WAL');
    },
  };
}

function postgresOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    applicationName: 'shardplan',
    extra: { max: POSTGRES_POOL_SIZE },
  };
}

/** Connection options for the configured database (a SQLite file's folder is created). */
export function databaseOptions(database: DatabaseConfig): DataSourceOptions {
  return database.engine === 'sqlite'
    ? sqliteOptions(database.path)
    : postgresOptions(database.url);
}
