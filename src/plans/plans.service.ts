// Saved plans: computed by the planning service, kept through the PlansRepository port.
import { HttpStatus, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Catalog } from '../catalog/catalog';
import type { PlanRequestInput } from '../engine';
import { ENGINE_VERSION, FieldError, PlanResult, PlanValidationError } from '../engine';
import { PlanningService } from '../planning/planning.service';
import { FieldProblemException } from '../common/problem-details.filter';
import { usedModel } from '../models/used-config';
import {
  DEFAULT_PAGE_SIZE,
  ListPlansQueryDto,
  PlanCriteriaQueryDto,
} from './dto/list-plans-query.dto';
import { SavePlanDto } from './dto/save-plan.dto';
import { UpdatePlanDto } from './dto/update-plan.dto';
import { FigureDifference, planDifferences } from './plan-differences';
import { decodeCursor, encodeCursor } from './plan-cursor';
import { CSV_HEADER, csvRecord } from './plans-csv';
import { PlanCriteria, PlanLabels, PLANS_REPOSITORY, PlansRepository } from './plans.repository';
import { PlanFigures, PlanPage, SavedPlan, SavedPlanRecord, toSavedPlan } from './saved-plan';
import { unstorableFigures } from './storable-figures';

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
    private readonly planning: PlanningService,
    private readonly catalog: Catalog,
    @Inject(PLANS_REPOSITORY) private readonly plans: PlansRepository,
  ) {}

  /** Computes the plan and saves it; a request that cannot be planned saves nothing. The answer
   * is the plan as stored, so POST and GET answer byte for byte alike on either database. */
  async save(body: SavePlanDto): Promise<SavedPlan> {
    const { notes, ...sent } = body;
    const input = { ...sent, model: usedModel(sent.model) };
    const result = this.planning.estimate(input);
    const unstorable = unstorableFigures(result);
    if (unstorable.length > 0) {
      throw new FieldProblemException(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'The plan has figures that cannot be stored as exact numbers; nothing was saved.',
        unstorable,
      );
    }
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
    return toSavedPlan((await this.plans.findById(record.id)) ?? record);
  }

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
    try {
      const current = this.planning.estimate(record.input as PlanRequestInput);
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
