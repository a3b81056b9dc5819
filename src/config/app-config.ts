// Settings read from the environment, each with its default, checked once at start-up.
export const DEFAULT_PORT = 3000;
export const DEFAULT_DATABASE_PATH = 'data/shardplan.sqlite';

export interface AppConfig {
  /** HTTP port (PORT). */
  port: number;
  /** SQLite file holding saved plans and custom models (DATABASE_PATH). */
  databasePath: string;
}

function portFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer between 0 and 65535, got '${value}'`);
  }
  return port;
}

/** The configuration the process environment describes. */
export function appConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  return {
    port: portFrom(env.PORT),
    databasePath: env.DATABASE_PATH?.trim() || DEFAULT_DATABASE_PATH,
  };
}
