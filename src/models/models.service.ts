// The model catalog as served, and custom models: saved in SQLite, put in the catalog at boot.
import {
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  OnModuleInit,
} from '@nestjs/common';
import { Catalog } from '../catalog/catalog';
import { architectureFromConfig } from '../engine';
import { CUSTOM_MODELS_REPOSITORY, CustomModelsRepository } from './custom-models.repository';
import { ModelView, toModelView } from './model-view';

@Injectable()
export class ModelsService implements OnModuleInit {
  private readonly logger = new Logger(ModelsService.name);

  constructor(
    private readonly catalog: Catalog,
    @Inject(CUSTOM_MODELS_REPOSITORY) private readonly customModels: CustomModelsRepository,
  ) {}

  /** Re-derives each saved custom model from its config, so engine fixes reach old models too. */
  async onModuleInit(): Promise<void> {
    for (const saved of await this.customModels.all()) {
      try {
        const name =
          typeof saved.architecture.name === 'string' ? saved.architecture.name : undefined;
        this.catalog.addModel({
          ...architectureFromConfig(saved.id, saved.config, name),
          custom: true,
        });
      } catch (error) {
        this.logger.warn(`custom model '${saved.id}' was not loaded: ${(error as Error).message}`);
      }
    }
  }

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

  /** Validates the config (PlanValidationError lists missing fields), saves it, then serves it. */
  async add(id: string, config: Record<string, unknown>, name?: string): Promise<ModelView> {
    if (this.catalog.findModel(id) || (await this.customModels.exists(id))) {
      throw new ConflictException(`a model with id '${id}' already exists; choose another id`);
    }
    const architecture = { ...architectureFromConfig(id, config, name), custom: true };
    await this.customModels.create({
      id,
      config,
      architecture,
      createdAt: new Date().toISOString(),
    });
    this.catalog.addModel(architecture);
    return toModelView(architecture);
  }
}
