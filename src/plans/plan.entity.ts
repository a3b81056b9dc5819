// Rows of the `plans` table: the figures users filter on as columns, the rest as JSON text.
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'plans' })
export class PlanEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  name: string;

  /** JSON array of the plan's tags, in the order given; `plan_tags` is what filters read. */
  @Column({ type: 'text' })
  tags: string;

  @Column({ name: 'model_id', type: 'text' })
  modelId: string;

  @Column({ name: 'gpu_id', type: 'text' })
  gpuId: string;

  /** 1 when the worst rank fits its card, 0 otherwise. */
  @Column({ type: 'integer' })
  fits: number;

  @Column({ name: 'engine_version', type: 'text' })
  engineVersion: string;

  /** The request exactly as the user sent it. */
  @Column({ type: 'text' })
  request: string;

  /** The PlanResult as computed when the plan was saved. */
  @Column({ type: 'text' })
  result: string;

  @Column({ type: 'text', nullable: true })
  notes: string | null;

  @Column({ name: 'gpu_hours', type: 'real', nullable: true })
  gpuHours: number | null;

  @Column({ name: 'total_usd', type: 'real', nullable: true })
  totalUsd: number | null;

  /** ISO-8601 UTC timestamp with milliseconds, so text order is time order. */
  @Column({ name: 'created_at', type: 'text' })
  createdAt: string;
}
