import { Module } from '@nestjs/common';
import {
  CUSTOM_MODELS_REPOSITORY,
  TypeOrmCustomModelsRepository,
} from './custom-models.repository';
import { CustomModelsRefresh, CustomModelsSync } from './custom-models.sync';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

@Module({
  controllers: [ModelsController],
  providers: [
    ModelsService,
    CustomModelsSync,
    CustomModelsRefresh,
    { provide: CUSTOM_MODELS_REPOSITORY, useClass: TypeOrmCustomModelsRepository },
  ],
  exports: [ModelsService, CustomModelsRefresh],
})
export class ModelsModule {}
