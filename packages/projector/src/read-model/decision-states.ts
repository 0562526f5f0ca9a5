import { type ConversationState, groupConversationID, partitionOf, streams } from '@im/domain';
import { LOG_START, type LogPosition } from '@im/eventstore';
import { type RawBuilder, sql } from 'kysely';
import { derivedStateColumns, fromRow, groupJoin, groupJoinEach } from './columns.ts';
import type { Db } from './schema.ts';

/**
 * What a command decides on, read in one snapshot: the states, the version of the stream it
 * appends to, the projector's checkpoint, and the last event of every stream the states are made
 * of. The states hold every event of those streams exactly when `latest` is at or before
 * `checkpoint` (the projector writes rows and checkpoint in one transaction).
 */
export interface DecisionRead<State> {
  state: State;
  version: number;
  checkpoint: LogPosition;
  /** The last event among the streams read, in the log's order; none when they have none. */
  latest: LogPosition | undefined;
}

type PositionPair = [string, number];
const toPosition = (pair: PositionPair | null): LogPosition | undefined =>
  pair ? { transactionId: pair[0], globalPosition: Number(pair[1]) } : undefined;

/** The checkpoint of the partition the SQL expression `partition` names. */
const checkpointOf = (partition: RawBuilder<unknown>) => sql`(
  SELECT json_build_array(transaction_id::text, global_position)
  FROM checkpoints WHERE name = 'projector:' || ${partition})`;

/** The checkpoint of the partition furthest behind, or none while one has none yet. */
const earliestCheckpoint = (partitions: number) => sql`(
  SELECT CASE WHEN count(*) = ${partitions}
    THEN (array_agg(json_build_array(transaction_id::text, global_position)
                    ORDER BY transaction_id, global_position))[1] END
  FROM checkpoints WHERE name LIKE 'projector:%')`;

/** The last event, in the log's order, among the streams named by the text[] `streamIds`. */
const latestOf = (streamIds: RawBuilder<unknown>) => sql`(
  SELECT json_build_array(last.transaction_id::text, last.global_position)
  FROM unnest(${streamIds}) AS wanted(stream_id)
  CROSS JOIN LATERAL (
    SELECT transaction_id, global_position FROM events e
    WHERE e.stream_id = wanted.stream_id ORDER BY e.stream_position DESC LIMIT 1
  ) last
  ORDER BY last.transaction_id DESC, last.global_position DESC LIMIT 1)`;

/** The streams an owner's conversation is made of: the owner's, its messages', its group's. */
export const streamsOfConversation = (owner: string, conversationID: string) => ({
  owner: streams.owner(owner),
  messages: streams.messages(conversationID),
  group: conversationID.startsWith('sg_') ? streams.group(conversationID.slice(3)) : null,
});

export interface ConversationKey {
  owner: string;
  conversationID: string;
}

/**
 * For each key, the owner's conversation (undefined when they have none), the owner stream's
 * version, and the freshness facts of DecisionRead: one statement for any number of keys.
 */
export const decisionStatesAt = async (
  db: Db,
  keys: readonly ConversationKey[],
  partitions: number,
): Promise<Array<DecisionRead<ConversationState | undefined>>> => {
  const made = keys.map((key) => streamsOfConversation(key.owner, key.conversationID));
  const result = await sql<
    Record<string, unknown> & {
      owner_stream_version: number | null;
      checkpoint: PositionPair | null;
      latest: PositionPair | null;
    }
  >`
    SELECT s.version AS owner_stream_version, ${checkpointOf(sql`w.partition`)} AS checkpoint,
           ${latestOf(sql`ARRAY[w.owner_stream, w.messages_stream, w.group_stream]`)} AS latest,
           item.*
    FROM unnest(${keys.map((k) => k.owner)}::text[], ${keys.map((k) => k.conversationID)}::text[],
                ${made.map((m) => m.owner)}::text[], ${made.map((m) => m.messages)}::text[],
                ${made.map((m) => m.group)}::text[],
                ${keys.map((k) => partitionOf(k.owner, partitions))}::int[])
         WITH ORDINALITY AS w(o, c, owner_stream, messages_stream, group_stream, partition, ordinal)
    LEFT JOIN streams s ON s.stream_id = w.owner_stream
    LEFT JOIN (SELECT ${derivedStateColumns} FROM conversation_item m ${groupJoinEach()}) item
      ON item."owner" = w.o AND item."conversationID" = w.c
    ORDER BY w.ordinal`.execute(db);
  return result.rows.map(({ owner_stream_version, checkpoint, latest, ...state }) => ({
    state: state.owner === null ? undefined : fromRow(state),
    version: Number(owner_stream_version ?? 0),
    checkpoint: toPosition(checkpoint) ?? LOG_START,
    latest: toPosition(latest),
  }));
};

/**
 * The owner's conversations `where` selects, in one snapshot with the owner stream's version and
 * the freshness facts over the owner's stream and the streams `made` names (a text[] that may
 * read the selected rows as `item`).
 */
