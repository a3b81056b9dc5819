// PlansRepository over TypeORM and SQLite: plans in `plans`, one row per tag in `plan_tags`.
import { Injectable } from '@nestjs/common';
import { DataSource, SelectQueryBuilder } from 'typeorm';
import { PlanResult } from '../engine';
import { PlanTagEntity } from './plan-tag.entity';
import { PlanEntity } from './plan.entity';
import { PlanCriteria, PlanFilter, PlanLabels, PlansRepository } from './plans.repository';
import { PlanFigures, SavedPlanRecord } from './saved-plan';

function toEntity(plan: SavedPlanRecord): PlanEntity {
  const { result } = plan;
  return {
    id: plan.id,
    name: plan.name,
    tags: JSON.stringify(plan.tags),
    modelId: plan.modelId,
    gpuId: plan.gpuId,
    fits: result.memory.perGpu.fits ? 1 : 0,
    engineVersion: result.engineVersion,
    request: JSON.stringify(plan.input),
    result: JSON.stringify(result),
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
    tags: JSON.parse(row.tags) as string[],
    notes: row.notes,
    createdAt: row.createdAt,
    modelId: row.modelId,
    gpuId: row.gpuId,
    input: JSON.parse(row.request) as unknown,
    result: JSON.parse(row.result) as PlanResult,
  };
}

@Injectable()
export class TypeOrmPlansRepository implements PlansRepository {
  constructor(private readonly dataSource: DataSource) {}

  async create(plan: SavedPlanRecord): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.insert(PlanEntity, toEntity(plan));
      const tags = [...new Set(plan.tags)].map((tag) => ({ planId: plan.id, tag }));
      if (tags.length > 0) await manager.insert(PlanTagEntity, tags);
    });
  }

  async findById(id: string): Promise<SavedPlanRecord | null> {
    const row = await this.dataSource.getRepository(PlanEntity).findOneBy({ id });
    return row ? toRecord(row) : null;
  }

  private matching(criteria: PlanCriteria): SelectQueryBuilder<PlanEntity> {
    const query = this.dataSource.getRepository(PlanEntity).createQueryBuilder('plan');
    if (criteria.tag !== undefined) {
      query.andWhere(
        'EXISTS (SELECT 1 FROM plan_tags tagged WHERE tagged.plan_id = plan.id AND tagged.tag = :tag)',
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

  async list(filter: PlanFilter): Promise<{ items: SavedPlanRecord[]; total: number }> {
    const query = this.matching(filter);
    const total = await query.getCount();
    // rowid breaks ties between plans saved within the same millisecond: later insert first.
    const rows = await query
      .orderBy('plan.createdAt', 'DESC')
      .addOrderBy('plan.rowid', 'DESC')
      .limit(filter.limit)
      .offset(filter.offset)
      .getMany();
    return { items: rows.map(toRecord), total };
  }

  async summarize(criteria: PlanCriteria): Promise<PlanFigures> {
    const totals = await this.matching(criteria)
      .select('COUNT(*)', 'plans')
      .addSelect('COALESCE(SUM(plan.fits), 0)', 'fitting')
      // A plan that does not fit costs nothing: it cannot run as planned.
      .addSelect('COUNT(CASE WHEN plan.fits = 1 THEN plan.gpuHours END)', 'budgeted')
      .addSelect('COALESCE(SUM(CASE WHEN plan.fits = 1 THEN plan.gpuHours END), 0)', 'gpuHours')
      .addSelect('COALESCE(SUM(CASE WHEN plan.fits = 1 THEN plan.totalUsd END), 0)', 'totalUsd')
      .getRawOne<{
        plans: number;
        fitting: number;
        budgeted: number;
        gpuHours: number;
        totalUsd: number;
      }>();
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

  async updateLabels(id: string, labels: PlanLabels): Promise<SavedPlanRecord | null> {
    return this.dataSource.transaction(async (manager) => {
      const plans = manager.getRepository(PlanEntity);
      if (!(await plans.existsBy({ id }))) return null;
      const columns: Partial<PlanEntity> = {};
      if (labels.name !== undefined) columns.name = labels.name;
      if (labels.notes !== undefined) columns.notes = labels.notes;
      if (labels.tags !== undefined) {
        const tags = [...new Set(labels.tags)];
        columns.tags = JSON.stringify(tags);
        await manager.delete(PlanTagEntity, { planId: id });
        if (tags.length > 0) {
          await manager.insert(
            PlanTagEntity,
            tags.map((tag) => ({ planId: id, tag })),
          );
        }
      }
      if (Object.keys(columns).length > 0) await plans.update({ id }, columns);
      const row = await plans.findOneByOrFail({ id });
      return toRecord(row);
    });
  }

  async delete(id: string): Promise<boolean> {
    // plan_tags rows go with it (ON DELETE CASCADE; TypeORM turns foreign_keys on).
    const outcome = await this.dataSource.getRepository(PlanEntity).delete({ id });
    return (outcome.affected ?? 0) > 0;
  }
}
