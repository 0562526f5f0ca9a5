import type { Cause, Logger } from '@im/domain';
import { type RawBuilder, sql } from 'kysely';
import { publisherCheckpoint } from '../read-model/names.ts';
import type { Db } from '../read-model/schema.ts';

/**
 * Kinds of change a callback announces: entered the list, changed in it, left it. An outbox row
 * of kind `group` is a group message, for the members it does not name (GroupFanout).
 */
export const ChangeKind = {
  entered: 1,
  changed: 2,
  left: 3,
  group: 4,
  // An owner's conversation group (SPEC §8.1): the change's conversationID is the group's ID.
  conversationGroupAdded: 5,
  conversationGroupChanged: 6,
  conversationGroupDeleted: 7,
} as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

/** One owner's conversation changed at a version, by an event that named the owner. */
export interface ConversationChange {
  /** The owner's partition, whose publisher publishes it. */
  partition: number;
  owner: string;
  version: number;
  conversationID: string;
  kind: ChangeKind;
  totalChanged: boolean;
  /** The W3C traceparent and the cause of the command that caused it: its callbacks carry them. */
  traceparent?: string;
  cause?: Cause;
}

/**
 * A group message at `version`, for the views of the members it does not name: each member whose
 * row is older than it (unchanged since) saw `seq` arrive after `previousMaxSeq`. Who they are and
 * how their views changed is worked out when the callbacks are published, a page of members at
 * a time (fanout-changes.ts).
 */
export interface GroupFanout {
  /** The partition whose members it is for, and whose group row it changed. */
  partition: number;
  version: number;
  conversationID: string;
  seq: number;
  previousMaxSeq: number;
  traceparent?: string;
  cause?: Cause;
}

/** Where a change came from, as its callbacks carry it: the command's traceparent and cause. */
export const originOf = (from: {
  traceparent?: string;
  cause?: Cause;
}): { traceparent?: string; cause?: Cause } => ({
  ...(from.traceparent === undefined ? {} : { traceparent: from.traceparent }),
  ...(from.cause === undefined ? {} : { cause: from.cause }),
});

/** What the outbox records of a batch, in version order: changes and group messages. */
export type OutboxEntry =
  | { type: 'change'; change: ConversationChange }
  | { type: 'fanout'; fanout: GroupFanout };

/** The changes and group messages of a batch as one list in version order. */
export const outboxEntries = (
  changes: readonly ConversationChange[],
  fanouts: readonly GroupFanout[],
): OutboxEntry[] =>
  [
    ...changes.map((change): OutboxEntry => ({ type: 'change', change })),
    ...fanouts.map((fanout): OutboxEntry => ({ type: 'fanout', fanout })),
  ].sort((a, b) => versionOf(a) - versionOf(b));

const versionOf = (entry: OutboxEntry) =>
  entry.type === 'change' ? entry.change.version : entry.fanout.version;

const outboxRow = (entry: OutboxEntry) =>
  entry.type === 'change'
    ? {
        partition: entry.change.partition,
        owner: entry.change.owner,
        version: entry.change.version,
        conversation_id: entry.change.conversationID,
        kind: entry.change.kind,
        total_changed: entry.change.totalChanged,
        seq: 0,
        previous_max_seq: 0,
        traceparent: entry.change.traceparent ?? null,
        cause: entry.change.cause ?? null,
      }
    : {
        partition: entry.fanout.partition,
        owner: '',
        version: entry.fanout.version,
        conversation_id: entry.fanout.conversationID,
        kind: ChangeKind.group,
        total_changed: false,
        seq: entry.fanout.seq,
        previous_max_seq: entry.fanout.previousMaxSeq,
        traceparent: entry.fanout.traceparent ?? null,
        cause: entry.fanout.cause ?? null,
      };

/**
 * The write that appends a batch's entries to the outbox the publisher follows, one row each, in
 * order, answering their ids; none for none.
 */
export const changesInsert = (entries: readonly OutboxEntry[]): RawBuilder<unknown> | undefined =>
  entries.length === 0
    ? undefined
    : sql`
    INSERT INTO conversation_change
      (partition, owner, version, conversation_id, kind, total_changed, seq, previous_max_seq,
       traceparent, cause)
    SELECT partition, owner, version, conversation_id, kind, total_changed, seq, previous_max_seq,
           traceparent, cause
    FROM ROWS FROM (json_to_recordset(${JSON.stringify(entries.map(outboxRow))}::json)
      AS (partition smallint, owner text, version bigint, conversation_id text, kind smallint,
          total_changed boolean, seq bigint, previous_max_seq bigint, traceparent text,
          cause json))
      WITH ORDINALITY AS r(partition, owner, version, conversation_id, kind, total_changed, seq,
                           previous_max_seq, traceparent, cause, ordinal)
    ORDER BY ordinal
    RETURNING id`;

/**
 * Entries per statement of recordChanges: a rebuild may owe hundreds of thousands, which
 * PostgreSQL writes faster in statements of this size than in one (README, Performance).
 */
const RECORD_CHUNK = 5000;

/** Appends entries to the outbox the callback publisher follows (a rebuild's, at its switch). */
export const recordChanges = async (db: Db, entries: readonly OutboxEntry[]): Promise<void> => {
  for (let start = 0; start < entries.length; start += RECORD_CHUNK)
    await changesInsert(entries.slice(start, start + RECORD_CHUNK))?.execute(db);
};

/**
 * How far the publisher of `partitions` got (the earliest of their checkpoints: every row of
 * theirs up to it is published), and how far the projector wrote: the gap is the backlog.
 */
export const outboxPosition = async (
  db: Db,
  partitions: readonly number[],
): Promise<{ published: number; head: number }> => {
  const names = partitions.map(publisherCheckpoint);
  const result = await sql<{ published: number | null; head: number | null }>`
    SELECT (SELECT min(coalesce(c.last_change_id, 0)) FROM unnest(${names}::text[]) AS n(name)
            LEFT JOIN publisher_checkpoint c USING (name)) AS published,
           (SELECT max(id) FROM conversation_change WHERE partition = ANY(${[...partitions]}::smallint[])) AS head`.execute(
    db,
  );
  const row = result.rows[0];
  const published = Number(row?.published ?? 0);
  return { published, head: Math.max(published, Number(row?.head ?? 0)) };
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
 * Moves the partitions' checkpoints past `lastID` and drops the rows they cover. GREATEST: a
 * publisher that lost its turn and finishes late must not move a checkpoint back over its
 * successor's.
 */
export const markPublished = async (
  db: Db,
  partitions: readonly number[],
  lastID: number,
): Promise<void> => {
  await sql`
    WITH marked AS (
      INSERT INTO publisher_checkpoint (name, last_change_id)
      SELECT name, ${lastID} FROM unnest(${partitions.map(publisherCheckpoint)}::text[]) AS n(name)
      ON CONFLICT (name) DO UPDATE
      SET last_change_id = greatest(publisher_checkpoint.last_change_id, excluded.last_change_id)
    )
    DELETE FROM conversation_change
    WHERE partition = ANY(${[...partitions]}::smallint[]) AND id <= ${lastID}`.execute(db);
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
