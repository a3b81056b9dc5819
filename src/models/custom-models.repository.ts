// The port for custom models, and its TypeORM adapter over the `custom_models` table.
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ModelArchitecture } from '../engine';
import { CustomModelEntity } from './custom-model.entity';

export const CUSTOM_MODELS_REPOSITORY = Symbol('CustomModelsRepository');

export interface CustomModelRecord {
  id: string;
  config: Record<string, unknown>;
  architecture: ModelArchitecture;
  createdAt: string;
}

export interface CustomModelsRepository {
  /** Every custom model, oldest first (the order they were added). */
  all(): Promise<CustomModelRecord[]>;
  create(model: CustomModelRecord): Promise<void>;
  exists(id: string): Promise<boolean>;
}

@Injectable()
export class TypeOrmCustomModelsRepository implements CustomModelsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async all(): Promise<CustomModelRecord[]> {
    const rows = await this.dataSource
      .getRepository(CustomModelEntity)
      .find({ order: { createdAt: 'ASC' } });
    return rows.map((row) => ({
      id: row.id,
      config: JSON.parse(row.config) as Record<string, unknown>,
      architecture: JSON.parse(row.architecture) as ModelArchitecture,
      createdAt: row.createdAt,
    }));
  }

  async create(model: CustomModelRecord): Promise<void> {
    await this.dataSource.getRepository(CustomModelEntity).insert({
      id: model.id,
      config: JSON.stringify(model.config),
      architecture: JSON.stringify(model.architecture),
      createdAt: model.createdAt,
    });
  }

  async exists(id: string): Promise<boolean> {
    return this.dataSource.getRepository(CustomModelEntity).existsBy({ id });
  }
}
