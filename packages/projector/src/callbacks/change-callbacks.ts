import { type ConversationState, toItem } from '@im/domain';
import { sql } from 'kysely';
import { fromRow } from '../read-model/columns.ts';
import { statesAt } from '../read-model/owner-views.ts';
import type { Db } from '../read-model/schema.ts';
import { ownerTotals } from '../read-model/totals.ts';
import { type Callback, type CallbackName, changeMsgID } from './callback.ts';
import { ChangeKind, type ConversationChange } from './outbox.ts';

/**
 * The callbacks of changes, in their order: each conversation as `viewOf` gives it (its latest
 * state: a burst of changes shows the last one in each callback) at its change's version, and
 * the owner's total where the change moved it. A change whose conversation is gone is passed over.
 */
export const callbacksOf = (
  changes: readonly ConversationChange[],
  viewOf: (owner: string, conversationID: string) => ConversationState | undefined,
  totals: ReadonlyMap<string, number>,
): Callback[] => {
  const callbacks: Callback[] = [];
  const push = (userID: string, version: number, name: CallbackName, data: unknown) =>
    callbacks.push({ userID, version, name, data, msgID: changeMsgID(userID, version, name) });
  for (const change of changes) {
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

/** The owners whose totals the changes moved. */
export const ownersWithTotals = (changes: readonly ConversationChange[]): string[] =>
  changes.filter((change) => change.totalChanged).map((change) => change.owner);

/** An outbox batch read back: the callbacks of its rows. */
export interface OutboxBatch {
  /** The checkpoint the batch was read after. */
  after: number;
  /** The last outbox row it covers. */
  lastID: number;
  callbacks: Callback[];
}

const key = (owner: string, conversationID: string) => `${owner}\u0000${conversationID}`;

/**
 * The callbacks due for the outbox rows after `after`, read back from the outbox and the read
 * model as they are now: after a crash, a failover or an outage, when the callbacks the projector
 * handed over in memory are gone. A group message's row names the members whose views it changed,
 * with how; each is told the message's version with the latest state.
 */
export const readOutbox = async (
  db: Db,
  after: number,
  limit: number,
): Promise<Omit<OutboxBatch, 'after'>> => {
  const rows = (
    await sql<{
      id: number;
      owner: string;
      version: number;
      conversation_id: string;
      kind: number;
      total_changed: boolean;
      owners: string[];
      entered: string[];
      totals: string[];
    }>`
      SELECT id, owner, version, conversation_id, kind, total_changed, owners, entered, totals
      FROM conversation_change WHERE id > ${after} ORDER BY id LIMIT ${limit}`.execute(db)
  ).rows;
  const changes = rows.flatMap((row): ConversationChange[] => {
    const version = Number(row.version);
    const conversationID = row.conversation_id;
    if (row.kind !== ChangeKind.group)
      return [
        {
          owner: row.owner,
          version,
          conversationID,
          kind: row.kind as ChangeKind,
          totalChanged: row.total_changed,
          fanout: false,
        },
      ];
    const entered = new Set(row.entered);
    const totals = new Set(row.totals);
    return row.owners.map((owner) => ({
      owner,
      version,
      conversationID,
      kind: entered.has(owner) ? ChangeKind.entered : ChangeKind.changed,
      totalChanged: totals.has(owner),
      fanout: true,
    }));
  });
  const views = await statesAt(
    changes.map((change) => change.owner),
    changes.map((change) => change.conversationID),
  ).execute(db);
  const byKey = new Map(
    views.rows.map(fromRow).map((view) => [key(view.owner, view.conversationID), view]),
  );
  const totals = await ownerTotals(db, ownersWithTotals(changes));
  return {
    lastID: Number(rows.at(-1)?.id ?? after),
    callbacks: callbacksOf(
      changes,
      (owner, conversationID) => byKey.get(key(owner, conversationID)),
      totals,
    ),
  };
};

/** An outbox batch, the row limit it was read with, and how many of its callbacks went out. */
export interface ReadBatch extends OutboxBatch {
  limit: number;
  /** Callbacks JetStream already took from an earlier, failed attempt: resume after them. */
  from: number;
}

/**
 * Reads the outbox back for the publisher a batch at a time: the next batch while the one before
 * waits for its acks, and a failed batch again from where JetStream stopped taking it. A burst
 * starts small and doubles, so its first callbacks go out at once and each read ahead takes about
 * as long as the publishing it overlaps.
 */
export const createOutboxReader = (db: Db, options: { batchSize: number }) => {
  const firstBatchSize = Math.min(options.batchSize, 500);
  let ahead: Promise<ReadBatch> | undefined;
  let resume: ReadBatch | undefined;
  const read = async (after: number, limit: number): Promise<ReadBatch> => ({
    after,
    limit,
    from: 0,
    ...(await readOutbox(db, after, limit)),
  });
  return {
    /** The batch after the checkpoint `published`: resumed, read ahead, or read now. */
    async next(published: number): Promise<ReadBatch> {
      const retry = resume?.after === published ? resume : undefined;
      resume = undefined;
      const prepared = await ahead?.catch(() => undefined);
      ahead = undefined;
      if (retry) return retry;
      return prepared?.after === published ? prepared : read(published, firstBatchSize);
    },
    /** Starts reading the batch after `batch`, to have it ready when this one is acked. */
    readAhead(batch: ReadBatch) {
      ahead = read(batch.lastID, Math.min(options.batchSize, batch.limit * 2));
      ahead.catch(() => {});
    },
    /** The batch failed after JetStream took `acked` more of its callbacks. */
    failed(batch: ReadBatch, acked: number) {
      resume = { ...batch, from: batch.from + acked };
    },
    /** Forgets what was read ahead (nothing is due). */
    drop() {
      ahead = undefined;
    },
  };
};
