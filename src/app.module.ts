// The application: catalog, planning, saved plans, SQLite, one validation pipe, one error filter.
import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ServeStaticModule } from '@nestjs/serve-static';
import { TypeOrmModule } from '@nestjs/typeorm';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CatalogModule } from './common/catalog.module';
import { ProblemDetailsFilter } from './common/problem-details.filter';
import { RememberingValidationPipe, VALIDATION_PIPE_OPTIONS } from './common/validation';
import { appConfig } from './config/app-config';
import { databaseOptions } from './database/database-options';
import { GpusModule } from './gpus/gpus.module';
import { HealthModule } from './health/health.module';
import { ModelsModule } from './models/models.module';
import { PlanningModule } from './planning/planning.module';
import { PlansModule } from './plans/plans.module';
import { StrategiesModule } from './strategies/strategies.module';
import { VocabularyModule } from './vocabulary/vocabulary.module';

/** public/ sits beside src/ in the repository and beside dist/ when compiled (dist/src/); the
 * page is the folder with index.html (dist/public holds only the formatters compiled for the CLI). */
const PUBLIC_DIRECTORY =
  [join(__dirname, '..', 'public'), join(__dirname, '..', '..', 'public')].find((folder) =>
    existsSync(join(folder, 'index.html')),
  ) ?? join(process.cwd(), 'public');

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      // Read at start-up, not import, so tests can point DATABASE_PATH at a temporary file.
      useFactory: () => ({
        ...databaseOptions(appConfig().databasePath),
        migrationsRun: true,
        retryAttempts: 0, // a local file either opens or it does not
      }),
    }),
    // The web page at /; only '/' renders index.html, so unknown paths stay 404 problems.
    ServeStaticModule.forRoot(
      { rootPath: PUBLIC_DIRECTORY, renderPath: '/' },
      // The page's chart library, served from the installed package rather than a CDN.
      {
        rootPath: dirname(require.resolve('chart.js')),
        serveRoot: '/vendor/chartjs',
        renderPath: '/',
      },
    ),
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
  ],
})
export class AppModule {}
