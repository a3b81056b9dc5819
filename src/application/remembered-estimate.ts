// A repeated estimate answered from memory: a plan is a pure function of the request and of the
// catalog it is read against, so the same body against an unchanged catalog gets the same
// result without resolving, normalizing and assembling it again (the engine already remembers
// its simulations; this spares the rest of the path, a tenth of a millisecond a request).
import { Catalog } from '../catalog/catalog';
import { PlanRequestInput, PlanResult } from '../engine';
import { estimateWithAdvice } from './advice';

// Results kept per catalog, the most recently used last: a page's form, its compare rows and a
// few clients' repeated requests, at a few KiB each.
const REMEMBERED = 256;
// Longer requests (inline config.json models) are planned afresh rather than kept as keys.
const LONGEST_KEY = 16 * 1024;
const byCatalog = new WeakMap<Catalog, Map<string, PlanResult>>();
const shared = new WeakSet<object>();

/** Whether `body` is a remembered result, one object every caller that asks the same shares. */
export function isRememberedResult(body: unknown): body is PlanResult {
  return typeof body === 'object' && body !== null && shared.has(body);
}

/** What POST /plans/estimate answers (the plan and its advice), remembered by the catalog's
 * generation and the request's JSON. The result is shared by every caller that asks the same:
 * callers must not change it. */
export function rememberedEstimate(input: PlanRequestInput, catalog: Catalog): PlanResult {
  let remembered = byCatalog.get(catalog);
  if (!remembered) {
    remembered = new Map();
    byCatalog.set(catalog, remembered);
  }
  const key = `${catalog.generation}:${JSON.stringify(input)}`;
  if (key.length > LONGEST_KEY) return estimateWithAdvice(input, catalog);
  const known = remembered.get(key);
  if (known) {
    remembered.delete(key);
    remembered.set(key, known);
    return known;
  }
  const result = estimateWithAdvice(input, catalog);
  remembered.set(key, result);
  shared.add(result);
  if (remembered.size > REMEMBERED) remembered.delete(remembered.keys().next().value!);
  return result;
}
