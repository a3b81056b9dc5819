// The model catalog as served, and custom models: saved in the database, which every instance
// reads (CustomModelsSync), so a model added or deleted on one is seen by all.
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { architectureFromConfig } from '../engine';
import { CUSTOM_MODELS_REPOSITORY, CustomModelsRepository } from './custom-models.repository';
import { CustomModelsSync } from './custom-models.sync';
import { LiveCatalog } from './live-catalog';
import { ModelView, toModelView } from './model-view';
import { usedConfig } from './used-config';

@Injectable()
export class ModelsService {
  constructor(
    private readonly catalog: LiveCatalog,
    private readonly sync: CustomModelsSync,
    @Inject(CUSTOM_MODELS_REPOSITORY) private readonly customModels: CustomModelsRepository,
  ) {}

  list(): ModelView[] {
    return this.catalog.models().map(toModelView);
  }

  /** By catalog id or Hugging Face alias. */
  get(idOrAlias: string): ModelView {
    const arch = this.catalog.findModel(idOrAlias);
    if (!arch) {
      throw new NotFoundException(
        `unknown model '${idOrAlias}'; GET /api/v1/models lists the catalog`,
      );
    }
    return toModelView(arch);
  }

  /** Validates the config (PlanValidationError lists missing or out-of-range fields), saves the
   * fields the planner reads, then serves the model. */
  async add(id: string, sent: Record<string, unknown>, name?: string): Promise<ModelView> {
    const taken = () =>
      new ConflictException(`a model with id '${id}' already exists; choose another id`);
    if (this.catalog.findModel(id)) throw taken();
    const config = usedConfig(sent);
    const architecture = { ...architectureFromConfig(id, config, name), custom: true };
    const created = await this.customModels.create({
      id,
      config,
      architecture,
      createdAt: new Date().toISOString(),
    });
    if (!created) throw taken();
    await this.sync.refresh();
    return toModelView(architecture);
  }

  /** Deletes a custom model; the shipped catalog cannot be changed. */
  async delete(id: string): Promise<void> {
    if (this.catalog.isShipped(id)) {
      throw new ConflictException(
        `'${id}' is part of the shipped catalog and cannot be deleted; only custom models can`,
      );
    }
    if (!(await this.customModels.delete(id.toLowerCase()))) {
      throw new NotFoundException(`no custom model with id '${id}'`);
    }
    await this.sync.refresh();
  }
}
