// The port the plans service talks to; the TypeORM adapter is one implementation of it.
import { PlanFigures, SavedPlanRecord } from './saved-plan';

export const PLANS_REPOSITORY = Symbol('PlansRepository');

/** Which plans: every given criterion must hold. */
export interface PlanCriteria {
  /** Exact tag match. */
  tag?: string;
  modelId?: string;
  gpuId?: string;
  fits?: boolean;
}

export interface PlanFilter extends PlanCriteria {
  limit: number;
  offset: number;
}

/** Labels of a saved plan that may change after it is saved; absent fields stay. */
export interface PlanLabels {
  name?: string;
  tags?: string[];
  notes?: string | null;
}

export interface PlansRepository {
  /** Stores the plan and its tags atomically: all of it or nothing. */
  create(plan: SavedPlanRecord): Promise<void>;
  findById(id: string): Promise<SavedPlanRecord | null>;
  /** Newest first; `total` counts every match, not just the page. */
  list(filter: PlanFilter): Promise<{ items: SavedPlanRecord[]; total: number }>;
  /** Counts and totals over every matching plan. */
  summarize(criteria: PlanCriteria): Promise<PlanFigures>;
  /** Changes the labels (tags rows too, atomically); null when no plan had this id. */
  updateLabels(id: string, labels: PlanLabels): Promise<SavedPlanRecord | null>;
  /** False when no plan had this id. */
  delete(id: string): Promise<boolean>;
}
