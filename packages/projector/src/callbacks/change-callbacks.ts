import {
  type ConversationGroupItem,
  type ConversationState,
  toItem,
  unreadContribution,
} from '@im/domain';
import { sql } from 'kysely';
import { affectedConversationGroups } from '../projection/conversation-group-changes.ts';
import { derivedStateColumns, fromRow, groupJoin } from '../read-model/columns.ts';
import { conversationGroupsAt } from '../read-model/conversation-groups.ts';
import { statesAt } from '../read-model/owner-views.ts';
import type { Db } from '../read-model/schema.ts';
import { ownerTotals } from '../read-model/totals.ts';
import { type Callback, type CallbackName, changeMsgID } from './callback.ts';
import {
  conversationGroupCallbacks,
  isConversationGroupChange,
} from './conversation-group-callbacks.ts';
import {
  ChangeKind,
  type ConversationChange,
  type GroupFanout,
  type OutboxEntry,
  originOf,
} from './outbox.ts';

type ViewOf = (owner: string, conversationID: string) => ConversationState | undefined;

/**
 * The callbacks of changes, in their order: each conversation as `viewOf` gives it (its latest
 * state: a burst of changes shows the last one in each callback) at its change's version, and
 * the owner's total where the change moved it. A change whose conversation is gone is passed over.
 */
export const callbacksOf = (
  changes: readonly ConversationChange[],
  viewOf: ViewOf,
  totals: ReadonlyMap<string, number>,
  conversationGroups: ReadonlyMap<string, ConversationGroupItem> = new Map(),
): Callback[] => {
  const callbacks: Callback[] = [];
  let origin: ReturnType<typeof originOf> = {};
  const push = (userID: string, version: number, name: CallbackName, data: unknown) =>
    callbacks.push({
      userID,
      version,
      name,
      data,
      msgID: changeMsgID(userID, version, name),
      ...origin,
    });
  const lastOfGroup = lastConversationGroupChanges(changes);
  for (const change of changes) {
    origin = originOf(change);
    if (isConversationGroupChange(change)) {
      if (lastOfGroup.has(change))
        callbacks.push(...conversationGroupCallbacks(change, conversationGroups));
      continue;
    }
    const view = viewOf(change.owner, change.conversationID);
    if (!view) continue;
    const name = change.kind === ChangeKind.entered ? 'OnNewConversation' : 'OnConversationChanged';
    push(change.owner, change.version, name, [toItem(view)]);
    if (change.totalChanged)
      push(
        change.owner,
        change.version,
        'OnTotalUnreadMessageCountChanged',
        totals.get(change.owner) ?? 0,
      );
  }
  return callbacks;
};

/**
 * The group changes of a batch whose callbacks go out: the last of each group's (they all show the
 * group as it is now), and every added or deleted.
 */
const lastConversationGroupChanges = (changes: readonly ConversationChange[]) => {
  const last = new Map<string, ConversationChange>();
  const kept = new Set<ConversationChange>();
  for (const change of changes) {
    if (!isConversationGroupChange(change)) continue;
    if (change.kind !== ChangeKind.conversationGroupChanged) kept.add(change);
    else last.set(`${change.owner}\u0000${change.conversationID}`, change);
  }
  for (const change of last.values()) kept.add(change);
  return kept;
};

/** The owners whose totals the changes moved. */
export const ownersWithTotals = (changes: readonly ConversationChange[]): string[] =>
  changes.filter((change) => change.totalChanged).map((change) => change.owner);

/**
 * The changes group messages made to the views of the members they did not name, as the read
 * model has them now. A member whose row is older than a message saw it arrive after the group's
 * previous maxSeq: listed again if that made it visible (entered), changed otherwise, and its
 * total moved unless muted. A member whose row changed since was named by a later event, whose own
 * callbacks carry the latest state. Each change's view is the member's view now.
 */
