// Custom models added through POST /models, read by every instance from this table.
import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateCustomModels1795380465140 implements MigrationInterface {
  name = 'CreateCustomModels1795380465140';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const json = postgres ? 'jsonb' : 'text';
    await queryRunner.query(`
      CREATE TABLE "custom_models" (
        "id" text PRIMARY KEY NOT NULL,
        "config" ${json} NOT NULL,
        "architecture" ${json} NOT NULL,
        "created_at" ${postgres ? 'timestamptz' : 'text'} NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "custom_models"`);
  }
}
