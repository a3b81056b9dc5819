// Saved plans once stored: read, list, relabel, re-plan, export and delete through the
// PlansRepository port. Saving itself is src/application/save.ts.
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { estimatePlan, simulateAhead } from '../application/estimate';
import { Catalog } from '../catalog/catalog';
import type { PlanRequestInput } from '../engine';
import { ENGINE_VERSION, FieldError, PlanResult, PlanValidationError } from '../engine';
import {
  DEFAULT_PAGE_SIZE,
  ListPlansQueryDto,
  PlanCriteriaQueryDto,
} from './dto/list-plans-query.dto';
import { UpdatePlanDto } from './dto/update-plan.dto';
import { FigureDifference, planDifferences } from './plan-differences';
import { decodeCursor, encodeCursor } from './plan-cursor';
import { CSV_HEADER, csvRecord } from './plans-csv';
import { PlanCriteria, PlanLabels, PLANS_REPOSITORY, PlansRepository } from './plans.repository';
import { PlanFigures, PlanPage, SavedPlan, toSavedPlan } from './saved-plan';

/** A saved plan's figures next to what the current engine computes for the same request. */
export interface Reevaluation {
  id: string;
  engineVersion: { saved: string; current: string };
  saved: PlanResult;
  /** Null when the current engine can no longer plan the saved request (see `errors`). */
  current: PlanResult | null;
  errors?: FieldError[];
  differences: FigureDifference[];
}

@Injectable()
export class PlansService {
  constructor(
    private readonly catalog: Catalog,
    @Inject(PLANS_REPOSITORY) private readonly plans: PlansRepository,
  ) {}

  async get(id: string): Promise<SavedPlan> {
    const record = await this.plans.findById(id);
    if (!record) throw new NotFoundException(`no saved plan with id '${id}'`);
    return toSavedPlan(record);
  }

  /** Newest first: a page after `cursor` (keyset), else at `offset`. */
  async list(query: ListPlansQueryDto): Promise<PlanPage<SavedPlan>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after =
      query.cursor === undefined ? undefined : (decodeCursor(query.cursor) ?? undefined);
    const offset = after ? undefined : (query.offset ?? 0);
    const page = await this.plans.list({ ...this.criteria(query), limit, offset, after });
    return {
      items: page.items.map(toSavedPlan),
      total: page.total,
      limit,
      ...(after ? { cursor: query.cursor } : { offset }),
      nextCursor: page.next ? encodeCursor(page.next) : null,
    };
  }

  /** Counts and totals over the matching plans (the web page shows them per tag). */
  async summary(query: PlanCriteriaQueryDto): Promise<{ tag?: string } & PlanFigures> {
    const figures = await this.plans.summarize(this.criteria(query));
    return { ...(query.tag !== undefined ? { tag: query.tag } : {}), ...figures };
  }

  /** Every matching plan as CSV records, newest first, a batch at a time (memory stays flat
   * however many plans match). */
  async *csvRecords(query: PlanCriteriaQueryDto): AsyncGenerator<string> {
    yield CSV_HEADER;
    for await (const rows of this.plans.csvRows(this.criteria(query))) {
      yield rows.map(csvRecord).join('');
    }
  }

  /** New name, tags or notes; the request and the figures stay exactly as saved. */
  async update(id: string, body: UpdatePlanDto): Promise<SavedPlan> {
    // The DTO instance declares every field; only those sent change.
    const labels: PlanLabels = {};
    if (body.name !== undefined) labels.name = body.name;
    if (body.tags !== undefined) labels.tags = body.tags;
    if (body.notes !== undefined) labels.notes = body.notes;
    if (!(await this.plans.updateLabels(id, labels))) {
      throw new NotFoundException(`no saved plan with id '${id}'`);
    }
    return this.get(id);
  }

  /** The saved request planned again by the current engine; nothing is overwritten. */
  async reevaluate(id: string): Promise<Reevaluation> {
    const record = await this.plans.findById(id);
    if (!record) throw new NotFoundException(`no saved plan with id '${id}'`);
    const saved = record.result;
    const engineVersion = { saved: saved.engineVersion, current: ENGINE_VERSION };
    const input = record.input as PlanRequestInput;
    await simulateAhead([input], this.catalog);
    try {
      const current = estimatePlan(input, this.catalog);
      return { id, engineVersion, saved, current, differences: planDifferences(saved, current) };
    } catch (error) {
      if (!(error instanceof PlanValidationError)) throw error;
      return { id, engineVersion, saved, current: null, errors: error.errors, differences: [] };
    }
  }

  async delete(id: string): Promise<void> {
    if (!(await this.plans.delete(id)))
      throw new NotFoundException(`no saved plan with id '${id}'`);
  }

  /** The query's filters with model and GPU aliases resolved to catalog ids. */
  private criteria(query: PlanCriteriaQueryDto): PlanCriteria {
    return {
      tag: query.tag,
      modelId:
        query.model === undefined
          ? undefined
          : (this.catalog.findModel(query.model)?.id ?? query.model),
      gpuId:
        query.gpu === undefined ? undefined : (this.catalog.findGpu(query.gpu)?.id ?? query.gpu),
      fits: query.fits,
    };
  }
}
