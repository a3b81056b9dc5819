// With SHARDPLAN_API_KEY set, requests that change saved data must present the key; reads
// (estimate, compare and search included: they compute and save nothing) stay open.
import {
  CanActivate,
  ExecutionContext,
  Injectable,
  SetMetadata,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { appConfig } from '../config/app-config';

const CHANGES_DATA = 'shardplan:changes-data';

/** Marks a handler that creates, changes or deletes saved data. */
export const ChangesData = () => SetMetadata(CHANGES_DATA, true);

/** The key from `Authorization: Bearer <key>` or `x-api-key: <key>`. */
function presentedKey(req: Request): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const header = req.headers['x-api-key'];
  return bearer ?? (typeof header === 'string' ? header : undefined);
}

/** Equal keys, compared in time that does not depend on where they differ. */
function sameKey(presented: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly apiKey = appConfig().apiKey;

  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.apiKey === undefined) return true;
    if (!this.reflector.get<boolean>(CHANGES_DATA, context.getHandler())) return true;
    const http = context.switchToHttp();
    const presented = presentedKey(http.getRequest<Request>());
    if (presented !== undefined && sameKey(presented, this.apiKey)) return true;
    http.getResponse<Response>().setHeader('WWW-Authenticate', 'Bearer');
    throw new UnauthorizedException(
      'this server requires an API key to change saved data: send Authorization: Bearer <key> or x-api-key: <key>',
    );
  }
}
