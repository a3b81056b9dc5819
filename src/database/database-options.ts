// The one place the SQLite connection is described; the app and the TypeORM CLI both use it.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { CustomModelEntity } from '../models/custom-model.entity';
import { PlanTagEntity } from '../plans/plan-tag.entity';
import { PlanEntity } from '../plans/plan.entity';

export const ENTITIES = [PlanEntity, PlanTagEntity, CustomModelEntity];

/** Connection options for the SQLite file at `databasePath`, creating its folder if missing. */
export function databaseOptions(databasePath: string): DataSourceOptions {
  if (databasePath !== ':memory:') mkdirSync(dirname(databasePath), { recursive: true });
  return {
    type: 'better-sqlite3',
    database: databasePath,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    // Readers do not block the writer, and a crash mid-write cannot corrupt saved plans.
    prepareDatabase: (db: Database) => {
      db.pragma('journal_mode = WAL');
    },
  };
}
