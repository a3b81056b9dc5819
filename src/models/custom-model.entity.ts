// Rows of `custom_models`: models users added, kept as the config.json they sent.
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'custom_models' })
export class CustomModelEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  /** The Hugging Face config.json as sent; the architecture is derived from it at boot. */
  @Column({ type: 'text' })
  config: string;

  /** The architecture derived when the model was added (kept for inspection and audits). */
  @Column({ type: 'text' })
  architecture: string;

  @Column({ name: 'created_at', type: 'text' })
  createdAt: string;
}
