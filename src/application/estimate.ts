// One plan: catalog ids resolved, defaults filled, the engine run. What HTTP and the CLI call.
import { Catalog, resolveGpu, resolveModel } from '../catalog/catalog';
import { normalizeRequest, planFromRequest, PlanRequestInput, PlanResult } from '../engine';

/** Resolves catalog ids, fills defaults and plans. */
export function estimatePlan(input: PlanRequestInput, catalog: Catalog): PlanResult {
  const arch = resolveModel(catalog, input.model);
  const gpu = resolveGpu(catalog, input.cluster.gpu);
  return planFromRequest(normalizeRequest(input, gpu, arch), arch, gpu);
}
