// What main.ts and the end-to-end tests both apply to the Nest application before it listens.
import { INestApplication } from '@nestjs/common';
import { setupOpenApi } from './openapi';

export const API_PREFIX = 'api/v1';

export function configureApp(app: INestApplication): void {
  app.setGlobalPrefix(API_PREFIX);
  app.enableShutdownHooks();
  setupOpenApi(app);
}
