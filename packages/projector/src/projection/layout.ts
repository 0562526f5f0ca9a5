import { MAX_PARTITIONS } from '@im/domain';
import { sql } from 'kysely';
import type { Db } from '../read-model/schema.ts';

/** How the database's projection is split: its number of partitions, fixed until a rebuild. */
export interface ProjectionLayout {
  partitions: number;
}

/** The layout stored, if one is. */
export const readLayout = async (db: Db): Promise<ProjectionLayout | undefined> => {
  const result = await sql<{ partitions: number }>`
    SELECT partitions FROM projection_layout`.execute(db);
  const row = result.rows[0];
  return row ? { partitions: row.partitions } : undefined;
};

/**
 * The database's layout: the stored one, or `wanted` stored now for a database that has none (a
 * new one). A database with data before partitions came has one partition (migration 0103).
 */
export const ensureLayout = async (db: Db, wanted: number): Promise<ProjectionLayout> => {
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > MAX_PARTITIONS)
    throw new RangeError(`partitions: must be an integer from 1 to ${MAX_PARTITIONS}`);
  await sql`INSERT INTO projection_layout (partitions) VALUES (${wanted}) ON CONFLICT DO NOTHING`.execute(
    db,
  );
  return (await readLayout(db)) as ProjectionLayout;
};

/** Changes the layout, in the transaction that switches in a read model built for it. */
export const storeLayout = async (db: Db, layout: ProjectionLayout): Promise<void> => {
  await sql`
    INSERT INTO projection_layout (partitions) VALUES (${layout.partitions})
    ON CONFLICT (singleton) DO UPDATE SET partitions = excluded.partitions`.execute(db);
};
