// What main.ts and the end-to-end tests both apply to the Nest application before it listens.
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { setupOpenApi } from './openapi';
import { MalformedJsonException, NotJsonBodyException } from './problem-details.filter';

export const API_PREFIX = 'api/v1';
/** Inline config.json models are a few KiB; compare requests carry a handful of variants. */
export const JSON_BODY_LIMIT = '1mb';

/** Express's JSON parser fails with a SyntaxError that Nest would turn into a bare 400. */
function reportMalformedJson(error: unknown, _req: Request, _res: Response, next: NextFunction) {
  const parseFailure = (error as { type?: unknown } | null)?.type === 'entity.parse.failed';
  next(parseFailure ? new MalformedJsonException((error as Error).message) : error);
}

/** Express parses `curl -d` bodies as forms, so a JSON body sent that way read as "model is required". */
function requireJsonBody(req: Request, _res: Response, next: NextFunction) {
  const hasBody =
    Number(req.headers['content-length'] ?? 0) > 0 || 'transfer-encoding' in req.headers;
  if (!hasBody || req.is('application/json')) return next();
  next(new NotJsonBodyException(req.headers['content-type']));
}

export function configureApp(app: NestExpressApplication): void {
  app.setGlobalPrefix(API_PREFIX);
  app.enableShutdownHooks();
  app.use(requireJsonBody);
  // Registered here, Nest's own JSON parser steps aside; the error hook must follow the parser.
  app.useBodyParser('json', { limit: JSON_BODY_LIMIT });
  app.use(reportMalformedJson);
  setupOpenApi(app);
}
