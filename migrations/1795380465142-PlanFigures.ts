// The figures the CSV export shows, kept beside each plan as a small JSON object, so exporting
// 100,000 plans reads 100,000 small values instead of picking twelve figures out of each whole
// result (PostgreSQL decompressed the ~8 KB jsonb once per figure: 24 s for 100,000 plans).
// PostgreSQL also moves the large jsonb columns out of the row (toast_tuple_target 128), so
// counting and scanning plans reads a 16 MB table rather than 195 MB per 100,000 plans.
import { MigrationInterface, QueryRunner } from 'typeorm';

/** Each figure and where it is in a PlanResult, as the export read them when this was written. */
const FIGURES: [string, string[]][] = [
  ['gpus', ['layout', 'gpus']],
  ['dataParallel', ['layout', 'dataParallel']],
  ['tensorParallel', ['layout', 'tensorParallel']],
  ['pipelineParallel', ['layout', 'pipelineParallel']],
  ['contextParallel', ['layout', 'contextParallel']],
  ['expertParallel', ['layout', 'expertParallel']],
  ['deviceUsedBytes', ['memory', 'perGpu', 'deviceUsedBytes']],
  ['capacityBytes', ['memory', 'perGpu', 'capacityBytes']],
  ['allocatedPeakBytes', ['memory', 'perGpu', 'allocatedPeakBytes']],
  ['stepTimeSeconds', ['performance', 'stepTimeSeconds']],
  ['tokensPerSecond', ['performance', 'tokensPerSecond']],
  ['usdPerMillionTokens', ['cost', 'usdPerMillionTokens']],
];

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
    const pairs = FIGURES.map(
      ([name, path]) => `'${name}', json_extract("result", '$.${path.join('.')}')`,
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
