// The migrations on a database that already holds plans: a plan saved before the figures
// column existed gets the same figures a new save stores, and exports as one.
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../migrations';
import { estimatePlan } from '../src/application/estimate';
import type { PlanResult } from '../src/engine';
import { loadCatalog } from '../src/catalog/catalog';
import { appConfig } from '../src/config/app-config';
import { databaseOptions } from '../src/database/database-options';
import { migrate } from '../src/database/migrate';
import { csvFigures } from '../src/plans/plans-csv';
import { TestDatabase, testDatabase, testEngines } from './support/databases';

/** The migrations a database had before the figures column (1795380465142). */
const BEFORE_FIGURES = MIGRATIONS.filter(
  (migration) => migration.name !== 'PlanFigures1795380465142',
);

describe.each(testEngines())('migrations over saved plans on %s', (engine) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await testDatabase(engine);
  });
  afterAll(async () => {
    await database.remove();
  });

  it('fills the figures of a plan saved before them, as a new save would', async () => {
    const options = databaseOptions(appConfig(database.env as NodeJS.ProcessEnv).database);
    const result = estimatePlan(
      {
        model: 'llama-3-70b',
        cluster: { gpu: 'h100-80gb', nodes: 2, gpusPerNode: 8 },
        parallelism: { zeroStage: 3 },
      },
      loadCatalog(),
    );
    // A plan saved before the 80% range and the verdict existed has neither in its result.
    const { deviceUsedRangeBytes: _range, verdict: _verdict, ...olderRank } = result.memory.perGpu;
    const older = { ...result, memory: { ...result.memory, perGpu: olderRank } } as PlanResult;
    const old = await new DataSource({ ...options, migrations: BEFORE_FIGURES }).initialize();
    await migrate(old);
    const p = (n: number) => (engine === 'sqlite' ? '?' : `$${n}`);
    for (const [id, saved] of [
      ['old', result],
      ['older', older],
    ] as const) {
      await old.query(
        `INSERT INTO plans (id, name, tags, model_id, gpu_id, fits, engine_version, request, result, created_at)
         VALUES (${p(1)}, 'old', '[]', 'llama-3-70b', 'h100-80gb', 1, '1.0.0', '{}', ${p(2)}, '2025-01-01T00:00:00.000Z')`,
        [id, JSON.stringify(saved)],
      );
    }
    await old.destroy();

    const current = await new DataSource(options).initialize();
    await migrate(current);
    const rows = (await current.query(`SELECT id, figures FROM plans ORDER BY id`)) as {
      id: string;
      figures: unknown;
    }[];
    await current.destroy();
    const [figures, olderFigures] = rows.map((row) =>
      typeof row.figures === 'string' ? JSON.parse(row.figures) : row.figures,
    );
    expect(figures).toEqual(csvFigures(result));
    expect(olderFigures).toEqual(csvFigures(older));
    // Written out for this plan: 16 GPUs, ZeRO-3 data parallel over all of them, training with
    // the defaults left as they are (no sequence parallel: a boolean, not SQLite's 0; nothing
    // offloaded).
    expect(figures).toMatchObject({
      gpus: 16,
      dataParallel: 16,
      tensorParallel: 1,
      workload: 'training',
      zeroStage: 3,
      sequenceParallel: false,
      offloadOptimizer: 'none',
      offloadParameters: 'none',
    });
    expect(figures.deviceUsedLowBytes).toBeLessThanOrEqual(figures.deviceUsedBytes);
    expect(figures.deviceUsedHighBytes).toBeGreaterThanOrEqual(figures.deviceUsedBytes);
    // The older plan has no range and no verdict to show: empty cells, not zeros.
    expect(olderFigures).toMatchObject({
      verdict: null,
      deviceUsedLowBytes: null,
      deviceUsedHighBytes: null,
    });
  });
});
