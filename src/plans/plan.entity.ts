// Rows of the `plans` table: the figures users filter on as columns, the rest as JSON.
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { ISO_TIMESTAMP } from '../database/columns';
import type { PlanResult } from '../engine';
import type { CsvFigures } from './plans-csv';

/** simple-json columns are text on SQLite and jsonb on PostgreSQL (see the migration). */
@Entity({ name: 'plans' })
export class PlanEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  name: string;

  /** The plan's tags, in the order given; `plan_tags` is what filters read. */
  @Column({ type: 'simple-json' })
  tags: string[];

  @Column({ name: 'model_id', type: 'text' })
  modelId: string;

  @Column({ name: 'gpu_id', type: 'text' })
  gpuId: string;

  /** 1 when the worst rank fits its card, 0 otherwise. */
  @Column({ type: 'integer' })
  fits: number;

  @Column({ name: 'engine_version', type: 'text' })
  engineVersion: string;

  /** The request as the user sent it, less inline-model fields the planner did not read. */
  @Column({ type: 'simple-json' })
  request: unknown;

  /** The PlanResult as computed when the plan was saved. */
  @Column({ type: 'simple-json' })
  result: PlanResult;

  /** The result's figures the CSV export shows (csvFigures), so it need not read `result`. */
  @Column({ type: 'simple-json' })
  figures: CsvFigures;

  @Column({ type: 'text', nullable: true })
  notes: string | null;

  @Column({ name: 'gpu_hours', type: 'real', nullable: true })
  gpuHours: number | null;

  @Column({ name: 'total_usd', type: 'real', nullable: true })
  totalUsd: number | null;

  /** ISO-8601 UTC with milliseconds, so on SQLite text order is time order. */
  @Column({ name: 'created_at', type: 'text', transformer: ISO_TIMESTAMP })
  createdAt: string;
}
