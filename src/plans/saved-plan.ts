// A saved plan as stored and as served: the PlanResult plus its identity and labels.
import { PlanResult } from '../engine';

/** What the store keeps for one plan. */
export interface SavedPlanRecord {
  id: string;
  name: string;
  tags: string[];
  notes: string | null;
  createdAt: string;
  /** Catalog id of the model (or the inline model's id), for filtering. */
  modelId: string;
  /** Catalog id of the GPU, for filtering. */
  gpuId: string;
  /** The request exactly as the user sent it. */
  input: unknown;
  result: PlanResult;
}

/** What serving a saved plan reads: a list's page selects these columns and no others. */
export type ServedPlanRecord = Pick<
  SavedPlanRecord,
  'id' | 'name' | 'tags' | 'notes' | 'createdAt' | 'result'
>;

/** The JSON body of a saved plan: identity first, then the PlanResult as computed. */
export type SavedPlan = {
  id: string;
  name: string;
  tags: string[];
  notes?: string;
  createdAt: string;
} & PlanResult;

/** The one function that shapes a saved plan, so POST and GET answer byte for byte alike. */
export function toSavedPlan(record: ServedPlanRecord): SavedPlan {
  return {
    id: record.id,
    name: record.name,
    tags: record.tags,
    ...(record.notes !== null ? { notes: record.notes } : {}),
    createdAt: record.createdAt,
    ...record.result,
  };
}

export interface PlanPage<T> {
  items: T[];
  total: number;
  limit: number;
  /** The offset of an offset page (0 when neither offset nor cursor was given). */
  offset?: number;
  /** The cursor a keyset page started after. */
  cursor?: string;
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** Totals over a set of saved plans. */
export interface PlanFigures {
  plans: number;
  fitting: number;
  notFitting: number;
  /** Plans that fit and name training.tokensToTrain, the ones gpuHours and totalUsd add up. */
  budgeted: number;
  /** Sum over the plans that fit and name tokensToTrain: a plan that does not fit costs nothing. */
  gpuHours: number;
  totalUsd: number;
}
