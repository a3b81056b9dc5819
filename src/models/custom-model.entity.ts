// Rows of `custom_models`: models users added, kept as the config fields the planner reads.
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { ISO_TIMESTAMP } from '../database/columns';
import type { ModelArchitecture } from '../engine';

@Entity({ name: 'custom_models' })
export class CustomModelEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  /** The config.json fields the architecture was derived from (ignored keys are not kept). */
  @Column({ type: 'simple-json' })
  config: Record<string, unknown>;

  /** The architecture derived when the model was added (kept for inspection and audits). */
  @Column({ type: 'simple-json' })
  architecture: ModelArchitecture;

  @Column({ name: 'created_at', type: 'text', transformer: ISO_TIMESTAMP })
  createdAt: string;
}
