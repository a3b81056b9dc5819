// Starts the HTTP service: PORT (default 3000), saved plans in DATABASE_PATH.
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { API_PREFIX, configureApp } from './common/configure-app';
import { appConfig } from './config/app-config';

async function bootstrap(): Promise<void> {
  const { port, databasePath } = appConfig();
  const app = await NestFactory.create<NestExpressApplication>(AppModule);
  configureApp(app);
  await app.listen(port);
  Logger.log(
    `Shardplan on http://localhost:${port}/${API_PREFIX} (docs at /docs, plans in ${databasePath})`,
    'Bootstrap',
  );
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
