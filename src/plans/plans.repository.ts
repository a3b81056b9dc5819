// The port the plans service talks to; the TypeORM adapter is one implementation of it.
import { SavedPlanRecord } from './saved-plan';

export const PLANS_REPOSITORY = Symbol('PlansRepository');

export interface PlanFilter {
  /** Exact tag match. */
  tag?: string;
  modelId?: string;
  gpuId?: string;
  fits?: boolean;
  limit: number;
  offset: number;
}

export interface PlansRepository {
  /** Stores the plan and its tags atomically: all of it or nothing. */
  create(plan: SavedPlanRecord): Promise<void>;
  findById(id: string): Promise<SavedPlanRecord | null>;
  /** Newest first; `total` counts every match, not just the page. */
  list(filter: PlanFilter): Promise<{ items: SavedPlanRecord[]; total: number }>;
  /** False when no plan had this id. */
  delete(id: string): Promise<boolean>;
}
