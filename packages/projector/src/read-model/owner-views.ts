import type { ListPosition } from '@im/domain';
import { type RawBuilder, sql } from 'kysely';
import {
  derivedHidden,
  derivedItemColumns,
  derivedListBlock,
  derivedListTime,
  derivedStateColumns,
  derivedVersion,
  groupJoin,
  groupJoinEach,
  ITEM_FIELDS,
  STATE_FIELDS,
} from './columns.ts';

// An owner's conversations as queries see them: rows of single chats and of groups left as
// they are stored, live group members' rows derived with their group's row. Single chats are
// read along the list index; an owner's group conversations, a few hundred at most, are read by
// their own index and ordered once their keys are derived.

/** For rows that are never a live member's: the group row is none, without a join. */
const NO_GROUP = sql`CROSS JOIN (VALUES (NULL::bigint, NULL::text, NULL::bigint, NULL::bigint,
  NULL::bigint)) AS g(max_seq, latest_msg, latest_msg_send_time, at_all_seq, version)`;

export interface ListPage {
  limit?: number;
  /** Continues a keyset page after this position. */
  after?: ListPosition;
  /** Skips this many: the split query's offset paging. */
  offset?: number;
  /** Only the conversations in this conversation group of the owner's (SPEC §8.1). */
  conversationGroupID?: string;
}

const inGroup = (page: ListPage) =>
  page.conversationGroupID === undefined
    ? sql``
    : sql`AND ${page.conversationGroupID}::text = ANY(m.conversation_group_ids)`;

const afterKeys = (block: RawBuilder<unknown>, time: RawBuilder<unknown>, after?: ListPosition) =>
  after
    ? sql`AND (${block}, ${time}, m.conversation_id) >
        (${after.isPinned ? 0 : 1}::smallint, ${-after.sortTime}::bigint, ${after.conversationID})`
    : sql``;

/**
 * The owner's listed conversations in list order, with `columns` and the list keys (b, t, cid):
 * each branch takes at most the page it could give, then the two are merged.
 */
const listed = (owner: string, columns: RawBuilder<unknown>, page: ListPage) => {
  const take = page.limit === undefined ? sql`` : sql`LIMIT ${page.limit + (page.offset ?? 0)}`;
  const singles = sql`
    SELECT ${columns}, m.list_block AS b, m.list_time AS t, m.conversation_id AS cid
    FROM conversation_item m ${NO_GROUP}
    WHERE m.owner = ${owner} AND m.conversation_type <> 3 AND NOT m.is_hidden ${inGroup(page)}
      ${afterKeys(sql`m.list_block`, sql`m.list_time`, page.after)}
    ORDER BY m.list_block, m.list_time, m.conversation_id ${take}`;
  const groups = sql`
    SELECT ${columns}, ${derivedListBlock} AS b, ${derivedListTime} AS t, m.conversation_id AS cid
    FROM conversation_item m ${groupJoin()}
    WHERE m.owner = ${owner} AND m.conversation_type = 3 AND NOT ${derivedHidden} ${inGroup(page)}
      ${afterKeys(derivedListBlock, derivedListTime, page.after)}
    ORDER BY b, t, cid ${take}`;
  const limit = page.limit === undefined ? sql`` : sql`LIMIT ${page.limit}`;
  const offset = page.offset ? sql`OFFSET ${page.offset}` : sql``;
  return sql`SELECT * FROM ((${singles}) UNION ALL (${groups})) listed
    ORDER BY b, t, cid ${limit} ${offset}`;
};

/** How many conversations the owner has listed: the list's keys alone, counted. */
export const listedCountOf = (owner: string) =>
  sql<{ n: number }>`SELECT count(*)::int AS n FROM (
    ${listed(owner, sql`m.conversation_id`, {})}) page`;

/** The owner's listed conversations as states, in list order. */
export const listedStates = (owner: string, page: ListPage) =>
  sql<Record<string, unknown>>`SELECT ${sql.raw(STATE_FIELDS)} FROM (
    ${listed(owner, derivedStateColumns, page)}) page`;

/**
 * The owner's listed conversations as one JSON array text built by PostgreSQL: a plain aggregate
 * takes its rows in the sorted subquery's order (the way PostgreSQL's manual gives); ORDER BY
 * inside json_agg would sort the wide rows once more.
 */
export const listedJSON = (owner: string, page: ListPage) =>
  sql<{ items: string }>`SELECT coalesce(json_agg(page), '[]')::text AS items FROM (
    SELECT ${sql.raw(ITEM_FIELDS)} FROM (${listed(owner, derivedItemColumns, page)}) ordered
  ) page`;

/** The owner's version as an SQL expression: the highest derived version of any conversation. */
export const ownerVersionOf = (owner: RawBuilder<unknown>) => sql<number>`greatest(
    (SELECT max(version) FROM conversation_item WHERE owner = ${owner}),
    (SELECT max(${derivedVersion})
     FROM conversation_item m ${groupJoin()}
     WHERE m.owner = ${owner} AND m.conversation_type = 3 AND NOT m.is_not_in_group),
    (SELECT max(version) FROM conversation_group WHERE owner = ${owner}), 0)`;

/** The owner's conversations whose derived version is after `sinceVersion`, in version order. */
export const changedStates = (owner: string, sinceVersion: number) =>
  sql<Record<string, unknown>>`SELECT * FROM (
    (SELECT ${derivedStateColumns} FROM conversation_item m ${NO_GROUP}
     WHERE m.owner = ${owner} AND m.version > ${sinceVersion}
       AND NOT (m.conversation_type = 3 AND NOT m.is_not_in_group))
    UNION ALL
    (SELECT ${derivedStateColumns} FROM conversation_item m ${groupJoin()}
     WHERE m.owner = ${owner} AND m.conversation_type = 3 AND NOT m.is_not_in_group)
  ) changed WHERE "version" > ${sinceVersion} ORDER BY "version"`;

/** The conversations at the keys, as states: each owner's own, derived. */
export const statesAt = (owners: readonly string[], conversationIDs: readonly string[]) =>
  sql<Record<string, unknown>>`
    SELECT ${derivedStateColumns} FROM conversation_item m ${groupJoinEach()}
    JOIN unnest(${owners}::text[], ${conversationIDs}::text[]) AS wanted(o, c)
      ON m.owner = wanted.o AND m.conversation_id = wanted.c`;
