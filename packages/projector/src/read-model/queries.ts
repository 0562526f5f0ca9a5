import {
  type ConversationItem,
  type ConversationState,
  type ListPosition,
  toItem,
} from '@im/domain';
import { sql } from 'kysely';
import { fromRow, itemColumns, stateColumns } from './columns.ts';
import type { Db } from './schema.ts';

export {
  type ConversationKey,
  type DecisionRead,
  decisionMembersOf,
  decisionStatesAt,
  decisionStatesOf,
  decisionStatesToMarkRead,
} from './decision-states.ts';

const TABLE = sql.table('conversation_item');
const LIST_ORDER = sql`list_block, list_time, conversation_id`;
const items = (rows: Record<string, unknown>[]): ConversationItem[] =>
  rows.map((row) => toItem(fromRow(row)));

export const getConversationStates = async (
  db: Db,
  owner: string,
  conversationIDs: readonly string[],
): Promise<ConversationState[]> => {
  const result = await sql<Record<string, unknown>>`
    SELECT ${stateColumns} FROM ${TABLE}
    WHERE owner = ${owner} AND conversation_id = ANY(${[...conversationIDs]}::text[])`.execute(db);
  return result.rows.map(fromRow);
};

/** The conversations at these keys, each owner's own; keys without a row have no state. */
export const getConversationStatesAt = async (
  db: Db,
  keys: ReadonlyArray<{ owner: string; conversationID: string }>,
): Promise<ConversationState[]> => {
  const result = await sql<Record<string, unknown>>`
    SELECT ${stateColumns} FROM ${TABLE}
    JOIN unnest(${keys.map((key) => key.owner)}::text[], ${keys.map((key) => key.conversationID)}::text[])
      AS wanted(o, c) ON owner = wanted.o AND conversation_id = wanted.c`.execute(db);
  return result.rows.map(fromRow);
};

interface ListPage {
  limit?: number;
  /** Continues a keyset page after this position. */
  after?: ListPosition;
  /** Skips this many: the split query's offset paging. */
  offset?: number;
}

/** FROM … ORDER BY … LIMIT: the owner's listed conversations in list order, one page of them. */
const listedPage = (owner: string, page: ListPage) => {
  const after = page.after
    ? sql`AND (list_block, list_time, conversation_id) >
          (${page.after.isPinned ? 0 : 1}::smallint, ${-page.after.sortTime}::bigint, ${page.after.conversationID})`
    : sql``;
  const limit = page.limit === undefined ? sql`` : sql`LIMIT ${page.limit}`;
  const offset = page.offset ? sql`OFFSET ${page.offset}` : sql``;
  return sql`FROM ${TABLE} WHERE owner = ${owner} AND NOT is_hidden ${after}
    ORDER BY ${LIST_ORDER} ${limit} ${offset}`;
};

/** Listed conversations in list order. */
export const listConversations = async (
  db: Db,
  owner: string,
  page: ListPage,
): Promise<ConversationItem[]> => {
  const result = await sql<Record<string, unknown>>`
    SELECT ${stateColumns} ${listedPage(owner, page)}`.execute(db);
  return items(result.rows);
};

/**
 * The same list as listConversations, as a JSON array text built by PostgreSQL: the reply of the
 * whole-list queries, whose size makes per-row work in JavaScript the cost.
 */
export const listConversationsJSON = async (
  db: Db,
  owner: string,
  page: ListPage,
): Promise<string> => {
  // A plain aggregate takes its rows in the sorted subquery's order (the way PostgreSQL's manual
  // gives); ORDER BY inside json_agg would sort the wide rows once more, at twice the cost.
  const result = await sql<{ items: string }>`
    SELECT coalesce(json_agg(page), '[]')::text AS items FROM (
      SELECT ${itemColumns} ${listedPage(owner, page)}
    ) page`.execute(db);
  return result.rows[0]?.items ?? '[]';
};

/** Unread over listed, not muted conversations (SPEC §2 "Total unread"), as the projector keeps it. */
export const totalUnread = async (db: Db, owner: string): Promise<number> => {
  const row = await db
    .selectFrom('owner_unread')
    .select('total')
    .where('owner', '=', owner)
    .executeTakeFirst();
  return row?.total ?? 0;
};

/** The owner's version: the highest version of any of their conversations, 0 before any. */
export const ownerVersion = async (db: Db, owner: string): Promise<number> => {
  const row = await db
    .selectFrom('conversation_item')
    .select((eb) => eb.fn.max('version').as('version'))
    .where('owner', '=', owner)
    .executeTakeFirst();
  return row?.version ?? 0;
};

/** Conversations changed after `sinceVersion`, hidden or not: what an incremental sync answers. */
export const changedSince = async (
  db: Db,
  owner: string,
  sinceVersion: number,
): Promise<ConversationItem[]> => {
  const result = await sql<Record<string, unknown>>`
    SELECT ${stateColumns} FROM ${TABLE} WHERE owner = ${owner} AND version > ${sinceVersion}
    ORDER BY version`.execute(db);
  return items(result.rows);
};
