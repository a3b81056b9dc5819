// Saved plans once stored: read, list, relabel, re-plan and delete through the PlansRepository port.
// Saving itself is src/application/save.ts.
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { estimatePlan } from '../application/estimate';
import { Catalog } from '../catalog/catalog';
import type { PlanRequestInput } from '../engine';
import { ENGINE_VERSION, FieldError, PlanResult, PlanValidationError } from '../engine';
import {
  DEFAULT_PAGE_SIZE,
  ListPlansQueryDto,
  MAX_PAGE_SIZE,
  PlanCriteriaQueryDto,
} from './dto/list-plans-query.dto';
import { UpdatePlanDto } from './dto/update-plan.dto';
import { FigureDifference, planDifferences } from './plan-differences';
import { plansToCsv } from './plans-csv';
import { PlanCriteria, PlanLabels, PLANS_REPOSITORY, PlansRepository } from './plans.repository';
import { PlanFigures, PlanPage, SavedPlan, SavedPlanRecord, toSavedPlan } from './saved-plan';

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

  /** Newest first. */
  async list(query: ListPlansQueryDto): Promise<PlanPage<SavedPlan>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const offset = query.offset ?? 0;
    const { items, total } = await this.plans.list({ ...this.criteria(query), limit, offset });
    return { items: items.map(toSavedPlan), total, limit, offset };
  }

  /** Counts and totals over the matching plans (the web page shows them per tag). */
  async summary(query: PlanCriteriaQueryDto): Promise<{ tag?: string } & PlanFigures> {
    const figures = await this.plans.summarize(this.criteria(query));
    return { ...(query.tag !== undefined ? { tag: query.tag } : {}), ...figures };
  }

  /** Every matching plan as CSV, newest first, read a page at a time. */
  async exportCsv(query: PlanCriteriaQueryDto): Promise<string> {
    const criteria = this.criteria(query);
    const records: SavedPlanRecord[] = [];
    for (let offset = 0; ; offset += MAX_PAGE_SIZE) {
      const page = await this.plans.list({ ...criteria, limit: MAX_PAGE_SIZE, offset });
      records.push(...page.items);
      if (page.items.length < MAX_PAGE_SIZE) break;
    }
    return plansToCsv(records);
  }

  /** New name, tags or notes; the request and the figures stay exactly as saved. */
  async update(id: string, body: UpdatePlanDto): Promise<SavedPlan> {
    // The DTO instance declares every field; only those sent change.
    const labels: PlanLabels = {};
    if (body.name !== undefined) labels.name = body.name;
    if (body.tags !== undefined) labels.tags = body.tags;
    if (body.notes !== undefined) labels.notes = body.notes;
    const record = await this.plans.updateLabels(id, labels);
    if (!record) throw new NotFoundException(`no saved plan with id '${id}'`);
    return toSavedPlan(record);
  }

  /** The saved request planned again by the current engine; nothing is overwritten. */
  async reevaluate(id: string): Promise<Reevaluation> {
    const record = await this.plans.findById(id);
    if (!record) throw new NotFoundException(`no saved plan with id '${id}'`);
    const saved = record.result;
    const engineVersion = { saved: saved.engineVersion, current: ENGINE_VERSION };
    try {
      const current = estimatePlan(record.input as PlanRequestInput, this.catalog);
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
