// Saved plans: computed by the planning service, kept through the PlansRepository port.
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Catalog } from '../catalog/catalog';
import { PlanningService } from '../planning/planning.service';
import {
  DEFAULT_PAGE_SIZE,
  ListPlansQueryDto,
  MAX_PAGE_SIZE,
  PlanCriteriaQueryDto,
} from './dto/list-plans-query.dto';
import { SavePlanDto } from './dto/save-plan.dto';
import { plansToCsv } from './plans-csv';
import { PlanCriteria, PLANS_REPOSITORY, PlansRepository } from './plans.repository';
import { PlanFigures, PlanPage, SavedPlan, SavedPlanRecord, toSavedPlan } from './saved-plan';

@Injectable()
export class PlansService {
  constructor(
    private readonly planning: PlanningService,
    private readonly catalog: Catalog,
    @Inject(PLANS_REPOSITORY) private readonly plans: PlansRepository,
  ) {}

  /** Computes the plan and saves it; a request that cannot be planned saves nothing. */
  async save(body: SavePlanDto): Promise<SavedPlan> {
    const { notes, ...input } = body;
    const result = this.planning.estimate(input);
    const gpuId =
      this.catalog.findGpu(result.request.cluster.gpu)?.id ?? result.request.cluster.gpu;
    const record: SavedPlanRecord = {
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
    await this.plans.create(record);
    return toSavedPlan(record);
  }

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
