// Saving a plan, less the storage: plan the request, name and label it, hand it to the port.
import { randomUUID } from 'node:crypto';
import { Catalog } from '../catalog/catalog';
import { PlanRequestInput, PlanResult } from '../engine';
import { PlansRepository } from '../plans/plans.repository';
import { SavedPlan, SavedPlanRecord, toSavedPlan } from '../plans/saved-plan';
import { estimateWithAdvice } from './advice';

/** POST /plans: a PlanRequest plus free-text notes kept with it. */
export type SavePlanInput = PlanRequestInput & { notes?: string };

/** The record the store keeps: the request as sent, its figures, and the labels it is found by. */
function recordOf(
  input: PlanRequestInput,
  notes: string | undefined,
  result: PlanResult,
  catalog: Catalog,
): SavedPlanRecord {
  const gpuId = catalog.findGpu(result.request.cluster.gpu)?.id ?? result.request.cluster.gpu;
  return {
    id: randomUUID(),
    name: input.name ?? `${result.model.id} on ${result.layout.gpus} x ${gpuId}`,
    tags: [...new Set(result.request.tags)],
    notes: notes ?? null,
    createdAt: new Date().toISOString(),
    modelId: result.model.id,
    gpuId,
    input,
    result,
  };
}

/** Plans the request and stores it; a request that cannot be planned throws and stores nothing. */
export async function savePlan(
  body: SavePlanInput,
  catalog: Catalog,
  plans: PlansRepository,
): Promise<SavedPlan> {
  const { notes, ...input } = body;
  const record = recordOf(input, notes, estimateWithAdvice(input, catalog), catalog);
  await plans.create(record);
  return toSavedPlan(record);
}
