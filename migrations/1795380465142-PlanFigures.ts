// The figures the CSV export shows, kept beside each plan as a small JSON object, so exporting
// 100,000 plans reads 100,000 small values instead of picking each figure out of each whole
// result (PostgreSQL decompressed the ~8 KB jsonb once per figure: 24 s for 100,000 plans at
// twelve figures a plan). The layout columns (workload, method, ZeRO stage, ...), the verdict
// and the 80% range are read from the result's normalised request and rank the same way.
// PostgreSQL also moves the large jsonb columns out of the row (toast_tuple_target 128), so
// counting and scanning plans reads a 16 MB table rather than 195 MB per 100,000 plans.
import { MigrationInterface, QueryRunner } from 'typeorm';

/** Each value and where it is in a PlanResult, as the export read them when this was written
 * (a plan saved before the 80% range or the verdict gets null there: an empty cell). */
const FIGURES: [string, string[]][] = [
  ['gpus', ['layout', 'gpus']],
  ['dataParallel', ['layout', 'dataParallel']],
  ['tensorParallel', ['layout', 'tensorParallel']],
  ['pipelineParallel', ['layout', 'pipelineParallel']],
  ['contextParallel', ['layout', 'contextParallel']],
  ['expertParallel', ['layout', 'expertParallel']],
  ['workload', ['request', 'workload']],
  ['method', ['request', 'training', 'method']],
  ['precision', ['request', 'training', 'precision']],
  ['optimizer', ['request', 'training', 'optimizer']],
  ['zeroStage', ['request', 'parallelism', 'zeroStage']],
  ['activationCheckpointing', ['request', 'training', 'activationCheckpointing']],
  ['microBatchSize', ['request', 'training', 'microBatchSize']],
  ['gradientAccumulationSteps', ['request', 'training', 'gradientAccumulationSteps']],
  ['sequenceLength', ['request', 'training', 'sequenceLength']],
  ['sequenceParallel', ['request', 'parallelism', 'sequenceParallel']],
  ['offloadOptimizer', ['request', 'parallelism', 'offload', 'optimizer']],
  ['offloadParameters', ['request', 'parallelism', 'offload', 'parameters']],
  ['crossEntropy', ['request', 'runtime', 'crossEntropy']],
  ['preset', ['request', 'runtime', 'preset']],
  ['tokensToTrain', ['request', 'training', 'tokensToTrain']],
  ['verdict', ['memory', 'perGpu', 'verdict']],
  ['deviceUsedBytes', ['memory', 'perGpu', 'deviceUsedBytes']],
  ['capacityBytes', ['memory', 'perGpu', 'capacityBytes']],
  ['allocatedPeakBytes', ['memory', 'perGpu', 'allocatedPeakBytes']],
  ['deviceUsedLowBytes', ['memory', 'perGpu', 'deviceUsedRangeBytes', '0']],
  ['deviceUsedHighBytes', ['memory', 'perGpu', 'deviceUsedRangeBytes', '1']],
  ['stepTimeSeconds', ['performance', 'stepTimeSeconds']],
  ['tokensPerSecond', ['performance', 'tokensPerSecond']],
  ['usdPerMillionTokens', ['cost', 'usdPerMillionTokens']],
];

/** SQLite's JSON path: `$.a.b[0]` (an array index in brackets). */
function sqlitePath(path: string[]): string {
  return '$' + path.map((key) => (/^\d+$/.test(key) ? `[${key}]` : `.${key}`)).join('');
}

export class PlanFigures1795380465142 implements MigrationInterface {
  name = 'PlanFigures1795380465142';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'postgres') {
      await queryRunner.query(`ALTER TABLE "plans" ADD COLUMN "figures" jsonb`);
      // Small enough to stay in the row, uncompressed, while request and result move out.
      await queryRunner.query(`ALTER TABLE "plans" ALTER COLUMN "figures" SET STORAGE PLAIN`);
      await queryRunner.query(`ALTER TABLE "plans" SET (toast_tuple_target = 128)`);
      const pairs = FIGURES.map(([name, path]) => `'${name}', "result" #> '{${path.join(',')}}'`);
      await queryRunner.query(
        `UPDATE "plans" SET "figures" = jsonb_build_object(${pairs.join(', ')})`,
      );
      return;
    }
    await queryRunner.query(`ALTER TABLE "plans" ADD COLUMN "figures" text`);
    // `->` keeps JSON's own types (json_extract would turn true into 1); json() embeds the value.
    const pairs = FIGURES.map(
      ([name, path]) => `'${name}', json("result" -> '${sqlitePath(path)}')`,
    );
    await queryRunner.query(`UPDATE "plans" SET "figures" = json_object(${pairs.join(', ')})`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'postgres') {
      await queryRunner.query(`ALTER TABLE "plans" RESET (toast_tuple_target)`);
    }
    await queryRunner.query(`ALTER TABLE "plans" DROP COLUMN "figures"`);
  }
}
