// Settings read from the environment, each with its default, checked once at start-up.
import { availableParallelism } from 'node:os';

export const DEFAULT_PORT = 3000;
export const DEFAULT_DATABASE_PATH = 'data/shardplan.sqlite';

/** Where saved plans and custom models live: an embedded SQLite file or a PostgreSQL server. */
export type DatabaseConfig =
  { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string };

export interface AppConfig {
  /** HTTP port (PORT). */
  port: number;
  /** Listen address (HOST); undefined listens on every interface, as Node does by default. */
  host?: string;
  /** DATABASE_URL (postgres://...) when set, else the SQLite file DATABASE_PATH. */
  database: DatabaseConfig;
  /** When set (SHARDPLAN_API_KEY), requests that change saved data must present it. */
  apiKey?: string;
  /** Worker threads that simulate training ranks beside the one serving requests
   * (SHARDPLAN_SIMULATION_THREADS); 0 simulates on that one. */
  simulationThreads: number;
}

// Threads at most by default: a 405B pipeline plan has 16 ranks to simulate, a search's
// finalists about as many plans; more threads would mostly wait.
export const MAX_DEFAULT_SIMULATION_THREADS = 8;
export const MAX_SIMULATION_THREADS = 64;

/** SHARDPLAN_SIMULATION_THREADS, else one thread per core up to the default's cap. Run from the
 * TypeScript sources (tests, ts-node scripts), each thread would compile the engine again
 * (about 3 s of CPU), so there the default is none. */
function simulationThreadsFrom(value: string | undefined, compiled: boolean): number {
  if (value === undefined || value.trim() === '') {
    return compiled ? Math.min(availableParallelism(), MAX_DEFAULT_SIMULATION_THREADS) : 0;
  }
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 0 || threads > MAX_SIMULATION_THREADS) {
    throw new Error(
      `SHARDPLAN_SIMULATION_THREADS must be an integer from 0 (simulate on the serving thread) to ${MAX_SIMULATION_THREADS}, got '${value}'`,
    );
  }
  return threads;
}

function portFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer between 0 and 65535, got '${value}'`);
  }
  return port;
}

function databaseFrom(env: NodeJS.ProcessEnv): DatabaseConfig {
  const url = env.DATABASE_URL?.trim();
  if (!url) return { engine: 'sqlite', path: env.DATABASE_PATH?.trim() || DEFAULT_DATABASE_PATH };
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new Error(
      'DATABASE_URL must be a PostgreSQL URL such as postgres://user:password@host:5432/shardplan (leave it unset for SQLite)',
    );
  }
  return { engine: 'postgres', url };
}

/** The database named without its password, for logs. */
export function describeDatabase(database: DatabaseConfig): string {
  if (database.engine === 'sqlite') return `SQLite ${database.path}`;
  const url = new URL(database.url);
  return `PostgreSQL ${url.hostname}:${url.port || 5432}${url.pathname}`;
}

/** The configuration the process environment describes. */
export function appConfig(
  env: NodeJS.ProcessEnv = process.env,
  compiled = __filename.endsWith('.js'),
): AppConfig {
  const host = env.HOST?.trim();
  const apiKey = env.SHARDPLAN_API_KEY?.trim();
  return {
    port: portFrom(env.PORT),
    ...(host ? { host } : {}),
    database: databaseFrom(env),
    ...(apiKey ? { apiKey } : {}),
    simulationThreads: simulationThreadsFrom(env.SHARDPLAN_SIMULATION_THREADS, compiled),
  };
}
