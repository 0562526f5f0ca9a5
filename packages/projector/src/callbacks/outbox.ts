import { type Logger, toItem } from '@im/domain';
import { type RawBuilder, sql } from 'kysely';
import { fromRow, stateColumns } from '../read-model/columns.ts';
import { PUBLISHER_CHECKPOINT } from '../read-model/names.ts';
import type { Db } from '../read-model/schema.ts';
import { type Callback, type CallbackName, changeMsgID } from './callback.ts';

/** Kinds of change a callback announces: entered the list, changed in it, left it. */
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

/** The write that appends a batch's changes to the outbox the publisher follows; none for none. */
export const changesInsert = (
  changes: readonly ConversationChange[],
): RawBuilder<unknown> | undefined =>
  changes.length === 0
    ? undefined
    : sql`
    INSERT INTO conversation_change (owner, version, conversation_id, kind, total_changed)
    SELECT owner, version, conversation_id, kind, total_changed
    FROM json_to_recordset(${JSON.stringify(
      changes.map((c) => ({
        owner: c.owner,
        version: c.version,
        conversation_id: c.conversationID,
        kind: c.kind,
        total_changed: c.totalChanged,
      })),
    )}::json) AS r(owner text, version bigint, conversation_id text, kind smallint, total_changed boolean)
    ORDER BY version`;

/** Appends the batch's changes to the outbox the callback publisher follows. */
export const recordChanges = async (
  db: Db,
  changes: readonly ConversationChange[],
): Promise<void> => {
  await changesInsert(changes)?.execute(db);
};

/** How far the publisher got, and how far the projector wrote: the gap is the backlog. */
export const outboxPosition = async (db: Db): Promise<{ published: number; head: number }> => {
  const result = await sql<{ published: number | null; head: number | null }>`
    SELECT (SELECT last_change_id FROM publisher_checkpoint WHERE name = ${PUBLISHER_CHECKPOINT}) AS published,
           (SELECT max(id) FROM conversation_change) AS head`.execute(db);
  const row = result.rows[0];
  const published = Number(row?.published ?? 0);
  return { published, head: Math.max(published, Number(row?.head ?? 0)) };
};

/** A batch of callbacks read from the outbox. */
export interface OutboxBatch {
  /** The checkpoint the batch was read after. */
  after: number;
  /** The last outbox row it covers. */
  lastID: number;
  callbacks: Callback[];
}

/**
 * The callbacks due for the next outbox rows, in outbox order. Each carries its conversation's
 * latest state (a burst of changes shows the last state in each callback) and the version of its
 * change, so versions rise per owner. One read for any number of rows: the changes with their
 * conversations and their owners' totals.
 */
export const nextCallbacks = async (
  db: Db,
  after: number,
  limit: number,
): Promise<Omit<OutboxBatch, 'after'>> => {
  const result = await sql<
    Record<string, unknown> & {
      change_id: number;
      change_version: number;
      kind: number;
      total_changed: boolean;
      owner_total: number;
    }
  >`
    SELECT c.change_id, c.change_version, c.kind, c.total_changed,
           coalesce(t.total, 0) AS owner_total, ${stateColumns}
    FROM (
      SELECT id AS change_id, owner, conversation_id, version AS change_version, kind, total_changed
      FROM conversation_change WHERE id > ${after} ORDER BY id LIMIT ${limit}
    ) c
    LEFT JOIN conversation_item i USING (owner, conversation_id)
    LEFT JOIN owner_unread t USING (owner)
    ORDER BY c.change_id`.execute(db);
  const rows = result.rows;
  const callbacks: Callback[] = [];
  const push = (userID: string, version: number, name: CallbackName, data: unknown) =>
    callbacks.push({ userID, version, name, data, msgID: changeMsgID(userID, version, name) });
  for (const { change_id: _id, change_version, kind, total_changed, owner_total, ...row } of rows) {
    // A change always has its row; should one be missing, the batch still moves past it.
    if (row.version === null) continue;
    const owner = String(row.owner);
    const version = Number(change_version);
    push(
      owner,
      version,
      Number(kind) === ChangeKind.entered ? 'OnNewConversation' : 'OnConversationChanged',
      [toItem(fromRow(row))],
    );
    if (total_changed)
      push(owner, version, 'OnTotalUnreadMessageCountChanged', Number(owner_total));
  }
  return { lastID: Number(rows.at(-1)?.change_id ?? after), callbacks };
};

/**
 * Frees the space of published rows. The outbox is written at one end and emptied at the other
 * all day: left to autovacuum (once a minute at best) its dead rows pile up, and reading the next
 * batch becomes a scan of all of them.
 */
export const vacuumOutbox = async (db: Db): Promise<void> => {
  await sql`VACUUM conversation_change`.execute(db);
};

/**
 * Moves the checkpoint past `lastID` and drops the rows it covers. GREATEST: a publisher that lost
 * its turn and finishes late must not move the checkpoint back over its successor's.
 */
export const markPublished = async (db: Db, lastID: number): Promise<void> => {
  await sql`
    WITH marked AS (
      INSERT INTO publisher_checkpoint (name, last_change_id) VALUES (${PUBLISHER_CHECKPOINT}, ${lastID})
      ON CONFLICT (name) DO UPDATE
      SET last_change_id = greatest(publisher_checkpoint.last_change_id, excluded.last_change_id)
    )
    DELETE FROM conversation_change WHERE id <= ${lastID}`.execute(db);
};

/** An outbox batch, the row limit it was read with, and how many of its callbacks went out. */
export interface ReadBatch extends OutboxBatch {
  limit: number;
  /** Callbacks JetStream already took from an earlier, failed attempt: resume after them. */
  from: number;
}

/**
 * Reads the outbox for the publisher a batch at a time: the next batch while the one before waits
 * for its acks, and a failed batch again from where JetStream stopped taking it. A burst starts
 * small and doubles, so its first callbacks go out at once and each read ahead takes about as
 * long as the publishing it overlaps.
 */
export const createOutboxReader = (db: Db, options: { batchSize: number }) => {
  const firstBatchSize = Math.min(options.batchSize, 500);
  let ahead: Promise<ReadBatch> | undefined;
  let resume: ReadBatch | undefined;
  const read = async (after: number, limit: number): Promise<ReadBatch> => ({
    after,
    limit,
    from: 0,
    ...(await nextCallbacks(db, after, limit)),
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

/** Published outbox rows between two vacuums of the outbox. */
const VACUUM_EVERY_ROWS = 5000;

/**
 * Vacuums the outbox every few thousand published rows, beside the publishing, not in its way
 * (VACUUM blocks no read, insert or delete): its dead rows would otherwise make each read a scan.
 */
export const createOutboxVacuum = (db: Db, logger: Logger) => {
  let since = 0;
  let vacuuming: Promise<void> | undefined;
  return {
    published(rows: number) {
      since += rows;
      if (since < VACUUM_EVERY_ROWS || vacuuming) return;
      since = 0;
      vacuuming = vacuumOutbox(db)
        .catch((error) => logger.warn('outbox vacuum failed', { error }))
        .finally(() => {
          vacuuming = undefined;
        });
    },
    /** Resolves once no vacuum runs. */
    settled: async () => {
      await vacuuming;
    },
  };
};
