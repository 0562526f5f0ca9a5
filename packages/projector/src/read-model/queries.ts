import { type ConversationItem, type ConversationState, toItem } from '@im/domain';
import { sql } from 'kysely';
import { fromRow } from './columns.ts';
import {
  changedStates,
  type ListPage,
  listedCountOf,
  listedJSON,
  listedStates,
  ownerVersionOf,
  statesAt,
} from './owner-views.ts';
import type { Db } from './schema.ts';
import { ownerTotals } from './totals.ts';

export {
  conversationGroupFieldsOf,
  conversationGroupsAt,
  conversationGroupsOf,
} from './conversation-groups.ts';
export {
  type ConversationKey,
  type DecisionRead,
  decisionMembersOf,
  decisionStatesAt,
  decisionStatesInConversationGroup,
  decisionStatesListed,
  decisionStatesOf,
  decisionStatesToMarkRead,
} from './decision-states.ts';
export { explainTotal, explainUnread, type HistoryEntry } from './explain.ts';

const items = (rows: Record<string, unknown>[]): ConversationItem[] =>
  rows.map((row) => toItem(fromRow(row)));

/** The owner's conversations among `conversationIDs` (each once), derived as queries see them. */
export const getConversationStates = async (
  db: Db,
  owner: string,
  conversationIDs: readonly string[],
): Promise<ConversationState[]> => {
  const unique = [...new Set(conversationIDs)];
  const result = await statesAt(
    unique.map(() => owner),
    unique,
  ).execute(db);
  return result.rows.map(fromRow);
};

/** The conversations at these keys, each owner's own; keys without a row have no state. */
export const getConversationStatesAt = async (
  db: Db,
  keys: ReadonlyArray<{ owner: string; conversationID: string }>,
): Promise<ConversationState[]> => {
  const result = await statesAt(
    keys.map((key) => key.owner),
    keys.map((key) => key.conversationID),
  ).execute(db);
  return result.rows.map(fromRow);
};

/** Listed conversations in list order. */
export const listConversations = async (
  db: Db,
  owner: string,
  page: ListPage,
): Promise<ConversationItem[]> => items((await listedStates(owner, page).execute(db)).rows);

/**
 * The same list as listConversations, as a JSON array text built by PostgreSQL: the reply of the
 * whole-list queries, whose size makes per-row work in JavaScript the cost.
 */
export const listConversationsJSON = async (
  db: Db,
  owner: string,
  page: ListPage,
): Promise<string> => (await listedJSON(owner, page).execute(db)).rows[0]?.items ?? '[]';

/** How many conversations the owner has listed: a paged full sync's whole. */
export const listedCount = async (db: Db, owner: string): Promise<number> => {
  const result = await listedCountOf(owner).execute(db);
  return result.rows[0]?.n ?? 0;
};

/** Unread over listed, not muted conversations (SPEC §2 "Total unread"). */
export const totalUnread = async (db: Db, owner: string): Promise<number> =>
  (await ownerTotals(db, [owner])).get(owner) ?? 0;

/** The owner's version: the highest version of any of their conversations, 0 before any. */
export const ownerVersion = async (db: Db, owner: string): Promise<number> => {
  const result = await sql<{ version: number }>`
    SELECT ${ownerVersionOf(sql`${owner}`)} AS version`.execute(db);
  return Number(result.rows[0]?.version ?? 0);
};

/** Conversations changed after `sinceVersion`, hidden or not: what an incremental sync answers. */
export const changedSince = async (
  db: Db,
  owner: string,
  sinceVersion: number,
): Promise<ConversationItem[]> =>
  items((await changedStates(owner, sinceVersion).execute(db)).rows);
