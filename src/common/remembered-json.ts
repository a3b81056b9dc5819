// A remembered estimate is one object, shared unchanged by every request that asks the same: its
// JSON is made once. JSON.stringify was a quarter of the time spent serving a remembered
// 16-stage pipeline plan (34 KB) again (`npm run bench:http -- memo`, the 405B row).
import type { NextFunction, Request, Response } from 'express';
import { isRememberedResult } from '../application/remembered-estimate';

const texts = new WeakMap<object, string>();

function textOf(body: object): string {
  let text = texts.get(body);
  if (text === undefined) {
    text = JSON.stringify(body);
    texts.set(body, text);
  }
  return text;
}

/** Express's res.json, answering a remembered result from its JSON made before. */
export function serializeRememberedOnce(_req: Request, res: Response, next: NextFunction): void {
  const json = res.json;
  res.json = function (this: Response, body: unknown) {
    if (!isRememberedResult(body)) return json.call(this, body);
    if (!this.get('Content-Type')) this.set('Content-Type', 'application/json');
    return this.send(textOf(body));
  };
  next();
}
