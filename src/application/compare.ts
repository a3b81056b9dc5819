// Side-by-side plans: the base and each variant planned as POST /plans/estimate would plan them.
import { Catalog, resolveModel } from '../catalog/catalog';
import {
  CompareEntry,
  CompareRow,
  CompareSpec,
  compareVariants,
  deepMerge,
  PlanRequestInput,
  variantsOf,
} from '../engine';
import { estimatePlan, simulateAhead } from './estimate';
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
  const { base, vary, values, variants } = input;
  // An unknown base model fails the whole comparison (400) rather than every row alike.
  const shape = resolveModel(catalog, base.model);
  // A merged variant meets the same shape rules as a request body before it is planned.
  const planVariant = (variant: PlanRequestInput) =>
    estimatePlan(checkedRequest('plan', variant), catalog);
  return compareVariants(base, { vary, values, variants }, planVariant, shape);
}

/** The rows' requests as comparePlans plans them; none where the comparison itself is refused
 * (comparePlans then says why). */
function rowInputs(input: CompareInput, catalog: Catalog): PlanRequestInput[] {
  try {
    const { base, vary, values, variants } = input;
    const shape = resolveModel(catalog, base.model);
    return variantsOf(base, { vary, values, variants }, shape).map((variant) =>
      deepMerge(base, variant.overrides),
    );
  } catch {
    return [];
  }
}

/** comparePlans with every row's ranks simulated side by side on the simulation threads. */
export async function comparePlansAhead(
  input: CompareInput,
  catalog: Catalog,
): Promise<Comparison> {
  await simulateAhead(rowInputs(input, catalog), catalog);
  return comparePlans(input, catalog);
}
