// A repeated estimate answered from memory: a plan is a pure function of the request and of the
// catalog it is read against, so the same body against an unchanged catalog gets the same
// result without resolving, normalizing and assembling it again (the engine already remembers
// its simulations; this spares the rest of the path, a tenth of a millisecond a request).
import { Catalog } from '../catalog/catalog';
import { PlanRequestInput, PlanResult } from '../engine';
import { estimateWithAdviceAhead } from './advice';

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
 * generation and the request's JSON. A remembered result is answered at once, without a
 * promise, and shared by every caller that asks the same: callers must not change it. One not
 * remembered is planned as estimateWithAdviceAhead plans it (its simulations on the
 * simulation threads). */
export function rememberedEstimate(
  input: PlanRequestInput,
  catalog: Catalog,
): PlanResult | Promise<PlanResult> {
  const { key, known } = lookUp(input, catalog);
  if (known) return known;
  return estimateWithAdviceAhead(input, catalog).then((result) => remember(key, result, catalog));
}

function lookUp(input: PlanRequestInput, catalog: Catalog) {
  const key = `${catalog.generation}:${JSON.stringify(input)}`;
  const remembered = byCatalog.get(catalog);
  const known = remembered?.get(key);
  if (known) {
    remembered!.delete(key); // most recently used last
    remembered!.set(key, known);
  }
  return { key, known };
}

function remember(key: string, result: PlanResult, catalog: Catalog): PlanResult {
  if (key.length > LONGEST_KEY) return result;
  let remembered = byCatalog.get(catalog);
  if (!remembered) {
    remembered = new Map();
    byCatalog.set(catalog, remembered);
  }
  remembered.set(key, result);
  shared.add(result);
  if (remembered.size > REMEMBERED) remembered.delete(remembered.keys().next().value!);
  return result;
}
