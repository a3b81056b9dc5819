// PlansRepository over TypeORM, on SQLite or PostgreSQL: plans in `plans`, a row per tag in
// `plan_tags`. Newest first is (created_at, insertion order) descending, which keyset pages seek.
import { Injectable } from '@nestjs/common';
import { setImmediate } from 'node:timers/promises';
import { DataSource, SelectQueryBuilder } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { ISO_TIMESTAMP } from '../database/columns';
import { isPostgres, writeTransaction } from '../database/transactions';
import { PlanTagEntity } from './plan-tag.entity';
import { PlanEntity } from './plan.entity';
import { CsvFigures, csvFigures, PlanCsvRow } from './plans-csv';
import {
  PlanCriteria,
  PlanFilter,
  PlanLabels,
  PlanListing,
  PlanPosition,
  PlansRepository,
} from './plans.repository';
import { PlanFigures, SavedPlanRecord, ServedPlanRecord } from './saved-plan';

/** Plans one export query reads: enough to amortise the query, small enough to keep memory flat. */
const CSV_BATCH_SIZE = 500;

/** TypeORM's insert and update types cannot see into JSON columns typed `unknown`. */
export type PlanColumns = QueryDeepPartialEntity<PlanEntity>;

/** The row of a plan (exported for bench/persistence.bench.ts, which fills tables in bulk). */
export function toEntity(plan: SavedPlanRecord): PlanEntity {
  const { result } = plan;
  return {
    id: plan.id,
    name: plan.name,
    tags: plan.tags,
    modelId: plan.modelId,
    gpuId: plan.gpuId,
    fits: result.memory.perGpu.fits ? 1 : 0,
    engineVersion: result.engineVersion,
    request: plan.input,
    result,
    figures: csvFigures(result),
    notes: plan.notes,
    gpuHours: result.cost.gpuHours ?? null,
    totalUsd: result.cost.totalUsd ?? null,
    createdAt: plan.createdAt,
  };
}

function toRecord(row: PlanEntity): SavedPlanRecord {
  return {
    id: row.id,
    name: row.name,
    tags: row.tags,
    notes: row.notes,
    createdAt: row.createdAt,
    modelId: row.modelId,
    gpuId: row.gpuId,
    input: row.request,
    result: row.result,
  };
}

/** SQLite returns JSON columns as text, PostgreSQL's driver parses jsonb itself. */
function parsedJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** The columns a listed plan shows: the request and the CSV figures are as large as the result
 * to parse again, and a page does not serve them. */
const SERVED_COLUMNS = ['id', 'name', 'tags', 'notes', 'createdAt', 'result'].map(
  (field) => `plan.${field}`,
);

function toServedRecord(row: PlanEntity): ServedPlanRecord {
  const { id, name, tags, notes, createdAt, result } = row;
  return { id, name, tags, notes, createdAt, result };
}

type RawCsvRow = Record<string, unknown>;

@Injectable()
export class TypeOrmPlansRepository implements PlansRepository {
  constructor(private readonly dataSource: DataSource) {}

  async create(plan: SavedPlanRecord): Promise<void> {
    await writeTransaction(this.dataSource, async (manager) => {
      await manager.insert(PlanEntity, toEntity(plan) as PlanColumns);
      const tags = [...new Set(plan.tags)].map((tag) => ({ planId: plan.id, tag }));
      if (tags.length > 0) await manager.insert(PlanTagEntity, tags);
    });
  }

  async findById(id: string): Promise<SavedPlanRecord | null> {
    const row = await this.dataSource.getRepository(PlanEntity).findOneBy({ id });
    return row ? toRecord(row) : null;
  }

  /** Insertion order, the tie-breaker of plans saved in the same millisecond: SQLite's rowid,
   * PostgreSQL's identity column `seq`. */
  private get orderColumn(): string {
    return isPostgres(this.dataSource) ? 'plan.seq' : 'plan.rowid';
  }

