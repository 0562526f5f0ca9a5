import { comparePositions, type LogPosition, oldestAppender, readHorizon } from '@im/eventstore';
import { sql } from 'kysely';
import type { Db } from '../read-model/schema.ts';

/** The transaction every reader of the log waits for: the oldest append still running. */
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
   * Of those, the ones no reader may take yet: their transactions began after an append that is
   * still running (the oldest running one), which may yet commit events before them.
   */
  withheld: number;
  /** The oldest running transaction, when it is what holds events back. */
  heldBackBy: OldestTransaction | undefined;
}

/** Events a lag report counts at most: beyond, a partition is that far behind at least. */
export const LAG_COUNT_CAP = 100_000;

/**
 * How far each of `positions` is behind the log, counted over one read of the log's tail after
 * the earliest of them (up to LAG_COUNT_CAP events); and, of that tail, the events no reader may
 * take yet, and the running append that holds them back. For reports made while a backlog is
 * projected: cheap however many partitions, and however far behind.
 */
export const partitionLags = async (
  db: Db,
  positions: readonly LogPosition[],
  /** null: count every event, however many (what `status` shows). */
  options: { cap?: number | null } = {},
): Promise<{
  lags: Array<{ events: number; seconds: number }>;
  withheld: number;
  heldBackBy: OldestTransaction | undefined;
}> => {
  if (positions.length === 0) return { lags: [], withheld: 0, heldBackBy: undefined };
  const earliest = positions.reduce((a, b) => (comparePositions(b, a) < 0 ? b : a));
  const horizon = await readHorizon(db);
  const result = await sql<{
    ordinal: number;
    events: number;
    seconds: number | null;
    withheld: number;
  }>`
    WITH tail AS MATERIALIZED (
      SELECT transaction_id, global_position, created_at FROM events
      WHERE (transaction_id, global_position) > (${earliest.transactionId}::xid8, ${earliest.globalPosition}::bigint)
      ORDER BY transaction_id, global_position LIMIT ${options.cap === undefined ? LAG_COUNT_CAP : options.cap}
    )
    SELECT c.ordinal, count(t.global_position)::int AS events,
           extract(epoch FROM now() - min(t.created_at))::float8 AS seconds,
           (SELECT count(*)::int FROM tail WHERE transaction_id >= ${horizon}::xid8) AS withheld
    FROM unnest(${positions.map((p) => p.transactionId)}::xid8[],
                ${positions.map((p) => p.globalPosition)}::bigint[])
         WITH ORDINALITY AS c(tx, global_position, ordinal)
    LEFT JOIN tail t ON (t.transaction_id, t.global_position) > (c.tx, c.global_position)
    GROUP BY c.ordinal ORDER BY c.ordinal`.execute(db);
  const withheld = result.rows[0]?.withheld ?? 0;
  return {
    lags: result.rows.map((row) => ({
      events: row.events,
      seconds: Math.max(0, row.seconds ?? 0),
    })),
    withheld,
    heldBackBy: withheld > 0 ? await oldestTransaction(db) : undefined,
  };
};

/** The running append with the oldest transaction id, which readers of the log wait for. */
export const oldestTransaction = async (db: Db): Promise<OldestTransaction | undefined> => {
  const result = await sql<{
    pid: number;
    datname: string | null;
    state: string | null;
    application_name: string | null;
    seconds: number | null;
    query: string | null;
  }>`
    SELECT a.pid, a.datname, a.state, a.application_name,
           extract(epoch FROM now() - a.xact_start)::float8 AS seconds, left(a.query, 200) AS query
    FROM (${oldestAppender}) oldest JOIN pg_stat_activity a ON a.pid = oldest.pid`.execute(db);
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
