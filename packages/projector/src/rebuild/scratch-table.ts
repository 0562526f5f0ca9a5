import { sql } from 'kysely';
import { createConversationTable } from '../read-model/migrations.ts';
import type { Db } from '../read-model/schema.ts';

export interface ScratchTable {
  name: string;
  /** Builds the secondary indexes that creation left out; a bulk load is faster without them. */
  createIndexes(): Promise<void>;
  /** Makes the table crash-safe again before it serves: it is written to the WAL once, whole. */
  setLogged(): Promise<void>;
  drop(): Promise<void>;
}

/**
 * A conversation table to build a read model in, beside the live one: created by the same
 * definition, unlogged, with its secondary indexes held back until the bulk load is done.
 */
export const createScratchTable = async (db: Db, name: string): Promise<ScratchTable> => {
  await createConversationTable(db, name);
  await sql`ALTER TABLE ${sql.table(name)} SET UNLOGGED`.execute(db);
  const secondary = await sql<{ indexname: string; indexdef: string }>`
    SELECT i.indexname, i.indexdef FROM pg_indexes i
    WHERE i.schemaname = current_schema() AND i.tablename = ${name}
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname
                      AND c.conrelid = ${name}::regclass)`.execute(db);
  for (const index of secondary.rows) await sql`DROP INDEX ${sql.id(index.indexname)}`.execute(db);
  let indexed = false;
  return {
    name,
    async createIndexes() {
      if (indexed) return;
      for (const index of secondary.rows) await sql.raw(index.indexdef).execute(db);
      await sql`ANALYZE ${sql.table(name)}`.execute(db);
      indexed = true;
    },
    async setLogged() {
      await sql`ALTER TABLE ${sql.table(name)} SET LOGGED`.execute(db);
    },
    async drop() {
      await sql`DROP TABLE IF EXISTS ${sql.table(name)}`.execute(db);
    },
  };
};

/**
 * Puts `scratch` in the place of `live`, inside the caller's transaction: the old table goes,
 * and the new one and its indexes take the live names, so queries name the same things.
 */
export const replaceTable = async (db: Db, live: string, scratch: string): Promise<void> => {
  await sql`DROP TABLE ${sql.table(live)}`.execute(db);
  await sql`ALTER TABLE ${sql.table(scratch)} RENAME TO ${sql.id(live)}`.execute(db);
  const indexes = await sql<{ indexname: string }>`
    SELECT indexname FROM pg_indexes
    WHERE schemaname = current_schema() AND tablename = ${live}
      AND starts_with(indexname, ${`${scratch}_`})`.execute(db);
  for (const { indexname } of indexes.rows) {
    const renamed = `${live}${indexname.slice(scratch.length)}`;
    await sql`ALTER INDEX ${sql.id(indexname)} RENAME TO ${sql.id(renamed)}`.execute(db);
  }
};