  /** Plans meeting `criteria`. A tag is one condition written two ways: totals start from the
   * tag's rows and look each plan up (IN), pages walk the time index and stop at the limit
   * (EXISTS); on 100,000 plans of ten tags each way is ~0.3-6 ms where the other is 30-50 ms. */
  private matching(
    criteria: PlanCriteria,
    purpose: 'totals' | 'page',
  ): SelectQueryBuilder<PlanEntity> {
    const query = this.dataSource.getRepository(PlanEntity).createQueryBuilder('plan');
    if (criteria.tag !== undefined) {
      query.andWhere(
        purpose === 'totals'
          ? 'plan.id IN (SELECT tagged.plan_id FROM plan_tags tagged WHERE tagged.tag = :tag)'
          : 'EXISTS (SELECT 1 FROM plan_tags tagged WHERE tagged.plan_id = plan.id AND tagged.tag = :tag)',
        { tag: criteria.tag },
      );
    }
    if (criteria.modelId !== undefined) {
      query.andWhere('plan.modelId = :modelId', { modelId: criteria.modelId });
    }
    if (criteria.gpuId !== undefined) {
      query.andWhere('plan.gpuId = :gpuId', { gpuId: criteria.gpuId });
    }
    if (criteria.fits !== undefined) {
      query.andWhere('plan.fits = :fits', { fits: criteria.fits ? 1 : 0 });
    }
    return query;
  }

  /** Matching plans, newest first, from `after` on (exclusive). */
  private newestFirst(criteria: PlanCriteria, after?: PlanPosition) {
    const query = this.matching(criteria, 'page')
      .addSelect(this.orderColumn, 'plan_order')
      .orderBy('plan.createdAt', 'DESC')
      .addOrderBy(this.orderColumn, 'DESC');
    if (after) {
      query.andWhere(`(plan.createdAt, ${this.orderColumn}) < (:afterTime, :afterOrder)`, {
        afterTime: after.createdAt,
        afterOrder: after.order,
      });
    }
    return query;
  }

  /** How many plans meet `criteria`. A tag alone is counted on its own index: a plan has each
   * tag once (the primary key) and every tag row has its plan (the cascading foreign key), so
   * the tag's rows are its plans; on 100,000 plans of ten tags that is 2 ms where the join
   * takes 20. */
  private async count(criteria: PlanCriteria): Promise<number> {
    const { tag, ...others } = criteria;
    if (tag !== undefined && Object.values(others).every((value) => value === undefined)) {
      return this.dataSource.getRepository(PlanTagEntity).countBy({ tag });
    }
    const counted = await this.matching(criteria, 'totals')
      .select('COUNT(*)', 'total')
      .getRawOne<{ total: number | string }>();
    return Number(counted?.total ?? 0);
  }

  /** The count and the page run at once (on two PostgreSQL connections; SQLite runs them in
   * turn); one plan past the page says whether another page follows. */
  async list(filter: PlanFilter): Promise<PlanListing> {
    const { limit, offset, after, ...criteria } = filter;
    const [total, { entities, raw }] = await Promise.all([
      this.count(criteria),
      this.newestFirst(criteria, after)
        .select(SERVED_COLUMNS)
        .addSelect(this.orderColumn, 'plan_order')
        .limit(limit + 1)
        .offset(offset ?? 0)
        .getRawAndEntities<{ plan_order: number | string }>(),
    ]);
    const items = entities.slice(0, limit).map(toServedRecord);
    const last = items[items.length - 1];
    const next =
      entities.length > limit
        ? { createdAt: last.createdAt, order: Number(raw[limit - 1].plan_order) }
        : null;
    return { items, total, next };
  }

  private csvQuery(criteria: PlanCriteria, after?: PlanPosition) {
    const query = this.newestFirst(criteria, after)
      .select(this.orderColumn, 'plan_order')
      .addSelect('plan.id', 'id')
      .addSelect('plan.name', 'name')
      .addSelect('plan.createdAt', 'created_at')
      .addSelect('plan.tags', 'tags')
      .addSelect('plan.modelId', 'model_id')
      .addSelect('plan.gpuId', 'gpu_id')
      .addSelect('plan.fits', 'fits')
      .addSelect('plan.gpuHours', 'gpu_hours')
      .addSelect('plan.totalUsd', 'total_usd')
      .addSelect('plan.figures', 'figures');
    return query.limit(CSV_BATCH_SIZE);
  }

