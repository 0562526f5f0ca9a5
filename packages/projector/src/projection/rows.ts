import type { ConversationState, GroupState } from '@im/domain';
import { namedOwners } from '@im/domain';
import { sql } from 'kysely';
import {
  fromRow,
  groupStateColumns,
  stateColumns,
  upsertGroups,
  upsertStates,
} from '../read-model/columns.ts';
import type { Db } from '../read-model/schema.ts';
import { conversationOf, type LoggedEvent } from './evolve-batch.ts';
import { createStateSet, type StateSet } from './state-set.ts';

/** Where a read model's rows are: the conversation table and the group table beside it. */
export interface ReadModelTables {
  items: string;
  groups: string;
}

export const LIVE_TABLES: ReadModelTables = { items: 'conversation_item', groups: 'group_state' };

/**
 * Reads into a new state set every row the events name and the group row of each of their group
 * conversations: all that evolving them reads.
 */
export const loadStates = async (
  db: Db,
  tables: ReadModelTables,
  stored: readonly LoggedEvent[],
): Promise<StateSet> => {
  const groups = new Set<string>();
  const owners: string[] = [];
  const conversations: string[] = [];
  for (const { event } of stored) {
    const conversationID = conversationOf(event);
    if (conversationID.startsWith('sg_')) groups.add(conversationID);
    for (const owner of namedOwners(event)) {
      owners.push(owner);
      conversations.push(conversationID);
    }
  }
  const { items } = tables;
  const [rows, groupRows] = await Promise.all([
    sql<Record<string, unknown>>`
      SELECT ${stateColumns} FROM ${sql.table(items)}
      JOIN unnest(${owners}::text[], ${conversations}::text[]) AS wanted(o, c)
        ON owner = wanted.o AND conversation_id = wanted.c`.execute(db),
    sql<GroupState>`
      SELECT ${groupStateColumns} FROM ${sql.table(tables.groups)}
      WHERE partition = 0 AND conversation_id = ANY(${[...groups]}::text[])`.execute(db),
  ]);
  const states = createStateSet();
  for (const row of rows.rows) states.remember(fromRow(row));
  for (const group of groupRows.rows) states.rememberGroup(group);
  return states;
};

const WRITE_CHUNK = 5000;

/** Upserts the rows and the group rows, a few thousand rows a statement. */
export const writeStates = async (
  db: Db,
  tables: ReadModelTables,
  changed: { rows: readonly ConversationState[]; groups: readonly GroupState[] },
): Promise<void> => {
  for (let start = 0; start < changed.rows.length; start += WRITE_CHUNK) {
    await upsertStates(tables.items, changed.rows.slice(start, start + WRITE_CHUNK)).execute(db);
  }
  if (changed.groups.length > 0) await upsertGroups(tables.groups, changed.groups).execute(db);
};

/**
 * Inserts rows that are not in the tables yet (a rebuild's bulk load into its empty scratch
 * tables): no conflict check for the conversation rows, and several statements at once on the
 * pool's connections.
 */
export const insertNewStates = async (
  db: Db,
  tables: ReadModelTables,
  states: StateSet,
  options: { concurrency?: number } = {},
): Promise<void> => {
  const rows = [...states.values()];
  let next = 0;
  const insertChunks = async () => {
    for (let start = next; start < rows.length; start = next) {
      next += WRITE_CHUNK;
      await upsertStates(tables.items, rows.slice(start, start + WRITE_CHUNK), {
        newRows: true,
      }).execute(db);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, insertChunks));
  const groups = [...states.groupValues()];
  for (let start = 0; start < groups.length; start += WRITE_CHUNK)
    await upsertGroups(tables.groups, groups.slice(start, start + WRITE_CHUNK)).execute(db);
};
