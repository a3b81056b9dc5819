// The port the plans service talks to; the TypeORM adapter is one implementation of it.
import type { PlanCsvRow } from './plans-csv';
import { PlanFigures, SavedPlanRecord, ServedPlanRecord } from './saved-plan';

export const PLANS_REPOSITORY = Symbol('PlansRepository');

/** Which plans: every given criterion must hold. */
export interface PlanCriteria {
  /** Exact tag match. */
  tag?: string;
  modelId?: string;
  gpuId?: string;
  fits?: boolean;
}

/** Where a page of the newest-first list ends: the last plan's time and insertion order. */
export interface PlanPosition {
  createdAt: string;
  order: number;
}

export interface PlanFilter extends PlanCriteria {
  limit: number;
  /** Skip this many plans (offset paging)... */
  offset?: number;
  /** ...or start after this position (keyset paging: as fast on page 1,000 as on page 1). */
  after?: PlanPosition;
}

export interface PlanListing {
  /** Without the request and the stored figures, which a listed plan does not show. */
  items: ServedPlanRecord[];
  /** Every match, not just the page. */
  total: number;
  /** Where the next page starts; null on the last page. */
  next: PlanPosition | null;
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
  /** Newest first. */
  list(filter: PlanFilter): Promise<PlanListing>;
  /** Every matching plan's CSV figures, newest first, a bounded batch at a time. */
  csvRows(criteria: PlanCriteria): AsyncGenerator<PlanCsvRow[]>;
  /** Counts and totals over every matching plan. */
  summarize(criteria: PlanCriteria): Promise<PlanFigures>;
  /** Changes the labels (tags rows too, atomically); false when no plan had this id. */
  updateLabels(id: string, labels: PlanLabels): Promise<boolean>;
  /** False when no plan had this id. */
  delete(id: string): Promise<boolean>;
}
