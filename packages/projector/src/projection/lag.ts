import type { EventStoreSchema, LogPosition } from '@im/eventstore';
import { type Kysely, sql } from 'kysely';

/** The transaction every reader of the log waits for: the oldest one still running. */
export interface OldestTransaction {
  pid: number;
  database: string;
  state: string;
  applicationName: string;
  runningSeconds: number;
  query: string;
}

export interface ProjectionLag {
  /** Committed events after the position: what the projector still has to apply. */
  events: number;
  /** How long the oldest of them has waited; 0 when there is none. */
  seconds: number;
  /**
   * Of those, the ones no reader may take yet: their transactions began after a transaction that
   * is still running (the oldest running one), which may yet commit events before them.
   */
  withheld: number;
  /** The oldest running transaction, when it is what holds events back. */
  heldBackBy: OldestTransaction | undefined;
}

/** How far `position` is behind the log, and whether a long transaction is the reason. */
export const projectionLag = async (
  db: Kysely<EventStoreSchema>,
  position: LogPosition,
): Promise<ProjectionLag> => {
  const result = await sql<{ events: number; withheld: number; seconds: number | null }>`
    SELECT count(*)::int AS events,
           count(*) FILTER (WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot()))::int AS withheld,
           (SELECT extract(epoch FROM now() - created_at)::float8 FROM events
            WHERE (transaction_id, global_position) > (${position.transactionId}::xid8, ${position.globalPosition}::bigint)
            ORDER BY transaction_id, global_position LIMIT 1) AS seconds
    FROM events
    WHERE (transaction_id, global_position) > (${position.transactionId}::xid8, ${position.globalPosition}::bigint)`.execute(
    db,
  );
  const row = result.rows[0] ?? { events: 0, withheld: 0, seconds: null };
  return {
    events: row.events,
    seconds: Math.max(0, row.seconds ?? 0),
    withheld: row.withheld,
    heldBackBy: row.withheld > 0 ? await oldestTransaction(db) : undefined,
  };
};

/** The running transaction whose id is the current snapshot's xmin, in whichever database. */
export const oldestTransaction = async (
  db: Kysely<EventStoreSchema>,
): Promise<OldestTransaction | undefined> => {
  const result = await sql<{
    pid: number;
    datname: string | null;
    state: string | null;
    application_name: string | null;
    seconds: number | null;
    query: string | null;
  }>`
    SELECT pid, datname, state, application_name,
           extract(epoch FROM now() - xact_start)::float8 AS seconds, left(query, 200) AS query
    FROM pg_stat_activity
    WHERE backend_xid = pg_snapshot_xmin(pg_current_snapshot())::xid
    LIMIT 1`.execute(db);
  const row = result.rows[0];
  return row
    ? {
        pid: row.pid,
        database: row.datname ?? '',
        state: row.state ?? '',
        applicationName: row.application_name ?? '',
        runningSeconds: Math.round((row.seconds ?? 0) * 10) / 10,
        query: row.query ?? '',
      }
    : undefined;
};
