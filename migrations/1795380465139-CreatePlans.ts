// Saved plans and their tags; indexes serve the list filters (model, gpu, fits, tag) and order.
// SQLite keeps JSON as text and times as ISO-8601 text (rowid orders same-millisecond saves);
// PostgreSQL keeps JSON as jsonb, times as timestamptz, and an identity column for that order.
import { MigrationInterface, QueryRunner } from 'typeorm';

const SQLITE_PLANS = `
  CREATE TABLE "plans" (
    "id" text PRIMARY KEY NOT NULL,
    "name" text NOT NULL,
    "tags" text NOT NULL,
    "model_id" text NOT NULL,
    "gpu_id" text NOT NULL,
    "fits" integer NOT NULL CHECK ("fits" IN (0, 1)),
    "engine_version" text NOT NULL,
    "request" text NOT NULL,
    "result" text NOT NULL,
    "notes" text,
    "gpu_hours" real,
    "total_usd" real,
    "created_at" text NOT NULL
  )`;

const POSTGRES_PLANS = `
  CREATE TABLE "plans" (
    "id" text PRIMARY KEY NOT NULL,
    "seq" bigint GENERATED ALWAYS AS IDENTITY,
    "name" text NOT NULL,
    "tags" jsonb NOT NULL,
    "model_id" text NOT NULL,
    "gpu_id" text NOT NULL,
    "fits" smallint NOT NULL CHECK ("fits" IN (0, 1)),
    "engine_version" text NOT NULL,
    "request" jsonb NOT NULL,
    "result" jsonb NOT NULL,
    "notes" text,
    "gpu_hours" double precision,
    "total_usd" double precision,
    "created_at" timestamptz NOT NULL
  )`;

export class CreatePlans1795380465139 implements MigrationInterface {
  name = 'CreatePlans1795380465139';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    await queryRunner.query(postgres ? POSTGRES_PLANS : SQLITE_PLANS);
    // SQLite appends the rowid to every index entry; PostgreSQL names its tie-breaker.
    const order = postgres ? '"created_at", "seq"' : '"created_at"';
    await queryRunner.query(`CREATE INDEX "idx_plans_created_at" ON "plans" (${order})`);
    await queryRunner.query(`CREATE INDEX "idx_plans_model_id" ON "plans" ("model_id", ${order})`);
    await queryRunner.query(`CREATE INDEX "idx_plans_gpu_id" ON "plans" ("gpu_id", ${order})`);
    await queryRunner.query(`CREATE INDEX "idx_plans_fits" ON "plans" ("fits", ${order})`);
    await queryRunner.query(`
      CREATE TABLE "plan_tags" (
        "plan_id" text NOT NULL REFERENCES "plans" ("id") ON DELETE CASCADE,
        "tag" text NOT NULL,
        PRIMARY KEY ("plan_id", "tag")
      )`);
    await queryRunner.query(`CREATE INDEX "idx_plan_tags_tag" ON "plan_tags" ("tag", "plan_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "plan_tags"`);
    await queryRunner.query(`DROP TABLE "plans"`);
  }
}
