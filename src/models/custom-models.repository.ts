// The port for custom models, and its TypeORM adapter over `custom_models` and the revision
// counter that every add and delete raises in the same transaction.
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { isUniqueViolation, writeTransaction } from '../database/transactions';
import { ModelArchitecture } from '../engine';
import { CustomModelEntity } from './custom-model.entity';

export const CUSTOM_MODELS_REPOSITORY = Symbol('CustomModelsRepository');

export interface CustomModelRecord {
  id: string;
  config: Record<string, unknown>;
  architecture: ModelArchitecture;
  createdAt: string;
}

/** The custom models as of one revision. */
export interface CustomModelSet {
  revision: number;
  models: CustomModelRecord[];
}

export interface CustomModelsRepository {
  /** Raised by every add and delete, by any instance: one cheap read says whether to reload. */
  revision(): Promise<number>;
  /** Every custom model, oldest first, with a revision no newer than what they reflect. */
  all(): Promise<CustomModelSet>;
  /** False when the id is taken (by another instance too: the primary key decides). */
  create(model: CustomModelRecord): Promise<boolean>;
  /** False when no custom model had this id. */
  delete(id: string): Promise<boolean>;
}

const RAISE_REVISION =
  'UPDATE "custom_model_revision" SET "revision" = "revision" + 1 WHERE "id" = 1';

@Injectable()
export class TypeOrmCustomModelsRepository implements CustomModelsRepository {
  constructor(private readonly dataSource: DataSource) {}

  private async readRevision(manager: EntityManager): Promise<number> {
    const rows = (await manager.query(
      'SELECT "revision" FROM "custom_model_revision" WHERE "id" = 1',
    )) as { revision: number | string }[];
    return Number(rows[0]?.revision ?? 0);
  }

  revision(): Promise<number> {
    return this.readRevision(this.dataSource.manager);
  }

  /** The revision is read first: a change landing between the two reads leaves the revision
   * behind the models, which only costs one more reload, never a stale catalog. */
  async all(): Promise<CustomModelSet> {
    const revision = await this.readRevision(this.dataSource.manager);
    const rows = await this.dataSource
      .getRepository(CustomModelEntity)
      .find({ order: { createdAt: 'ASC', id: 'ASC' } });
    return { revision, models: rows };
  }

  async create(model: CustomModelRecord): Promise<boolean> {
    try {
      await writeTransaction(this.dataSource, async (manager) => {
        // TypeORM's insert type cannot see into the JSON columns.
        await manager.insert(CustomModelEntity, model as QueryDeepPartialEntity<CustomModelEntity>);
        await manager.query(RAISE_REVISION);
      });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  delete(id: string): Promise<boolean> {
    return writeTransaction(this.dataSource, async (manager) => {
      const outcome = await manager.delete(CustomModelEntity, { id });
      if ((outcome.affected ?? 0) === 0) return false;
      await manager.query(RAISE_REVISION);
      return true;
    });
  }
}
