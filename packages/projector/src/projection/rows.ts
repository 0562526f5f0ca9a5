import {
  type ConversationEvent,
  type ConversationState,
  type GroupMembersJoined,
  isConversationGroupDefinition,
  type MessageRecorded,
  namedOwners,
  streams,
  upcast,
} from '@im/domain';
import { sql } from 'kysely';
import {
  fromRow,
  groupStateColumns,
  type PartitionGroup,
  stateColumns,
  upsertGroups,
  upsertStates,
} from '../read-model/columns.ts';
import {
  type ConversationGroupRow,
  deleteConversationGroups,
  upsertConversationGroups,
} from '../read-model/conversation-group-rows.ts';
import type { Db } from '../read-model/schema.ts';
import { conversationOf, type JoinSeeds, type LoggedEvent } from './evolve-batch.ts';
import type { PartitionScope } from './scope.ts';
import { createStateSet, type StateSet } from './state-set.ts';

/**
 * Where a read model's rows are: the conversation table, the group table beside it, and the
 * owners' conversation groups.
 */
export interface ReadModelTables {
  items: string;
  groups: string;
  conversationGroups: string;
}

export const LIVE_TABLES: ReadModelTables = {
  items: 'conversation_item',
  groups: 'group_state',
  conversationGroups: 'conversation_group',
};

/** Every table of a read model, for what is done to each alike. */
export const tablesOf = (tables: ReadModelTables): string[] => [
  tables.items,
  tables.groups,
  tables.conversationGroups,
];

/**
 * Reads into a new state set, for the partitions of `scope`, every row the events name and each
 * partition's group row of their group conversations: all that evolving them reads. Answers with
 * it the join seeds (see JoinSeeds) of the joins whose members' partitions have no group row.
 */
export const loadStates = async (
  db: Db,
  tables: ReadModelTables,
  stored: readonly LoggedEvent[],
  scope: PartitionScope,
): Promise<{ states: StateSet; seeds: JoinSeeds }> => {
  const groups = new Set<string>();
  const owners: string[] = [];
  const conversations: string[] = [];
  for (const { event, position } of stored) {
    // A conversation group's fields are written whole: nothing of it is read to evolve it.
    if (isConversationGroupDefinition(event)) continue;
    const conversationID = conversationOf(event);
    if (conversationID.startsWith('sg_')) groups.add(conversationID);
    for (const owner of namedOwners(event)) {
      if (!scope.owns(owner, position)) continue;
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
    sql<PartitionGroup>`
      SELECT ${groupStateColumns} FROM ${sql.table(tables.groups)}
      WHERE partition = ANY(${[...scope.partitions]}::smallint[])
        AND conversation_id = ANY(${[...groups]}::text[])`.execute(db),
  ]);
  const states = createStateSet();
  for (const row of rows.rows) states.remember(fromRow(row));
  for (const group of groupRows.rows) states.rememberGroup(group);
  return { states, ...(await loadJoinSeeds(db, stored, scope, states)) };
};

/** The joins of the batch that may make a partition's first group row, with their seeds. */
export const loadJoinSeeds = async (
  db: Db,
  stored: readonly LoggedEvent[],
  scope: PartitionScope,
  states: StateSet,
): Promise<{ seeds: JoinSeeds }> => {
  const joins = stored.filter(
    (logged): logged is LoggedEvent & { event: GroupMembersJoined } =>
      logged.event.type === 'GroupMembersJoined' &&
      logged.event.data.userIDs.some(
        (owner) =>
          scope.owns(owner, logged.position) &&
          !states.group(scope.partitionOf(owner), conversationOf(logged.event)),
      ),
  );
  const seeds = new Map<ConversationEvent, MessageRecorded[]>();
  if (joins.length === 0) return { seeds };
  const result = await sql<{
    ordinal: number;
    type: string;
    data: unknown;
    schema_version: number;
  }>`
    SELECT w.ordinal, e.type, e.data, e.schema_version
    FROM unnest(${joins.map((j) => streams.messages(conversationOf(j.event)))}::text[],
                ${joins.map((j) => j.event.data.maxSeq)}::bigint[],
                ${joins.map((j) => j.position.transactionId)}::xid8[],
                ${joins.map((j) => j.position.globalPosition)}::bigint[])
         WITH ORDINALITY AS w(stream_id, max_seq, tx, global_position, ordinal)
    JOIN events e ON e.stream_id = w.stream_id AND e.stream_position > w.max_seq
      AND (e.transaction_id, e.global_position) < (w.tx, w.global_position)
    ORDER BY w.ordinal, e.stream_position`.execute(db);
  for (const row of result.rows) {
    const join = joins[Number(row.ordinal) - 1] as LoggedEvent;
    const event = upcast({ type: row.type, data: row.data, schemaVersion: row.schema_version });
    if (event.type !== 'MessageRecorded') continue;
    seeds.set(join.event, [...(seeds.get(join.event) ?? []), event]);
  }
  return { seeds };
};

const WRITE_CHUNK = 5000;

/** Upserts the rows and the group rows, a few thousand rows a statement. */
export const writeStates = async (
  db: Db,
  tables: ReadModelTables,
  changed: {
    rows: readonly ConversationState[];
    groups: readonly PartitionGroup[];
    conversationGroups?: readonly ConversationGroupRow[];
  },
  partitions: number,
): Promise<void> => {
  for (let start = 0; start < changed.rows.length; start += WRITE_CHUNK) {
    const rows = changed.rows.slice(start, start + WRITE_CHUNK);
    await upsertStates(tables.items, rows, { partitions }).execute(db);
  }
  if (changed.groups.length > 0) await upsertGroups(tables.groups, changed.groups).execute(db);
  await writeConversationGroups(db, tables, changed.conversationGroups ?? []);
};

/** The conversation groups' rows as they are after a batch: deleted ones go, the others are put. */
const writeConversationGroups = async (
  db: Db,
  tables: ReadModelTables,
  rows: readonly ConversationGroupRow[],
) => {
  const kept = rows.filter((row) => !row.deleted);
  const gone = rows.filter((row) => row.deleted);
  if (gone.length > 0) await deleteConversationGroups(tables.conversationGroups, gone).execute(db);
  if (kept.length > 0) await upsertConversationGroups(tables.conversationGroups, kept).execute(db);
};

/**
 * Rows per statement of a bulk load: PostgreSQL took longer over the same rows in statements of
 * WRITE_CHUNK (README, Performance).
 */
const LOAD_CHUNK = 1000;

/**
 * Inserts rows that are not in the tables yet (a rebuild's bulk load into its empty scratch
 * tables): no conflict check for the conversation rows, and several statements at once on the
 * pool's connections.
 */
export const insertNewStates = async (
  db: Db,
  tables: ReadModelTables,
  states: StateSet,
  options: { partitions: number; concurrency?: number },
): Promise<void> => {
  const rows = [...states.values()];
  let next = 0;
  const insertChunks = async () => {
    for (let start = next; start < rows.length; start = next) {
      next += LOAD_CHUNK;
      await upsertStates(tables.items, rows.slice(start, start + LOAD_CHUNK), {
        partitions: options.partitions,
        newRows: true,
      }).execute(db);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, insertChunks));
  const groups = [...states.groupValues()];
  for (let start = 0; start < groups.length; start += WRITE_CHUNK)
    await upsertGroups(tables.groups, groups.slice(start, start + WRITE_CHUNK)).execute(db);
  await writeConversationGroups(db, tables, [...states.conversationGroupValues()]);
};