  private toCsvRow(raw: RawCsvRow): PlanCsvRow {
    const nullableNumber = (value: unknown) => (value === null ? null : Number(value));
    return {
      id: raw.id as string,
      name: raw.name as string,
      createdAt: ISO_TIMESTAMP.from(raw.created_at) as string,
      tags: parsedJson<string[]>(raw.tags),
      modelId: raw.model_id as string,
      gpuId: raw.gpu_id as string,
      fits: Number(raw.fits) === 1,
      gpuHours: nullableNumber(raw.gpu_hours),
      totalUsd: nullableNumber(raw.total_usd),
      ...parsedJson<CsvFigures>(raw.figures),
    };
  }

  async *csvRows(criteria: PlanCriteria): AsyncGenerator<PlanCsvRow[]> {
    let after: PlanPosition | undefined;
    for (;;) {
      const raw = await this.csvQuery(criteria, after).getRawMany<RawCsvRow>();
      if (raw.length === 0) return;
      const rows = raw.map((row) => this.toCsvRow(row));
      yield rows;
      if (raw.length < CSV_BATCH_SIZE) return;
      // better-sqlite3 answers at once: without a turn of the event loop between batches the
      // whole export would run before any other request (a /health) is read.
      await setImmediate();
      const last = raw[raw.length - 1];
      after = { createdAt: rows[rows.length - 1].createdAt, order: Number(last.plan_order) };
    }
  }

  async summarize(criteria: PlanCriteria): Promise<PlanFigures> {
    const totals = await this.matching(criteria, 'totals')
      .select('COUNT(*)', 'plans')
      .addSelect('COALESCE(SUM(plan.fits), 0)', 'fitting')
      // A plan that does not fit costs nothing: it cannot run as planned.
      .addSelect('COUNT(CASE WHEN plan.fits = 1 THEN plan.gpuHours END)', 'budgeted')
      .addSelect('COALESCE(SUM(CASE WHEN plan.fits = 1 THEN plan.gpuHours END), 0)', 'gpuHours')
      .addSelect('COALESCE(SUM(CASE WHEN plan.fits = 1 THEN plan.totalUsd END), 0)', 'totalUsd')
      // PostgreSQL answers COUNT as bigint and SUM of real as double, which pg hands back as text.
      .getRawOne<Record<keyof Omit<PlanFigures, 'notFitting'>, number | string>>();
    const plans = Number(totals?.plans ?? 0);
    const fitting = Number(totals?.fitting ?? 0);
    return {
      plans,
      fitting,
      notFitting: plans - fitting,
      budgeted: Number(totals?.budgeted ?? 0),
      gpuHours: Number(totals?.gpuHours ?? 0),
      totalUsd: Number(totals?.totalUsd ?? 0),
    };
  }

  /** The row's UPDATE comes first: it locks the plan (PostgreSQL) and says whether it exists,
   * so no read can go stale before the write. */
  async updateLabels(id: string, labels: PlanLabels): Promise<boolean> {
    const columns: Partial<PlanEntity> = {};
    if (labels.name !== undefined) columns.name = labels.name;
    if (labels.notes !== undefined) columns.notes = labels.notes;
    const tags = labels.tags === undefined ? undefined : [...new Set(labels.tags)];
    if (tags !== undefined) columns.tags = tags;
    if (Object.keys(columns).length === 0) {
      return this.dataSource.getRepository(PlanEntity).existsBy({ id });
    }
    return writeTransaction(this.dataSource, async (manager) => {
      const updated = await manager.update(PlanEntity, { id }, columns as PlanColumns);
      if ((updated.affected ?? 0) === 0) return false;
      if (tags !== undefined) {
        await manager.delete(PlanTagEntity, { planId: id });
        if (tags.length > 0) {
          await manager.insert(
            PlanTagEntity,
            tags.map((tag) => ({ planId: id, tag })),
          );
        }
      }
      return true;
    });
  }

  async delete(id: string): Promise<boolean> {
    // plan_tags rows go with it (ON DELETE CASCADE; TypeORM turns SQLite's foreign_keys on).
    const outcome = await writeTransaction(this.dataSource, (manager) =>
      manager.delete(PlanEntity, { id }),
    );
    return (outcome.affected ?? 0) > 0;
  }
}
