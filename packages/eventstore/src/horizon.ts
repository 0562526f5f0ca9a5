import { type RawBuilder, sql } from 'kysely';
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
