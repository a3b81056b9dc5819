// Migrations on boot, one instance at a time: instances started together on one database wait
// for the first to finish instead of racing to create the same tables.
import { DataSource } from 'typeorm';
import { isPostgres, writeTransaction } from './transactions';

/** The pg_advisory_lock key Shardplan instances take around their migrations (any fixed number
 * that no other application on the server uses). */
const POSTGRES_MIGRATION_LOCK = 0x5a4d_1a2b;

async function migratePostgres(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [POSTGRES_MIGRATION_LOCK]);
    await dataSource.runMigrations({ transaction: 'all' });
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [POSTGRES_MIGRATION_LOCK]);
    await runner.release();
  }
}

/** Runs the pending migrations; SQLite runs them inside one BEGIN IMMEDIATE, which is the lock. */
export async function migrate(dataSource: DataSource): Promise<void> {
  if (isPostgres(dataSource)) return migratePostgres(dataSource);
  await writeTransaction(dataSource, () => dataSource.runMigrations({ transaction: 'none' }));
}
