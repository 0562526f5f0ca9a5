import { type RawBuilder, sql } from 'kysely';
import { readHorizon } from './horizon.ts';
import type { LogPosition } from './position.ts';
import type { Queryable } from './schema.ts';

export interface StoredEvent {
  type: string;
  data: unknown;
  /** The shape it was written in. */
  schemaVersion: number;
  streamId: string;
  streamPosition: number;
  position: LogPosition;
}

export interface NextEventsOptions {
  limit: number;
  /** Read no further than this position. */
  upTo?: LogPosition;
  /**
   * The log's horizon, read by an earlier statement (readHorizon, horizonColumn): only events of
   * transactions below it are taken.
   */
  horizon: string;
}

/**
 * The next events after `after` (up to `upTo`, if given) in the log's read order, only from
 * transactions below the horizon: an append that began early and commits late is never passed
 * over, since no reader moves beyond it while it runs. The one rule of every reader of the log,
 * as a subquery each can shape its result from.
 */
export const nextEvents = (after: LogPosition, options: NextEventsOptions): RawBuilder<unknown> => {
  const upTo = options.upTo
    ? sql`AND (transaction_id, global_position) <= (${options.upTo.transactionId}::xid8, ${options.upTo.globalPosition}::bigint)`
    : sql``;
  return sql`
    SELECT global_position, transaction_id, stream_id, stream_position, type, data, schema_version
    FROM events
    WHERE (transaction_id, global_position) > (${after.transactionId}::xid8, ${after.globalPosition}::bigint)
      AND transaction_id < ${options.horizon}::xid8
      ${upTo}
    ORDER BY transaction_id, global_position
    LIMIT ${options.limit}`;
};

/** nextEvents, as rows, below the horizon read just before. */
export const readEventsAfter = async (
  db: Queryable,
  after: LogPosition,
  options: { limit: number; upTo?: LogPosition },
): Promise<StoredEvent[]> => {
  const horizon = await readHorizon(db);
  const result = await sql<{
    global_position: number;
    tx: string;
    stream_id: string;
    stream_position: number;
    type: string;
    data: unknown;
    schema_version: number;
  }>`
    SELECT global_position, transaction_id::text AS tx, stream_id, stream_position, type, data,
           schema_version
    FROM (${nextEvents(after, { ...options, horizon })}) next
    ORDER BY next.transaction_id, next.global_position`.execute(db);
  return result.rows.map((row) => ({
    type: row.type,
    data: row.data,
    schemaVersion: row.schema_version,
    streamId: row.stream_id,
    streamPosition: row.stream_position,
    position: { transactionId: row.tx, globalPosition: row.global_position },
  }));
};

/** The last committed event in the log's read order, if any (readers may yet wait below it). */
export const logHead = async (db: Queryable): Promise<LogPosition | undefined> => {
  const result = await sql<{ tx: string; pos: number }>`
    SELECT transaction_id::text AS tx, global_position AS pos FROM events
    ORDER BY transaction_id DESC, global_position DESC LIMIT 1`.execute(db);
  const row = result.rows[0];
  return row ? { transactionId: row.tx, globalPosition: row.pos } : undefined;
};
