import {
  type ConversationEvent,
  type ConversationState,
  differs,
  evolve,
  namedOwners,
  unreadContribution,
} from '@im/domain';
import type { EventStoreSchema, StoredEvent } from '@im/eventstore';
import { type Kysely, sql } from 'kysely';
import {
  fromRow,
  recordDefinition,
  selectColumns,
  toRow,
  updateFromExcluded,
} from '../read-model/columns.ts';

export const ChangeKind = { entered: 1, changed: 2, left: 3 } as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

/** One owner's conversation changed at a version: what the callbacks are made of. */
export interface ConversationChange {
  owner: string;
  version: number;
  conversationID: string;
  kind: ChangeKind;
  totalChanged: boolean;
}

const key = (owner: string, conversationID: string) => `${owner}\u0000${conversationID}`;

const conversationOf = (event: ConversationEvent): string =>
  event.type === 'GroupMembersJoined' || event.type === 'GroupMembersLeft'
    ? `sg_${event.data.groupID}`
    : event.data.conversationID;

/** A group message touches every member row of the conversation, whoever they are. */
const touchesAllRows = (event: ConversationEvent): boolean =>
  event.type === 'MessageRecorded' && event.data.conversationType === 3;

const changeKind = (
  before: ConversationState | undefined,
  after: ConversationState,
): ChangeKind | undefined => {
  const wasListed = before !== undefined && !before.isHidden;
  if (!after.isHidden) return wasListed ? ChangeKind.changed : ChangeKind.entered;
  return wasListed ? ChangeKind.left : undefined;
};

const loadStates = async (
  db: Kysely<EventStoreSchema>,
  table: string,
  events: readonly ConversationEvent[],
): Promise<ConversationState[]> => {
  const wide = new Set<string>();
  const owners: string[] = [];
  const conversations: string[] = [];
  for (const event of events) {
    const conversationID = conversationOf(event);
    if (touchesAllRows(event)) wide.add(conversationID);
    for (const owner of namedOwners(event)) {
      owners.push(owner);
      conversations.push(conversationID);
    }
  }
  const result = await sql<Record<string, unknown>>`
    SELECT ${selectColumns} FROM ${sql.table(table)} WHERE conversation_id = ANY(${[...wide]}::text[])
    UNION
    SELECT ${selectColumns} FROM ${sql.table(table)}
    JOIN unnest(${owners}::text[], ${conversations}::text[]) AS wanted(o, c)
      ON owner = wanted.o AND conversation_id = wanted.c`.execute(db);
  return result.rows.map(fromRow);
};

export interface BatchResult {
  handled: number;
  changes: ConversationChange[];
}

/**
 * Applies a batch of events to the read model in `table`, set-based: one read of every row the
 * batch touches, the domain's evolve in memory, one upsert of what changed. Each event takes the
 * next number after `handled`; that number is the version of everything it changed.
 */
export const applyBatch = async (
  db: Kysely<EventStoreSchema>,
  table: string,
  stored: readonly StoredEvent[],
  handled: number,
): Promise<BatchResult> => {
  const events = stored.map(
    (event) => ({ type: event.type, data: event.data }) as ConversationEvent,
  );
  const states = new Map<string, ConversationState>();
  const membersOf = new Map<string, Set<string>>();
  const remember = (state: ConversationState) => {
    states.set(key(state.owner, state.conversationID), state);
    const members = membersOf.get(state.conversationID) ?? new Set<string>();
    membersOf.set(state.conversationID, members);
    members.add(state.owner);
  };
  for (const state of await loadStates(db, table, events)) remember(state);

  const dirty = new Set<string>();
  const changes: ConversationChange[] = [];
  let version = handled;
  for (const event of events) {
    version += 1;
    const conversationID = conversationOf(event);
    const owners = touchesAllRows(event)
      ? [...(membersOf.get(conversationID) ?? [])]
      : namedOwners(event);
    for (const owner of owners) {
      const before = states.get(key(owner, conversationID));
      const evolved = evolve(before, event, owner);
      if (!evolved || !differs(before, evolved)) continue;
      const after = { ...evolved, version };
      remember(after);
      dirty.add(key(owner, conversationID));
      const kind = changeKind(before, after);
      if (kind === undefined) continue;
      const totalChanged = (before ? unreadContribution(before) : 0) !== unreadContribution(after);
      changes.push({ owner, version, conversationID, kind, totalChanged });
    }
  }

  if (dirty.size > 0) {
    const rows = [...dirty].map((k) => toRow(states.get(k) as ConversationState));
    await sql`
      INSERT INTO ${sql.table(table)} (${selectColumns})
      SELECT ${selectColumns} FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(${recordDefinition})
      ON CONFLICT (owner, conversation_id) DO UPDATE SET ${updateFromExcluded}`.execute(db);
  }
  return { handled: version, changes };
};

/** Appends the batch's changes to the outbox the callback publisher follows. */
export const recordChanges = async (
  db: Kysely<EventStoreSchema>,
  changes: readonly ConversationChange[],
): Promise<void> => {
  if (changes.length === 0) return;
  await sql`
    INSERT INTO conversation_change (owner, version, conversation_id, kind, total_changed)
    SELECT owner, version, conversation_id, kind, total_changed
    FROM jsonb_to_recordset(${JSON.stringify(
      changes.map((c) => ({
        owner: c.owner,
        version: c.version,
        conversation_id: c.conversationID,
        kind: c.kind,
        total_changed: c.totalChanged,
      })),
    )}::jsonb) AS r(owner text, version bigint, conversation_id text, kind smallint, total_changed boolean)
    ORDER BY version`.execute(db);
};
