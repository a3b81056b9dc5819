// Starts the HTTP service: HOST and PORT (default every interface, 3000), saved plans in the
// database DATABASE_URL names (PostgreSQL) or else in the SQLite file DATABASE_PATH.
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import { AppModule } from './app.module';
import { API_PREFIX, configureApp } from './common/configure-app';
import { AppConfig, appConfig, describeDatabase } from './config/app-config';

/** Exit status when the service cannot start (the address is taken, the database is missing). */
const EXIT_CANNOT_START = 1;

/** One line a person can act on for failures with a known cause; undefined for the rest. */
function startupProblem(
  error: unknown,
  port: number,
  host: string | undefined,
): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const address = `${host ?? 'every interface'} port ${port}`;
  if (code === 'EADDRINUSE') {
    return `cannot listen on ${address}: another process is using it; stop it or set PORT to a free port`;
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return `cannot listen on ${address}: HOST is not an address of this machine`;
  }
  if (code === 'EACCES')
    return `cannot listen on ${address}: permission denied; use a port above 1023`;
  if (code === 'ECONNREFUSED')
    return 'cannot reach the database: is PostgreSQL running at DATABASE_URL?';
  return undefined;
}

/** Listens on the HTTP server directly: Nest's listen() would also log the error as a line
 * of its own before the one this process exits with. */
function listen(
  app: NestExpressApplication,
  port: number,
  host: string | undefined,
): Promise<void> {
  const server = app.getHttpServer() as Server;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function bootstrap(config: AppConfig): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule);
  configureApp(app);
  await app.init();
  try {
    await listen(app, config.port, config.host);
  } catch (error) {
    await app.close();
    throw error;
  }
  Logger.log(
    `Shardplan on http://${config.host ?? 'localhost'}:${config.port}/${API_PREFIX} (docs at /docs, plans in ${describeDatabase(config.database)})`,
    'Bootstrap',
  );
}

function exitWith(message: unknown): never {
  console.error(message);
  process.exit(EXIT_CANNOT_START);
}

function main(): void {
  let config: AppConfig;
  try {
    config = appConfig();
  } catch (error) {
    exitWith((error as Error).message);
  }
  // A known cause is one line; anything else is printed whole, stack included, to be reported.
  bootstrap(config).catch((error: unknown) =>
    exitWith(startupProblem(error, config.port, config.host) ?? error),
  );
}

main();
