// The opaque `cursor` of GET /plans: where the previous page ended, as base64url text.
import type { PlanPosition } from './plans.repository';

/** What createdAt always looks like (Date.toISOString): fixed width, so text order is time order. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeCursor(position: PlanPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.order])).toString('base64url');
}

/** The position a cursor names; null for text that no page ever handed out. */
export function decodeCursor(cursor: string): PlanPosition | null {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) return null;
  const [createdAt, order] = decoded as unknown[];
  if (typeof createdAt !== 'string' || !ISO_INSTANT.test(createdAt)) return null;
  if (Number.isNaN(Date.parse(createdAt))) return null;
  if (!Number.isSafeInteger(order) || (order as number) < 0) return null;
  return { createdAt, order: order as number };
}
