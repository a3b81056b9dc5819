// Side-by-side plans: the base and each variant planned as POST /plans/estimate would plan them.
import { Catalog, resolveModel } from '../catalog/catalog';
import {
  CompareEntry,
  CompareRow,
  CompareSpec,
  compareWalk,
  PlanRequestInput,
  PlanWalk,
  walkedThrough,
} from '../engine';
import { estimatePlan, walkedOnThreads } from './estimate';
import { checkedRequest } from './validate-request';

/** A comparison: the request every row starts from, and a knob to vary or labelled variants. */
export interface CompareInput extends CompareSpec {
  base: PlanRequestInput;
}

export interface Comparison {
  rows: CompareEntry[];
  table: CompareRow[];
}

/** Every variant planned; a variant that cannot be planned keeps its field errors in its row. */
export function comparePlans(input: CompareInput, catalog: Catalog): Comparison {
  return walkedThrough(comparison(input, catalog));
}

/** comparePlans with every row's ranks simulated side by side on the simulation threads. */
export function comparePlansAhead(input: CompareInput, catalog: Catalog): Promise<Comparison> {
  return walkedOnThreads(() => comparison(input, catalog), catalog);
}

function* comparison(input: CompareInput, catalog: Catalog): PlanWalk<Comparison> {
  const { base, vary, values, variants } = input;
  // An unknown base model fails the whole comparison (400) rather than every row alike.
  const shape = resolveModel(catalog, base.model);
  // A merged variant meets the same shape rules as a request body before it is planned.
  const planVariant = (variant: PlanRequestInput) =>
    estimatePlan(checkedRequest('plan', variant), catalog);
  return yield* compareWalk(base, { vary, values, variants }, planVariant, shape);
}
