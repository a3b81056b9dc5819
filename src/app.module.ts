// The application: catalog, planning, saved plans in SQLite or PostgreSQL, one validation pipe,
// one error filter, the API key guard and the custom-model refresh before every handler.
import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { ApiKeyGuard } from './common/api-key.guard';
import { CatalogModule } from './common/catalog.module';
import { ProblemDetailsFilter } from './common/problem-details.filter';
import { RememberingValidationPipe, VALIDATION_PIPE_OPTIONS } from './common/validation';
import { appConfig } from './config/app-config';
import { databaseOptions } from './database/database-options';
import { migrate } from './database/migrate';
import { GpusModule } from './gpus/gpus.module';
import { HealthModule } from './health/health.module';
import { CustomModelsRefresh } from './models/custom-models.sync';
import { ModelsModule } from './models/models.module';
import { PlanningModule } from './planning/planning.module';
import { PlansModule } from './plans/plans.module';
import { StrategiesModule } from './strategies/strategies.module';
import { VocabularyModule } from './vocabulary/vocabulary.module';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      // Read at start-up, not import, so tests can point the environment at their own database.
      useFactory: () => ({
        ...databaseOptions(appConfig().database),
        retryAttempts: 0, // a database that does not answer at boot is reported, not waited for
      }),
      // Migrations run under a lock, so instances booting together on one database take turns.
      dataSourceFactory: async (options?: DataSourceOptions) => {
        const dataSource = await new DataSource(options!).initialize();
        await migrate(dataSource);
        return dataSource;
      },
    }),
    CatalogModule,
    ModelsModule,
    GpusModule,
    StrategiesModule,
    VocabularyModule,
    PlanningModule,
    PlansModule,
    HealthModule,
  ],
  providers: [
    { provide: APP_PIPE, useFactory: () => new RememberingValidationPipe(VALIDATION_PIPE_OPTIONS) },
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
    // In this order: a request without the key is refused before it reads the database.
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useExisting: CustomModelsRefresh },
  ],
})
export class AppModule {}
