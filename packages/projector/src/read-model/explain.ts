import {
  type Cause,
  type ConversationItem,
  type ConversationState,
  differs,
  evolve,
  streams,
  toItem,
  unreadContribution,
  upcast,
} from '@im/domain';
import { sql } from 'kysely';
import { fromRow } from './columns.ts';
import { changedStates, statesAt } from './owner-views.ts';
import type { Db } from './schema.ts';

// Answers to "why is this count what it is" (SPEC §8.2 rule 24), from the read model and the log.

const HISTORY = 100;

export interface HistoryEntry {
  /** The owner version the event gave the conversation, as the projector numbered it. */
  version: number;
  time: number;
  type: string;
  cause?: Cause;
  /** Each field the event changed: what it was, what it became. */
  change: Record<string, { from: unknown; to: unknown }>;
}

const INPUTS = [
  'maxSeq',
  'hasReadSeq',
  'minSeq',
  'isNotInGroup',
  'isMarkedUnread',
  'recvMsgOpt',
  'isHidden',
] as const;

/** Why the conversation counts what it counts, in sentences. */
const reasonsOf = (state: ConversationState, item: ConversationItem): string[] => {
  const reasons = [
    `unreadCount = max(0, maxSeq ${state.maxSeq} − max(hasReadSeq ${state.hasReadSeq}, minSeq ${state.minSeq} − 1)) = ${item.unreadCount}`,
  ];
  if (state.minSeq > 1)
    reasons.push(
      `messages below seq ${state.minSeq} are not the owner's to see (joined after them, deleted or cleared)`,
    );
  if (state.isNotInGroup) reasons.push(`left the group: maxSeq stays at ${state.maxSeq}`);
  if (state.isMarkedUnread) reasons.push('marked unread: counts at least 1 in the total');
  if (state.isHidden) reasons.push('hidden: not in the list, not counted in the total');
  if (state.recvMsgOpt !== 0)
    reasons.push(`do not disturb (recvMsgOpt ${state.recvMsgOpt}): not counted in the total`);
  return reasons;
};

/** The fields an event changed, with the unread count among them. */
const changeOf = (before: ConversationState | undefined, after: ConversationState) => {
  const was = before ? toItem(before) : undefined;
  const now = toItem(after);
  const change: HistoryEntry['change'] = {};
  for (const [field, to] of Object.entries(now)) {
    if (field === 'version') continue;
    const from = was?.[field as keyof ConversationItem];
    if (JSON.stringify(from) !== JSON.stringify(to)) change[field] = { from: from ?? null, to };
  }
  return change;
};

type LogRow = {
  tx: string;
  global_position: string;
  type: string;
  data: unknown;
  schema_version: number;
  metadata: { cause?: Cause } | null;
  at: string;
};

/**
 * The events of the log that may change the owner's conversation, in read order: its messages,
 * the owner's commands on it, and, for a group, the owner's joins and leaves.
 */
const eventsOf = async (db: Db, owner: string, conversationID: string): Promise<LogRow[]> => {
  const group = conversationID.startsWith('sg_') ? conversationID.slice(3) : undefined;
  const result = await sql<LogRow>`
    SELECT transaction_id::text AS tx, global_position::text, type, data, schema_version, metadata,
           (extract(epoch FROM created_at) * 1000)::bigint::text AS at
    FROM events
    WHERE stream_id = ${streams.messages(conversationID)}
       OR (stream_id = ${streams.owner(owner)} AND data->>'conversationID' = ${conversationID})
       OR (stream_id = ${group ? streams.group(group) : ''} AND (data::jsonb)->'userIDs' ? ${owner})
    ORDER BY transaction_id, global_position`.execute(db);
  return result.rows;
};

/** The projector's numbers of the events at the rows: how many events the log holds up to each. */
const versionsOf = async (db: Db, rows: readonly LogRow[]): Promise<number[]> => {
  if (rows.length === 0) return [];
  const result = await sql<{ n: string }>`
    SELECT (SELECT count(*) FROM events e
            WHERE (e.transaction_id, e.global_position) > (w.prev_tx::xid8, w.prev_gp)
              AND (e.transaction_id, e.global_position) <= (w.tx::xid8, w.gp))::text AS n
    FROM unnest(${['0', ...rows.slice(0, -1).map((r) => r.tx)]}::text[],
                ${['0', ...rows.slice(0, -1).map((r) => r.global_position)]}::bigint[],
                ${rows.map((r) => r.tx)}::text[], ${rows.map((r) => r.global_position)}::bigint[])
         WITH ORDINALITY AS w(prev_tx, prev_gp, tx, gp, ordinal)
    ORDER BY w.ordinal`.execute(db);
  let version = 0;
  return result.rows.map((row) => {
    version += Number(row.n);
    return version;
  });
};

/** The newest changes the log made to the owner's conversation, newest first. */
const historyOf = async (
  db: Db,
  owner: string,
  conversationID: string,
): Promise<HistoryEntry[]> => {
  let state: ConversationState | undefined;
  const changes: Array<{ row: LogRow; entry: Omit<HistoryEntry, 'version'> }> = [];
  for (const row of await eventsOf(db, owner, conversationID)) {
    const event = upcast({ type: row.type, data: row.data, schemaVersion: row.schema_version });
    const after = evolve(state, event, owner);
    if (after && differs(state, after)) {
      changes.push({
        row,
        entry: {
          time: Number(row.at),
          type: row.type,
          ...(row.metadata?.cause ? { cause: row.metadata.cause } : {}),
          change: changeOf(state, after),
        },
      });
      if (changes.length > HISTORY) changes.shift();
    }
    state = after ?? state;
  }
  const versions = await versionsOf(
    db,
    changes.map((c) => c.row),
  );
  return changes.map((c, i) => ({ version: versions[i] as number, ...c.entry })).reverse();
};

/** explainUnread: the conversation, what its count is made of and why, and its latest history. */
export const explainUnread = async (db: Db, owner: string, conversationID: string) => {
  const [row] = (await statesAt([owner], [conversationID]).execute(db)).rows;
  if (!row) return undefined;
  const state = fromRow(row);
  const conversation = toItem(state);
  const inputs = Object.fromEntries(INPUTS.map((field) => [field, state[field]]));
  return {
    conversation,
    inputs,
    countsInTotal: !state.isHidden && state.recvMsgOpt === 0,
    reasons: reasonsOf(state, conversation),
    history: await historyOf(db, owner, conversationID),
  };
};

/** explainTotal: the conversations the total counts, and those it leaves out with their unread. */
export const explainTotal = async (db: Db, owner: string) => {
  const states = (await changedStates(owner, -1).execute(db)).rows.map(fromRow);
  const counted: Array<{ conversationID: string; unread: number }> = [];
  const excluded: Array<{ conversationID: string; unread: number; reason: string }> = [];
  for (const state of states) {
    const unread = toItem(state).unreadCount;
    const contribution = unreadContribution(state);
    if (contribution > 0)
      counted.push({ conversationID: state.conversationID, unread: contribution });
    else if (unread > 0 || state.isMarkedUnread)
      excluded.push({
        conversationID: state.conversationID,
        unread,
        reason: state.isHidden ? 'hidden' : `doNotDisturb (recvMsgOpt ${state.recvMsgOpt})`,
      });
  }
  return { total: counted.reduce((sum, c) => sum + c.unread, 0), counted, excluded };
};
