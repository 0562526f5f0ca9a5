import { type ConversationState, unreadContribution } from '@im/domain';
import { sql } from 'kysely';
import { affectedConversationGroups } from '../projection/conversation-group-changes.ts';
import { derivedStateColumns, fromRow, groupJoin } from '../read-model/columns.ts';
import type { Db } from '../read-model/schema.ts';
import { ChangeKind, type ConversationChange, type GroupFanout, originOf } from './outbox.ts';

/** A group message, and the member after whom its expansion goes on ('' from the first). */
export interface FanoutFrom {
  fanout: GroupFanout;
  afterOwner: string;
}

/** Members of group messages, in order: each group message's in owner order. */
export interface FanoutPage {
  /** Each member's changes and view now, by group message in the order asked. */
  members: Array<Array<{ owner: string; changes: ConversationChange[]; view: ConversationState }>>;
  /** Whether members are left past those given (the page ends in its last group message given). */
  more: boolean;
}

/** The changes of a member the group message did not name, from its view before and now. */
const memberChanges = (
  fanout: GroupFanout,
  before: ConversationState,
  view: ConversationState,
): ConversationChange[] => {
  const change = (conversationID: string, kind: ChangeKind, totalChanged: boolean) => ({
    partition: fanout.partition,
    owner: view.owner,
    version: fanout.version,
    conversationID,
    kind,
    totalChanged,
    ...originOf(fanout),
  });
  return [
    ...affectedConversationGroups(before, view).map((id) =>
      change(id, ChangeKind.conversationGroupChanged, false),
    ),
    change(
      fanout.conversationID,
      before.isHidden ? ChangeKind.entered : ChangeKind.changed,
      unreadContribution(view) !== unreadContribution(before),
    ),
  ];
};

/**
 * The changes group messages made to the views of the members they did not name, as the read
 * model has them now: `limit` members at most, the first group message's after its `afterOwner`.
 * A member whose row is older than a message saw it arrive after the group's previous maxSeq:
 * listed again if that made it visible (entered), changed otherwise, and its total moved unless
 * muted. A member whose row changed since was named by a later event, whose own callbacks carry
 * the latest state.
 */
export const fanoutChanges = async (
  db: Db,
  from: readonly FanoutFrom[],
  limit: number,
): Promise<FanoutPage> => {
  const page: FanoutPage = { members: from.map(() => []), more: false };
  if (from.length === 0) return page;
  const fanouts = from.map((f) => f.fanout);
  // The page's members by key first, then only their rows with their groups' derived.
  const result = await sql<
    Record<string, unknown> & { fanout: number; was_hidden: boolean; previous_max: number }
  >`
    WITH page AS (
      SELECT f.ordinal, f.previous_max_seq, f.conversation_id, m.owner
      FROM unnest(${fanouts.map((f) => f.partition)}::smallint[],
                  ${fanouts.map((f) => f.version)}::bigint[],
                  ${fanouts.map((f) => f.conversationID)}::text[],
                  ${fanouts.map((f) => f.previousMaxSeq)}::bigint[],
                  ${from.map((f) => f.afterOwner)}::text[])
           WITH ORDINALITY AS f(partition, version, conversation_id, previous_max_seq, after_owner,
                                ordinal)
      CROSS JOIN LATERAL (
        SELECT m.owner FROM conversation_item m
        WHERE m.conversation_id = f.conversation_id AND m.partition = f.partition
          AND m.owner > f.after_owner COLLATE "C"
          AND m.conversation_type = 3 AND NOT m.is_not_in_group AND m.version < f.version
        ORDER BY m.owner LIMIT ${limit + 1}) m
      ORDER BY f.ordinal, m.owner LIMIT ${limit + 1})
    SELECT p.ordinal AS fanout, (m.is_hidden AND NOT p.previous_max_seq > m.max_seq) AS was_hidden,
           greatest(m.max_seq, p.previous_max_seq) AS previous_max,
           ${derivedStateColumns}
    FROM page p
    JOIN conversation_item m ON m.owner = p.owner AND m.conversation_id = p.conversation_id
    ${groupJoin()}
    ORDER BY p.ordinal, m.owner`.execute(db);
  page.more = result.rows.length > limit;
  for (const { fanout: ordinal, was_hidden, previous_max, ...row } of result.rows.slice(0, limit)) {
    const index = Number(ordinal) - 1;
    const fanout = fanouts[index] as GroupFanout;
    const view = fromRow(row);
    // The view before the message: a mark that already counted 1 may absorb the first unread.
    const before = { ...view, maxSeq: Number(previous_max), isHidden: was_hidden };
    page.members[index]?.push({
      owner: view.owner,
      changes: memberChanges(fanout, before, view),
      view,
    });
  }
  return page;
};
