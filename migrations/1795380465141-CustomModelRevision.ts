// One counter that every add or delete of a custom model raises in the same transaction, so
// each instance notices another's change with one cheap read and reloads its custom models.
import { MigrationInterface, QueryRunner } from 'typeorm';

export class CustomModelRevision1795380465141 implements MigrationInterface {
  name = 'CustomModelRevision1795380465141';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "custom_model_revision" (
        "id" integer PRIMARY KEY NOT NULL CHECK ("id" = 1),
        "revision" integer NOT NULL
      )`);
    await queryRunner.query(`INSERT INTO "custom_model_revision" ("id", "revision") VALUES (1, 0)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "custom_model_revision"`);
  }
}
