import { comparePositions, type EventStoreSchema, type LogPosition } from '@im/eventstore';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { LoggedEvent } from './apply-batch.ts';

export interface LogBatchOptions {
  limit: number;
  upTo?: LogPosition;
}

/**
 * The next events after `after` (up to `upTo`, if given), in the log's read order and under the
 * same rule as readEventsAfter: only from transactions older than every running one, so none is
 * passed over. Shipped as one JSON text per batch: parsing one string is far cheaper than
 * decoding thousands of rows, and catching up or replaying reads a great many.
 */
export const logBatchQuery = (
  after: LogPosition,
  options: LogBatchOptions,
): RawBuilder<{ batch: string | null }> => {
  const upTo = options.upTo
    ? sql`AND (transaction_id, global_position) <= (${options.upTo.transactionId}::xid8, ${options.upTo.globalPosition}::bigint)`
    : sql``;
  // The aggregate takes the rows in the subquery's order, as PostgreSQL does for an ordered
  // subquery; an ORDER BY inside the aggregate would sort the batch again. parseLogBatch checks.
  return sql<{ batch: string | null }>`
    SELECT '[' || string_agg(
             json_build_array(type, data, transaction_id::text, global_position)::text, ','
           ) || ']' AS batch
    FROM (
      SELECT type, data, transaction_id, global_position FROM events
      WHERE (transaction_id, global_position) > (${after.transactionId}::xid8, ${after.globalPosition}::bigint)
        ${upTo}
        AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY transaction_id, global_position
      LIMIT ${options.limit}
    ) batch`;
};

/** Whether positions ascend; transaction ids are compared as the decimal numbers they are. */
const inReadOrder = (events: readonly LoggedEvent[]): boolean => {
  for (let i = 1; i < events.length; i++) {
    const a = (events[i - 1] as LoggedEvent).position;
    const b = (events[i] as LoggedEvent).position;
    const byTransaction =
      a.transactionId.length - b.transactionId.length ||
      (a.transactionId < b.transactionId ? -1 : a.transactionId > b.transactionId ? 1 : 0);
    if (byTransaction > 0 || (byTransaction === 0 && a.globalPosition >= b.globalPosition))
      return false;
  }
  return true;
};

/** The events of a batch the query returned, in read order. */
export const parseLogBatch = (batch: string | null | undefined): LoggedEvent[] => {
  if (!batch) return [];
  const events = (JSON.parse(batch) as Array<[string, unknown, string, number]>).map(
    ([type, data, transactionId, globalPosition]) => ({
      type,
      data,
      position: { transactionId, globalPosition },
    }),
  );
  return inReadOrder(events)
    ? events
    : events.sort((a, b) => comparePositions(a.position, b.position));
};

export const readLogBatch = async (
  db: Kysely<EventStoreSchema>,
  after: LogPosition,
  options: LogBatchOptions,
): Promise<LoggedEvent[]> =>
  parseLogBatch((await logBatchQuery(after, options).execute(db)).rows[0]?.batch);