const fanoutChanges = async (
  db: Db,
  fanouts: readonly GroupFanout[],
): Promise<{
  changes: Map<GroupFanout, ConversationChange[]>;
  views: Map<string, ConversationState>;
}> => {
  const changes = new Map<GroupFanout, ConversationChange[]>(fanouts.map((f) => [f, []]));
  const views = new Map<string, ConversationState>();
  if (fanouts.length === 0) return { changes, views };
  const result = await sql<
    Record<string, unknown> & { fanout: number; was_hidden: boolean; previous_max: number }
  >`
    SELECT f.ordinal AS fanout, (m.is_hidden AND NOT f.previous_max_seq > m.max_seq) AS was_hidden,
           greatest(m.max_seq, f.previous_max_seq) AS previous_max,
           ${derivedStateColumns}
    FROM unnest(${fanouts.map((f) => f.partition)}::smallint[],
                ${fanouts.map((f) => f.version)}::bigint[],
                ${fanouts.map((f) => f.conversationID)}::text[],
                ${fanouts.map((f) => f.previousMaxSeq)}::bigint[])
         WITH ORDINALITY AS f(partition, version, conversation_id, previous_max_seq, ordinal)
    JOIN conversation_item m ON m.conversation_id = f.conversation_id AND m.partition = f.partition
      AND m.conversation_type = 3 AND NOT m.is_not_in_group AND m.version < f.version
    ${groupJoin()}`.execute(db);
  for (const { fanout: ordinal, was_hidden, previous_max, ...row } of result.rows) {
    const fanout = fanouts[Number(ordinal) - 1] as GroupFanout;
    const view = fromRow(row);
    // The view before the message: a mark that already counted 1 may absorb the first unread.
    const before = { ...view, maxSeq: Number(previous_max), isHidden: was_hidden };
    views.set(key(view.owner, view.conversationID), view);
    const memberChanges = changes.get(fanout) as ConversationChange[];
    for (const conversationGroupID of affectedConversationGroups(before, view))
      memberChanges.push({
        partition: fanout.partition,
        owner: view.owner,
        version: fanout.version,
        conversationID: conversationGroupID,
        kind: ChangeKind.conversationGroupChanged,
        totalChanged: false,
        ...originOf(fanout),
      });
    memberChanges.push({
      partition: fanout.partition,
      owner: view.owner,
      version: fanout.version,
      conversationID: fanout.conversationID,
      kind: was_hidden ? ChangeKind.entered : ChangeKind.changed,
      totalChanged: unreadContribution(view) !== unreadContribution(before),
      ...originOf(fanout),
    });
  }
  return { changes, views };
};

const key = (owner: string, conversationID: string) => `${owner}\u0000${conversationID}`;

/**
 * The callbacks of a batch's outbox entries, in their order: changes by name shown as `viewOf`
 * gives them (from the projector's memory, or read back), group messages expanded to their
 * members from the read model, every total as it is now.
 */
export const callbacksOfEntries = async (
  db: Db,
  entries: readonly OutboxEntry[],
  viewOf: ViewOf,
): Promise<Callback[]> => {
  const fanouts = entries.flatMap((entry) => (entry.type === 'fanout' ? [entry.fanout] : []));
  const expanded = await fanoutChanges(db, fanouts);
  const changes = entries.flatMap((entry) =>
    entry.type === 'change' ? [entry.change] : (expanded.changes.get(entry.fanout) ?? []),
  );
  const totals = await ownerTotals(db, ownersWithTotals(changes));
  const groups = await conversationGroupsAt(
    db,
    changes
      .filter(isConversationGroupChange)
      .map((change) => ({ owner: change.owner, conversationGroupID: change.conversationID })),
  );
  const view: ViewOf = (owner, conversationID) =>
    expanded.views.get(key(owner, conversationID)) ?? viewOf(owner, conversationID);
  return callbacksOf(changes, view, totals, groups);
};

/** A batch's outbox entries, waiting for their callbacks. */
export interface OutboxBatch {
  /** The checkpoint the batch was read after. */
  after: number;
  /** The last outbox row it covers. */
  lastID: number;
  entries: OutboxEntry[];
  /** The views of its changes by name, where the projector had them in memory. */
  viewOf?: ViewOf;
}

/** A batch with its callbacks worked out, and how many of them JetStream already took. */
export interface ReadBatch {
  after: number;
  lastID: number;
  /** The row limit it was read with; 0 for a batch handed over. */
  limit: number;
  callbacks: Callback[];
  /** Callbacks JetStream already took from an earlier, failed attempt: resume after them. */
  from: number;
}

/** The batch's callbacks: changes by name from memory where it has them, else read back. */
export const resolveBatch = async (db: Db, batch: OutboxBatch, limit = 0): Promise<ReadBatch> => {
  let viewOf = batch.viewOf;
  if (!viewOf) {
    const named = batch.entries.flatMap((entry) => (entry.type === 'change' ? [entry.change] : []));
    const views = await statesAt(
      named.map((change) => change.owner),
      named.map((change) => change.conversationID),
    ).execute(db);
    const byKey = new Map(
      views.rows.map(fromRow).map((view) => [key(view.owner, view.conversationID), view]),
    );
    viewOf = (owner, conversationID) => byKey.get(key(owner, conversationID));
  }
  return {
    after: batch.after,
    lastID: batch.lastID,
    limit,
    callbacks: await callbacksOfEntries(db, batch.entries, viewOf),
    from: 0,
  };
};
