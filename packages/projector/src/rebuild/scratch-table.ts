import { sql } from 'kysely';
import { LIVE_TABLES, type ReadModelTables, tablesOf } from '../projection/rows.ts';
import {
  createConversationGroupTable,
  createConversationTable,
  createGroupTable,
} from '../read-model/migrations.ts';
import type { Db } from '../read-model/schema.ts';

export interface ScratchTable {
  /** The conversation table's name. */
  name: string;
  /** Its tables: the conversation table and the group table beside it. */
  tables: ReadModelTables;
  /** Builds the secondary indexes that creation left out; a bulk load is faster without them. */
  createIndexes(): Promise<void>;
  /**
   * Vacuums the tables before they serve: a table that serves straight after a bulk load has
   * every page's hint bits and visibility to set on its first reads and autovacuum's visit to
   * come, which slowed the first minute of load after a rebuild.
   */
  prepareToServe(): Promise<void>;
  drop(): Promise<void>;
}

/**
 * Tables to build a read model in, beside the live ones: created by the same definitions, with
 * the conversation table's secondary indexes held back until the bulk load is done. Tables that
 * will serve are logged from the start: making an unlogged table logged rewrites it whole, which
 * cost more than logging its load. Tables that are only compared or copied stay unlogged.
 */
export const createScratchTable = async (
  db: Db,
  name: string,
  options: { serves: boolean },
): Promise<ScratchTable> => {
  const tables = {
    items: name,
    groups: `${name}_group_state`,
    conversationGroups: `${name}_conversation_group`,
  };
  await createConversationTable(db, name);
  await createGroupTable(db, tables.groups);
  await createConversationGroupTable(db, tables.conversationGroups);
  if (!options.serves)
    for (const table of tablesOf(tables))
      await sql`ALTER TABLE ${sql.table(table)} SET UNLOGGED`.execute(db);
  const secondary = await sql<{ indexname: string; indexdef: string }>`
    SELECT i.indexname, i.indexdef FROM pg_indexes i
    WHERE i.schemaname = current_schema() AND i.tablename = ${name}
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname
                      AND c.conrelid = ${name}::regclass)`.execute(db);
  for (const index of secondary.rows) await sql`DROP INDEX ${sql.id(index.indexname)}`.execute(db);
  let indexed = false;
  return {
    name,
    tables,
    async createIndexes() {
      if (indexed) return;
      for (const index of secondary.rows) await sql.raw(index.indexdef).execute(db);
      await sql`ANALYZE ${sql.table(name)}`.execute(db);
      indexed = true;
    },
    async prepareToServe() {
      for (const table of tablesOf(tables))
        await sql`VACUUM (ANALYZE) ${sql.table(table)}`.execute(db);
    },
    async drop() {
      for (const table of tablesOf(tables))
        await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
    },
  };
};

/**
 * Puts the scratch tables in the places of the live ones, inside the caller's transaction: the
 * old tables go, and the new ones and their indexes take the live names.
 */
export const replaceTables = async (db: Db, scratch: ReadModelTables): Promise<void> => {
  await replaceTable(db, LIVE_TABLES.items, scratch.items);
  await replaceTable(db, LIVE_TABLES.groups, scratch.groups);
  await replaceTable(db, LIVE_TABLES.conversationGroups, scratch.conversationGroups);
};

/**
 * Puts `scratch` in the place of `live`: the old table goes, and the new one and its indexes take
 * the live names, so queries name the same things.
 */
const replaceTable = async (db: Db, live: string, scratch: string): Promise<void> => {
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
