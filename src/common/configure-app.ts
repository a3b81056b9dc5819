// What main.ts and the end-to-end tests both apply to the Nest application before it listens.
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setupOpenApi } from './openapi';
import {
  MalformedJsonException,
  NotJsonBodyException,
  TooDeepJsonException,
} from './problem-details.filter';
import { serializeRememberedOnce } from './remembered-json';
import { securityHeaders } from './security-headers';

export const API_PREFIX = 'api/v1';
/** Inline config.json models are a few KiB; compare requests carry a handful of variants. */
export const JSON_BODY_LIMIT = '1mb';
/** Deepest nesting a body may have: a compare variant's overrides sit 4 levels down and a
 * config.json's deepest blocks (rope_scaling inside text_config) about 4 more; 32 leaves room
 * while keeping the validation pipe's recursion far from the stack's limit. */
export const MAX_JSON_DEPTH = 32;

/** public/ sits beside src/ in the repository and beside dist/ when compiled (dist/src/); the
 * page is the folder with index.html (dist/public holds only the formatters compiled for the CLI). */
const PUBLIC_DIRECTORY =
  [join(__dirname, '..', '..', 'public'), join(__dirname, '..', '..', '..', 'public')].find(
    (folder) => existsSync(join(folder, 'index.html')),
  ) ?? join(process.cwd(), 'public');

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

/** Whether `value` nests deeper than `limit` levels, walked without recursion. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return false;
}

/** Deep bodies are refused before class-transformer and class-validator recurse through them. */
function limitJsonDepth(req: Request, _res: Response, next: NextFunction) {
  next(
    nestsDeeperThan(req.body, MAX_JSON_DEPTH)
      ? new TooDeepJsonException(MAX_JSON_DEPTH)
      : undefined,
  );
}

/** The web page at / and its chart library from the installed package (no CDN); files only,
 * so a folder or a missing file falls through to the 404 problem. */
function serveWebPage(app: NestExpressApplication): void {
  const filesOnly = { index: false, redirect: false } as const;
  app.useStaticAssets(PUBLIC_DIRECTORY, { ...filesOnly, index: 'index.html' });
  app.useStaticAssets(dirname(require.resolve('chart.js')), {
    ...filesOnly,
    prefix: '/vendor/chartjs/',
  });
}

export function configureApp(app: NestExpressApplication): void {
  app.disable('x-powered-by');
  app.use(securityHeaders);
  // Only the estimate answers a remembered result; other routes keep Express's own res.json.
  app.use(`/${API_PREFIX}/plans/estimate`, serializeRememberedOnce);
  app.setGlobalPrefix(API_PREFIX);
  app.enableShutdownHooks();
  serveWebPage(app);
  app.use(requireJsonBody);
  // Registered here, Nest's own JSON parser steps aside; the error hook must follow the parser.
  app.useBodyParser('json', { limit: JSON_BODY_LIMIT });
  app.use(reportMalformedJson);
  app.use(limitJsonDepth);
  setupOpenApi(app);
}
