// Write transactions that neither deadlock nor fail under contention, on SQLite and PostgreSQL.
import { ServiceUnavailableException } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, EntityManager, QueryRunner } from 'typeorm';

/** Attempts at a transaction whose failure left nothing behind (SQLite BEGIN IMMEDIATE busy, a
 * PostgreSQL serialization failure or deadlock): each waits longer, about 6 s in all. */
const ATTEMPTS = 6;
/** First pause between attempts; it doubles each time, with jitter so two instances part ways. */
const FIRST_PAUSE_MS = 50;

/** SQLite: another connection holds the write lock past the busy timeout. */
const SQLITE_BUSY_CODES = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED']);
/** PostgreSQL serialization_failure and deadlock_detected: the transaction was rolled back. */
const POSTGRES_RETRY_CODES = new Set(['40001', '40P01']);

/** The driver's error code (SQLITE_BUSY, 23505, ...) of a TypeORM or driver error. */
export function driverErrorCode(error: unknown): string | undefined {
  const candidate = error as { driverError?: { code?: unknown }; code?: unknown } | null;
  const code = candidate?.driverError?.code ?? candidate?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A unique or primary key already taken (SQLite constraint, PostgreSQL 23505). */
export function isUniqueViolation(error: unknown): boolean {
  const code = driverErrorCode(error);
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE'
  );
}

export function isPostgres(dataSource: DataSource): boolean {
  return dataSource.options.type === 'postgres';
}

/** better-sqlite3 runs every statement of a DataSource on one connection, so two transactions
 * of one process would interleave on it: each DataSource's writes take turns here. */
const sqliteTurns = new WeakMap<DataSource, Promise<unknown>>();

function takeTurn<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  const previous = sqliteTurns.get(dataSource) ?? Promise.resolve();
  const mine = previous.then(work, work);
  sqliteTurns.set(
    dataSource,
    mine.catch(() => undefined),
  );
  return mine;
}

async function withRetries<T>(retryable: (error: unknown) => boolean, work: () => Promise<T>) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!retryable(error)) throw error;
      if (attempt === ATTEMPTS) {
        throw new ServiceUnavailableException(
          'the database stayed busy with other writes; try again in a moment',
        );
      }
      await sleep(FIRST_PAUSE_MS * 2 ** (attempt - 1) * (0.5 + Math.random()));
    }
  }
}

/** BEGIN IMMEDIATE takes the write lock before the first read, so a transaction never has to
 * upgrade a read lock (SQLite's deadlock case, answered SQLITE_BUSY without waiting). */
async function sqliteTransaction<T>(
  runner: QueryRunner,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  await withRetries(
    (error) => SQLITE_BUSY_CODES.has(driverErrorCode(error) ?? ''),
    () => runner.query('BEGIN IMMEDIATE'),
  );
  try {
    const result = await work(runner.manager);
    await runner.query('COMMIT');
    return result;
  } catch (error) {
    // SQLite has already rolled back after some errors; the original error is the one to tell.
    await runner.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Runs `work` as one write transaction: all of it is saved or none of it, retried where the
 * failed attempt left nothing behind. `work` must only read and write through `manager`. */
export function writeTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  if (isPostgres(dataSource)) {
    return withRetries(
      (error) => POSTGRES_RETRY_CODES.has(driverErrorCode(error) ?? ''),
      () => dataSource.transaction(work),
    );
  }
  return takeTurn(dataSource, () => sqliteTransaction(dataSource.createQueryRunner(), work));
}
