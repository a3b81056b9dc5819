// PlansRepository over TypeORM and SQLite: plans in `plans`, one row per tag in `plan_tags`.
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PlanResult } from '../engine/types';
import { PlanTagEntity } from './plan-tag.entity';
import { PlanEntity } from './plan.entity';
import { PlanFilter, PlansRepository } from './plans.repository';
import { SavedPlanRecord } from './saved-plan';

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

  async list(filter: PlanFilter): Promise<{ items: SavedPlanRecord[]; total: number }> {
    const query = this.dataSource.getRepository(PlanEntity).createQueryBuilder('plan');
    if (filter.tag !== undefined) {
      query.andWhere(
        'EXISTS (SELECT 1 FROM plan_tags tagged WHERE tagged.plan_id = plan.id AND tagged.tag = :tag)',
        { tag: filter.tag },
      );
    }
    if (filter.modelId !== undefined) query.andWhere('plan.modelId = :modelId', filter);
    if (filter.gpuId !== undefined) query.andWhere('plan.gpuId = :gpuId', filter);
    if (filter.fits !== undefined)
      query.andWhere('plan.fits = :fits', { fits: filter.fits ? 1 : 0 });
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

  async delete(id: string): Promise<boolean> {
    // plan_tags rows go with it (ON DELETE CASCADE; TypeORM turns foreign_keys on).
    const outcome = await this.dataSource.getRepository(PlanEntity).delete({ id });
    return (outcome.affected ?? 0) > 0;
  }
}