const ownerDecisionStates = async (
  db: Db,
  owner: string,
  partitions: number,
  where: RawBuilder<unknown>,
  made: RawBuilder<unknown>,
): Promise<DecisionRead<ConversationState[]>> => {
  const ownerStream = streams.owner(owner);
  const result = await sql<{
    owner_stream_version: number | null;
    checkpoint: PositionPair | null;
    latest: PositionPair | null;
    states: Array<Record<string, unknown>>;
  }>`
    WITH item AS (
      SELECT * FROM (SELECT ${derivedStateColumns} FROM conversation_item m ${groupJoin()}
                     WHERE m.owner = ${owner}) derived
      WHERE ${where})
    SELECT (SELECT version FROM streams WHERE stream_id = ${ownerStream}) AS owner_stream_version,
           ${checkpointOf(sql`${partitionOf(owner, partitions)}::int`)} AS checkpoint,
           ${latestOf(sql`ARRAY[${ownerStream}::text] || ${made}`)} AS latest,
           (SELECT coalesce(json_agg(item), '[]') FROM item) AS states`.execute(db);
  const row = result.rows[0];
  return {
    state: (row?.states ?? []).map(fromRow),
    version: Number(row?.owner_stream_version ?? 0),
    checkpoint: toPosition(row?.checkpoint ?? null) ?? LOG_START,
    latest: toPosition(row?.latest ?? null),
  };
};

/** The owner's conversations among `conversationIDs`, fresh over the streams of all of them. */
export const decisionStatesOf = (
  db: Db,
  owner: string,
  conversationIDs: readonly string[],
  partitions: number,
) => {
  const made = conversationIDs.flatMap((id) => {
    const of = streamsOfConversation(owner, id);
    return of.group ? [of.messages, of.group] : [of.messages];
  });
  return ownerDecisionStates(
    db,
    owner,
    partitions,
    sql`"conversationID" = ANY(${[...conversationIDs]}::text[])`,
    sql`${made}::text[]`,
  );
};

/** The message and group streams of the selected rows, which the decision must be fresh over. */
const streamsOfItems = sql`ARRAY(SELECT ${streams.messages('')} || "conversationID" FROM item
              UNION ALL SELECT ${streams.group('')} || "groupID" FROM item WHERE "groupID" <> '')`;

/** The owner's conversations with something to mark read (unread, an @ flag, a mark). */
export const decisionStatesToMarkRead = (db: Db, owner: string, partitions: number) =>
  ownerDecisionStates(
    db,
    owner,
    partitions,
    sql`("hasReadSeq" < "maxSeq" OR "groupAtType" <> 0 OR "isMarkedUnread")`,
    streamsOfItems,
  );

/** The owner's conversations in one of their conversation groups (SPEC §8.1 rule 17). */
export const decisionStatesInConversationGroup = (
  db: Db,
  owner: string,
  conversationGroupID: string,
  partitions: number,
) =>
  ownerDecisionStates(
    db,
    owner,
    partitions,
    sql`${conversationGroupID}::text = ANY("conversationGroupIDs")`,
    streamsOfItems,
  );

/** The owner's listed conversations (SPEC §8.1 rule 20: what hiding all hides). */
export const decisionStatesListed = (db: Db, owner: string, partitions: number) =>
  ownerDecisionStates(db, owner, partitions, sql`NOT "isHidden"`, streamsOfItems);

/**
 * Who is in a group now and the group's maxSeq (its message stream's version), with the group
 * stream's version and the freshness facts over it (members are in every partition: the
 * checkpoint is the one furthest behind). A join at that maxSeq lets the members see
 * every message after it, whenever those commit: their views follow the group's row.
 */
export const decisionMembersOf = async (
  db: Db,
  groupID: string,
  partitions: number,
): Promise<DecisionRead<{ members: ReadonlySet<string>; maxSeq: number }>> => {
  const groupStream = streams.group(groupID);
  const conversationID = groupConversationID(groupID);
  const result = await sql<{
    version: number | null;
    max_seq: number | null;
    checkpoint: PositionPair | null;
    latest: PositionPair | null;
    members: string[];
  }>`
    SELECT (SELECT version FROM streams WHERE stream_id = ${groupStream}) AS version,
           (SELECT version FROM streams WHERE stream_id = ${streams.messages(conversationID)}) AS max_seq,
           ${earliestCheckpoint(partitions)} AS checkpoint,
           ${latestOf(sql`ARRAY[${groupStream}::text]`)} AS latest,
           ARRAY(SELECT owner FROM conversation_item
                 WHERE conversation_id = ${conversationID} AND NOT is_not_in_group) AS members`.execute(
    db,
  );
  const row = result.rows[0];
  return {
    state: { members: new Set(row?.members ?? []), maxSeq: Number(row?.max_seq ?? 0) },
    version: Number(row?.version ?? 0),
    checkpoint: toPosition(row?.checkpoint ?? null) ?? LOG_START,
    latest: toPosition(row?.latest ?? null),
  };
};
