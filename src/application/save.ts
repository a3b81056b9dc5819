// Saving a plan, less the storage: plan the request, name and label it, hand it to the port.
import { randomUUID } from 'node:crypto';
import { Catalog } from '../catalog/catalog';
import { PlanRequestInput, PlanResult } from '../engine';
import { usedModel } from '../models/used-config';
import { PlansRepository } from '../plans/plans.repository';
import { SavedPlan, SavedPlanRecord, toSavedPlan } from '../plans/saved-plan';
import { UnstorablePlanError, unstorableFigures } from '../plans/storable-figures';
import { estimateWithAdviceAhead } from './advice';

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

/** Plans the request and stores it; a request that cannot be planned, or whose figures cannot be
 * stored exactly, throws and stores nothing. An inline model keeps only the keys the planner
 * read. The answer is the plan as stored, so POST and GET answer byte for byte alike on either
 * database (PostgreSQL's jsonb orders keys its own way). */
export async function savePlan(
  body: SavePlanInput,
  catalog: Catalog,
  plans: PlansRepository,
): Promise<SavedPlan> {
  const { notes, ...sent } = body;
  const input = { ...sent, model: usedModel(sent.model) };
  const result = await estimateWithAdviceAhead(input, catalog);
  const unstorable = unstorableFigures(result);
  if (unstorable.length > 0) throw new UnstorablePlanError(unstorable);
  const record = recordOf(input, notes, result, catalog);
  await plans.create(record);
  return toSavedPlan((await plans.findById(record.id)) ?? record);
}
