// Once per Jest run: which databases the end-to-end suites cover. PostgreSQL joins SQLite where
// it answers; under CI (CI set) a PostgreSQL that does not answer fails the run instead of
// being skipped without anyone noticing.
import { postgresAnswers, testPostgresUrl } from './databases';

export default async function globalSetup(): Promise<void> {
  if (process.env.SHARDPLAN_TEST_DATABASES) return; // chosen by whoever runs the tests
  if (await postgresAnswers()) {
    process.env.SHARDPLAN_TEST_DATABASES = 'sqlite,postgres';
    return;
  }
  const where = new URL(testPostgresUrl()).host;
  if (process.env.CI) {
    throw new Error(
      `PostgreSQL at ${where} does not answer and CI is set: the end-to-end suites must run on it (.ci/run starts it)`,
    );
  }
  console.warn(
    `\nPostgreSQL at ${where} does not answer: end-to-end suites run on SQLite only (pg_ctlcluster 15 main start, or set SHARDPLAN_TEST_POSTGRES_URL)\n`,
  );
  process.env.SHARDPLAN_TEST_DATABASES = 'sqlite';
}
