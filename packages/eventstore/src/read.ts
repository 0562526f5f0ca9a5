import { type RawBuilder, sql } from 'kysely';
import type { LogPosition } from './position.ts';
import type { Queryable } from './schema.ts';

/**
 * The running transactions that may still append events: those holding a writing lock on the
 * log's tables (`events`, `streams`) in this database. Every append takes that lock before it
 * writes anything, so before it has a transaction id: a single statement locks every table it
 * names before it runs, and an append in a longer transaction starts with `lockStream`. A
 * transaction that only reads the log, or writes elsewhere, or runs in another database of the
 * cluster, is not among them.
 */
const appenders = sql`
  SELECT own.transactionid AS xid, own.pid
  FROM pg_locks own
  JOIN pg_locks log ON log.virtualtransaction = own.virtualtransaction
  WHERE own.locktype = 'transactionid' AND own.mode = 'ExclusiveLock' AND own.granted
    AND log.locktype = 'relation'
    AND log.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND log.relation IN ('events'::regclass, 'streams'::regclass)
    AND log.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')`;

/**
 * The horizon below which the log is complete: every event whose transaction id is below it
 * and that will ever commit has committed. It is the oldest transaction id among the running
 * appenders, or, when none runs, this snapshot's xmax (no id from there on had completed).
 *
 * Why it is safe, read in a statement before the events are: this statement's snapshot comes
 * first, then the lock table is read. An appender whose events a later read could still miss
 * below the horizon would have had its id before this snapshot (else its id is at least xmax),
 * and would still run at the later read, so it held its lock all through this statement's read
 * of pg_locks, and its id is among the snapshot's running ones: the horizon is at most that id.
 *
 * Unlike `pg_snapshot_xmin` (Emmett's rule), an idle-in-transaction session that wrote, a batch
 * job, an ANALYZE, or a transaction in another database of the cluster holds no reader back.
 */
export const horizonColumn: RawBuilder<string> = sql<string>`coalesce(
    (SELECT min(running) FROM pg_snapshot_xip(pg_current_snapshot()) AS running
     WHERE running::xid IN (SELECT xid FROM (${appenders}) appending)),
    pg_snapshot_xmax(pg_current_snapshot()))::text`;

/** The log's horizon now (see horizonColumn): pass it to the read that follows. */
export const readHorizon = async (db: Queryable): Promise<string> => {
  const result = await sql<{ horizon: string }>`SELECT ${horizonColumn} AS horizon`.execute(db);
  return result.rows[0]?.horizon ?? '0';
};

/** The running appender with the oldest transaction id: what holds the log's readers back. */
export const oldestAppender = sql<{ pid: number; xid: string }>`
  SELECT pid, xid::text AS xid FROM (${appenders}) appending
  ORDER BY age(xid) DESC LIMIT 1`;

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
    SELECT global_position, transaction_id, stream_id, stream_position, type, data, schema_version,
           metadata
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
