import {
  type ConversationEvent,
  type ConversationState,
  differs,
  evolve,
  namedOwners,
  unreadContribution,
} from '@im/domain';
import type { LogPosition } from '@im/eventstore';
import { sql } from 'kysely';
import { ChangeKind, type ConversationChange } from '../callbacks/outbox.ts';
import { fromRow, stateColumns, upsertStates } from '../read-model/columns.ts';
import type { Db } from '../read-model/schema.ts';

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

/**
 * Conversation states in memory, by conversation then owner: a group message evolves every row of
 * its conversation, so the set must hold all of them for each conversation it is asked about.
 */
export const createStateSet = () => {
  const conversations = new Map<string, Map<string, ConversationState>>();
  let size = 0;
  return {
    get: (owner: string, conversationID: string) => conversations.get(conversationID)?.get(owner),
    /** Owners with a row in the conversation. */
    owners: (conversationID: string): string[] => [
      ...(conversations.get(conversationID)?.keys() ?? []),
    ],
    remember(state: ConversationState) {
      let rows = conversations.get(state.conversationID);
      if (!rows) {
        rows = new Map();
        conversations.set(state.conversationID, rows);
      }
      if (!rows.has(state.owner)) size += 1;
      rows.set(state.owner, state);
    },
    get size() {
      return size;
    },
    *values(): IterableIterator<ConversationState> {
      for (const rows of conversations.values()) yield* rows.values();
    },
  };
};

export type StateSet = ReturnType<typeof createStateSet>;

export interface EvolvedBatch {
  /** The number of events handled after this batch: the version of its last changes. */
  handled: number;
  /** Every state the batch changed, as it is after the batch. */
  changed: ConversationState[];
  changes: ConversationChange[];
  /** By owner, how much the batch moved their total unread; owners it did not move are absent. */
  unreadDeltas: Map<string, number>;
}

/** What projecting needs of a stored event: the domain event (upcast) and where it sits in the log. */
export interface LoggedEvent {
  event: ConversationEvent;
  position: LogPosition;
}

/**
 * Evolves `states` through the events, in memory. Each event takes the next number after
 * `handled`; that number is the version of everything it changed. `states` must hold every row
 * the events touch (see loadStates); it is updated in place. `changes: false` skips working out
 * the callbacks' changes, for a replay that needs none.
 */
export const evolveBatch = (
  states: StateSet,
  stored: readonly LoggedEvent[],
  handled: number,
  options: { changes?: boolean } = {},
): EvolvedBatch => {
  const changed = new Set<ConversationState>();
  const changes: ConversationChange[] = [];
  const unreadDeltas = new Map<string, number>();
  const recording = options.changes ?? true;
  let version = handled;
  for (const storedEvent of stored) {
    const { event } = storedEvent;
    version += 1;
    const conversationID = conversationOf(event);
    const owners = touchesAllRows(event) ? states.owners(conversationID) : namedOwners(event);
    for (const owner of owners) {
      const before = states.get(owner, conversationID);
      const after = evolve(before, event, owner);
      if (!after || !differs(before, after)) continue;
      // evolve made a new object for the change: it is ours to number.
      after.version = version;
      states.remember(after);
      if (before) changed.delete(before);
      changed.add(after);
      const delta = unreadContribution(after) - (before ? unreadContribution(before) : 0);
      if (delta !== 0) unreadDeltas.set(owner, (unreadDeltas.get(owner) ?? 0) + delta);
      if (!recording) continue;
      const kind = changeKind(before, after);
      if (kind === undefined) continue;
      changes.push({ owner, version, conversationID, kind, totalChanged: delta !== 0 });
    }
  }
  return { handled: version, changed: [...changed.values()], changes, unreadDeltas };
};

/** Reads every row of `table` the events touch into a new state set. */
export const loadStates = async (
  db: Db,
  table: string,
  stored: readonly LoggedEvent[],
): Promise<StateSet> => {
  const wide = new Set<string>();
  const owners: string[] = [];
  const conversations: string[] = [];
  for (const { event } of stored) {
    const conversationID = conversationOf(event);
    if (touchesAllRows(event)) wide.add(conversationID);
    for (const owner of namedOwners(event)) {
      owners.push(owner);
      conversations.push(conversationID);
    }
  }
  // UNION ALL: a row both selects find comes twice and is remembered once, where UNION would
  // compare every wide row of a large group to drop the repeats.
  const result = await sql<Record<string, unknown>>`
    SELECT ${stateColumns} FROM ${sql.table(table)} WHERE conversation_id = ANY(${[...wide]}::text[])
    UNION ALL
    SELECT ${stateColumns} FROM ${sql.table(table)}
    JOIN unnest(${owners}::text[], ${conversations}::text[]) AS wanted(o, c)
      ON owner = wanted.o AND conversation_id = wanted.c`.execute(db);
  const states = createStateSet();
  for (const row of result.rows) states.remember(fromRow(row));
  return states;
};

const WRITE_CHUNK = 5000;

/** Upserts the states into `table`, a few thousand rows a statement. */
export const writeStates = async (
  db: Db,
  table: string,
  states: readonly ConversationState[],
): Promise<void> => {
  for (let start = 0; start < states.length; start += WRITE_CHUNK) {
    await upsertStates(table, states.slice(start, start + WRITE_CHUNK)).execute(db);
  }
};

/**
 * Inserts states that are not in `table` yet (a rebuild's bulk load into its empty scratch
 * table): no conflict check, and several statements at once on the pool's connections.
 */
export const insertNewStates = async (
  db: Db,
  table: string,
  states: readonly ConversationState[],
  options: { concurrency?: number } = {},
): Promise<void> => {
  let next = 0;
  const insertChunks = async () => {
    for (let start = next; start < states.length; start = next) {
      next += WRITE_CHUNK;
      await upsertStates(table, states.slice(start, start + WRITE_CHUNK), {
        newRows: true,
      }).execute(db);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, insertChunks));
};

export interface BatchResult {
  handled: number;
  changes: ConversationChange[];
  unreadDeltas: Map<string, number>;
}

/**
 * Applies a batch of events to the read model in `table`, set-based: one read of every row the
 * batch touches, the domain's evolve in memory, one upsert of what changed.
 */
export const applyBatch = async (
  db: Db,
  table: string,
  stored: readonly LoggedEvent[],
  handled: number,
): Promise<BatchResult> => {
  const states = await loadStates(db, table, stored);
  const evolved = evolveBatch(states, stored, handled);
  await writeStates(db, table, evolved.changed);
  return { handled: evolved.handled, changes: evolved.changes, unreadDeltas: evolved.unreadDeltas };
};
