// One plan: catalog ids resolved, defaults filled, the engine run. What HTTP and the CLI call.
import { Catalog, resolveGpu, resolveModelWithNotes } from '../catalog/catalog';
import {
  normalizeRequest,
  planFromRequest,
  PlanRequestInput,
  PlanResult,
  withUncertainty,
} from '../engine';

/** Resolves catalog ids, fills defaults and plans; how the model was read joins the
 * assumptions (the catalog entry a variant's name stands for, families assumed, parts not yet
 * planned); each rank gets its 80% range and verdict from the catalog's error bands. */
export function estimatePlan(input: PlanRequestInput, catalog: Catalog): PlanResult {
  const { arch, notes } = resolveModelWithNotes(catalog, input.model);
  const gpu = resolveGpu(catalog, input.cluster.gpu);
  const planned = planFromRequest(normalizeRequest(input, gpu, arch), arch, gpu);
  const result = catalog.errorBands ? withUncertainty(planned, catalog.errorBands) : planned;
  return { ...result, assumptions: [...result.assumptions, ...notes] };
}
