// One row per (plan, tag): filtering by tag is an exact match on an indexed column, not a LIKE.
import { Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'plan_tags' })
export class PlanTagEntity {
  @PrimaryColumn({ name: 'plan_id', type: 'text' })
  planId: string;

  @PrimaryColumn({ type: 'text' })
  tag: string;
}
