import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { LogPosition } from './position.ts';
import type { EventStoreSchema } from './schema.ts';

export interface StoredEvent {
  type: string;
  data: unknown;
  streamId: string;
  streamPosition: number;
  position: LogPosition;
}

/**
 * The next events after `after` (up to `upTo`, if given) in the log's read order, only from
 * transactions older than every transaction still running: a transaction that began early and
 * commits late is never passed over, since no reader moves beyond it while it runs. The one
 * rule of every reader of the log, as a subquery each can shape its result from.
 */
export const nextEvents = (
  after: LogPosition,
  options: { limit: number; upTo?: LogPosition },
): RawBuilder<unknown> => {
  const upTo = options.upTo
    ? sql`AND (transaction_id, global_position) <= (${options.upTo.transactionId}::xid8, ${options.upTo.globalPosition}::bigint)`
    : sql``;
  return sql`
    SELECT global_position, transaction_id, stream_id, stream_position, type, data FROM events
    WHERE (transaction_id, global_position) > (${after.transactionId}::xid8, ${after.globalPosition}::bigint)
      AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      ${upTo}
    ORDER BY transaction_id, global_position
    LIMIT ${options.limit}`;
};

/** nextEvents, as rows. */
export const readEventsAfter = async (
  db: Kysely<EventStoreSchema>,
  after: LogPosition,
  options: { limit: number; upTo?: LogPosition },
): Promise<StoredEvent[]> => {
  const result = await sql<{
    global_position: number;
    tx: string;
    stream_id: string;
    stream_position: number;
    type: string;
    data: unknown;
  }>`
    SELECT global_position, transaction_id::text AS tx, stream_id, stream_position, type, data
    FROM (${nextEvents(after, options)}) next
    ORDER BY next.transaction_id, next.global_position`.execute(db);
  return result.rows.map((row) => ({
    type: row.type,
    data: row.data,
    streamId: row.stream_id,
    streamPosition: row.stream_position,
    position: { transactionId: row.tx, globalPosition: row.global_position },
  }));
};

/** The last event in read order that a reader may take now, and how many events are in the log. */
export const logHead = async (
  db: Kysely<EventStoreSchema>,
): Promise<{ head: LogPosition | undefined; oldestRunningTransaction: string }> => {
  const result = await sql<{ tx: string | null; pos: number | null; xmin: string }>`
    SELECT e.transaction_id::text AS tx, e.global_position AS pos,
           pg_snapshot_xmin(pg_current_snapshot())::text AS xmin
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (
      SELECT transaction_id, global_position FROM events
      ORDER BY transaction_id DESC, global_position DESC LIMIT 1
    ) e ON true`.execute(db);
  const row = result.rows[0];
  return {
    head: row?.tx ? { transactionId: row.tx, globalPosition: row.pos ?? 0 } : undefined,
    oldestRunningTransaction: row?.xmin ?? '0',
  };
};
