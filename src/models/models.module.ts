import { Module } from '@nestjs/common';
import {
  CUSTOM_MODELS_REPOSITORY,
  TypeOrmCustomModelsRepository,
} from './custom-models.repository';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

@Module({
  controllers: [ModelsController],
  providers: [
    ModelsService,
    { provide: CUSTOM_MODELS_REPOSITORY, useClass: TypeOrmCustomModelsRepository },
  ],
  exports: [ModelsService],
})
export class ModelsModule {}
