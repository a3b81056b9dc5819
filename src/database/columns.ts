// Column conventions shared by the entities, so both database engines hand back the same values.
import type { ValueTransformer } from 'typeorm';

/** Times travel as ISO-8601 UTC text with milliseconds: SQLite stores that text, PostgreSQL a
 * timestamptz that the pg driver returns as a Date, turned back into the same text here. */
export const ISO_TIMESTAMP: ValueTransformer = {
  to: (value: string | undefined) => value,
  from: (value: string | Date | null) => (value instanceof Date ? value.toISOString() : value),
};
