// Custom models added through POST /models, loaded into the catalog at boot.
import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateCustomModels1795380465140 implements MigrationInterface {
  name = 'CreateCustomModels1795380465140';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "custom_models" (
        "id" text PRIMARY KEY NOT NULL,
        "config" text NOT NULL,
        "architecture" text NOT NULL,
        "created_at" text NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "custom_models"`);
  }
}
