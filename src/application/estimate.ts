// One plan: catalog ids resolved, defaults filled, the engine run. What HTTP and the CLI call.
import { Catalog, resolveGpu, resolveModelWithNotes } from '../catalog/catalog';
import { normalizeRequest, planFromRequest, PlanRequestInput, PlanResult } from '../engine';

/** Resolves catalog ids, fills defaults and plans; how the model was read joins the
 * assumptions (the catalog entry a variant's name stands for, families assumed, parts not yet
 * planned). */
export function estimatePlan(input: PlanRequestInput, catalog: Catalog): PlanResult {
  const { arch, notes } = resolveModelWithNotes(catalog, input.model);
  const gpu = resolveGpu(catalog, input.cluster.gpu);
  const result = planFromRequest(normalizeRequest(input, gpu, arch), arch, gpu);
  return { ...result, assumptions: [...result.assumptions, ...notes] };
}
