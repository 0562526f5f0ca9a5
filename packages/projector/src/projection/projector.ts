import type { Logger } from '@im/domain';
import {
  type Checkpoint,
  checkpointOf,
  EVENTS_CHANNEL,
  horizonColumn,
  readCheckpoint,
  StorageUnavailable,
  storeCheckpoint,
} from '@im/eventstore';
import { sql } from 'kysely';
import { changesInsert } from '../callbacks/outbox.ts';
import { quietWhileAway } from '../quiet-while-away.ts';
import {
  LIVE_TABLE,
  PROJECTED_CHANNEL,
  PROJECTOR_CHECKPOINT,
  PROJECTOR_LEASE,
} from '../read-model/names.ts';
import type { Db, EngineDatabase } from '../read-model/schema.ts';
import { addToTotals } from '../read-model/totals.ts';
import { applyBatch } from './apply-batch.ts';
import { refreshStatistics } from './fresh-statistics.ts';
import { projectionLag } from './lag.ts';
import { acquireLease, releaseLease } from './lease.ts';
import { readLogBatch } from './read-log.ts';
import { createSignal } from './signal.ts';

export interface ProjectorOptions {
  database: EngineDatabase;
  /** Who this process is, as the lease records it. */
  holder: string;
  logger: Logger;
  /** Events per batch when the projector keeps up. */
  batchSize?: number;
  /** Batches grow up to this while a backlog lasts: fewer round trips per event drained. */
  maxBatchSize?: number;
  leaseTtlMs?: number;
  /** How often an idle projector looks anyway, should a notification be missed. */
  idlePollMs?: number;
  /** How often lag and throughput are measured, logged and put in the stats. */
  reportEveryMs?: number;
  onProjected?: (checkpoint: Checkpoint, events: number) => void;
}

export interface ProjectorStats {
  leader: boolean;
  checkpoint: Checkpoint | undefined;
  eventsProjected: number;
  batches: number;
  /** Batch transactions run, empty ones included: each is one look at the log. */
  polls: number;
  lastBatchAt: number | undefined;
  /** From the last report: events committed but not yet projected, and the oldest one's age. */
  lagEvents: number | undefined;
  lagSeconds: number | undefined;
  /** Of the lag, events that wait for an older transaction still running. */
  withheldEvents: number | undefined;
  /** The running transaction that holds the projector back, if one does. */
  heldBackBy: { pid: number; database: string; runningSeconds: number } | undefined;
  /** Events projected per second since the report before. */
  eventsPerSecond: number | undefined;
}

class LeaseLost extends Error {}

const HELD_BACK_NOTICE_SECONDS = 5;
/** How soon a batch is tried again while PostgreSQL is away. */
const RETRY_WHILE_AWAY_MS = 100;
const STATISTICS_EVERY_MS = 1000;

/**
 * Opens a batch's transaction in one statement: settings, the lease row locked and confirmed ours
 * (a process that lost its lease cannot commit over its successor's), the checkpoint, and the
 * log's horizon for the batch's read, which is the next statement. Nothing means the lease is not
 * ours.
 */
const beginBatch = async (tx: Db, holder: string) => {
  // The read model is derived from the durable log: a crash that loses this commit only
  // rewinds the checkpoint with it, and the events are projected again. Not waiting for the
  // WAL flush takes an fsync off every command's path. Sorting is discouraged so that the log
  // is read along its index even before statistics know how large it has grown.
  const result = await sql<{
    holder: string | null;
    tx: string | null;
    global_position: number;
    handled: number;
    horizon: string;
  }>`
    SELECT set_config('synchronous_commit', 'off', true), set_config('enable_sort', 'off', true),
           lease.holder, c.transaction_id::text AS tx, c.global_position, c.handled,
           ${horizonColumn} AS horizon
    FROM (SELECT 1) one
    LEFT JOIN (
      SELECT holder FROM leases
      WHERE name = ${PROJECTOR_LEASE} AND holder = ${holder} AND expires_at > now() FOR UPDATE
    ) lease ON true
    LEFT JOIN checkpoints c ON c.name = ${PROJECTOR_CHECKPOINT}`.execute(tx);
  const row = result.rows[0];
  if (!row?.holder) return undefined;
  const { tx: at, global_position, handled, horizon } = row;
  return {
    checkpoint: checkpointOf(at === null ? undefined : { tx: at, global_position, handled }),
    horizon,
  };
};

/** Runs one projection batch in one transaction: read-model changes, outbox and checkpoint together. */
export const projectBatch = async (
  database: EngineDatabase,
  options: { holder: string; batchSize: number },
): Promise<{ checkpoint: Checkpoint; events: number }> =>
  database.db.transaction().execute(async (tx) => {
    const begun = await beginBatch(tx, options.holder);
    if (!begun) throw new LeaseLost();
    const { checkpoint, horizon } = begun;
    const events = await readLogBatch(tx, checkpoint.position, {
      limit: options.batchSize,
      horizon,
    });
    const last = events.at(-1);
    if (!last) return { checkpoint, events: 0 };
    const { handled, changes, unreadDeltas } = await applyBatch(
      tx,
      LIVE_TABLE,
      events,
      checkpoint.handled,
    );
    const next = { position: last.position, handled };
    const writes = [addToTotals(unreadDeltas), changesInsert(changes)];
    await storeCheckpoint(tx, PROJECTOR_CHECKPOINT, next, {
      notify: PROJECTED_CHANNEL,
      alongWith: writes.filter((write) => write !== undefined),
    });
    return { checkpoint: next, events: events.length };
  });

/**
 * The live projector: one active per database (the lease), woken by append notifications,
 * catching up in batches until the log is drained.
 */
export const createProjector = (options: ProjectorOptions) => {
  const { database, holder, logger } = options;
  const batchSize = options.batchSize ?? 1000;
  const maxBatchSize = Math.max(batchSize, options.maxBatchSize ?? batchSize * 8);
  let size = batchSize;
  const leaseTtlMs = options.leaseTtlMs ?? 5000;
  const idlePollMs = options.idlePollMs ?? 250;
  const reportEveryMs = options.reportEveryMs ?? 5000;
  const signal = createSignal();
  const stats: ProjectorStats = {
    leader: false,
    checkpoint: undefined,
    eventsProjected: 0,
    batches: 0,
    polls: 0,
    lastBatchAt: undefined,
    lagEvents: undefined,
    lagSeconds: undefined,
    withheldEvents: undefined,
    heldBackBy: undefined,
    eventsPerSecond: undefined,
  };
  let running = false;
  let loop: Promise<void> | undefined;
  let leaseTimer: NodeJS.Timeout | undefined;
  let reportTimer: NodeJS.Timeout | undefined;
  let statisticsTimer: NodeJS.Timeout | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  let reported = { at: performance.now(), events: 0 };

  /** Measures lag and throughput for the stats, and logs them while there is something to say. */
  const report = async () => {
    try {
      const checkpoint = await readCheckpoint(database.db, PROJECTOR_CHECKPOINT);
      const lag = await projectionLag(database.db, checkpoint.position);
      const now = performance.now();
      const projected = stats.eventsProjected - reported.events;
      stats.eventsPerSecond = Math.round((projected * 1000) / Math.max(1, now - reported.at));
      reported = { at: now, events: stats.eventsProjected };
      stats.lagEvents = lag.events;
      stats.lagSeconds = Math.round(lag.seconds * 10) / 10;
      stats.withheldEvents = lag.withheld;
      stats.heldBackBy = lag.heldBackBy && {
        pid: lag.heldBackBy.pid,
        database: lag.heldBackBy.database,
        runningSeconds: lag.heldBackBy.runningSeconds,
      };
      if (!stats.leader || (projected === 0 && lag.events === 0)) return;
      const fields = {
        handled: checkpoint.handled,
        eventsPerSecond: stats.eventsPerSecond,
        lagEvents: stats.lagEvents,
        lagSeconds: stats.lagSeconds,
        withheldEvents: stats.withheldEvents,
      };
      // Short transactions hold events back for moments all the time; a long one is news.
      if (lag.heldBackBy && lag.heldBackBy.runningSeconds >= HELD_BACK_NOTICE_SECONDS) {
        logger.warn('projector held back by a long-running transaction', {
          ...fields,
          transaction: lag.heldBackBy,
        });
      } else {
        logger.info('projector progress', fields);
      }
    } catch (error) {
      quietWhileAway(logger, 'warn', 'projection lag could not be measured', error);
    }
  };

  /** The leader, which writes, keeps the statistics of what it reads and writes fresh. */
  let refreshing = false;
  const refresh = async () => {
    if (refreshing || !stats.leader || database.kind !== 'postgres') return;
    refreshing = true;
    try {
      const analysed = await refreshStatistics(database.db);
      if (analysed.length > 0) logger.debug('statistics refreshed', { tables: analysed });
    } catch (error) {
      quietWhileAway(logger, 'warn', 'statistics could not be refreshed', error);
    } finally {
      refreshing = false;
    }
  };

  const renewLease = async () => {
    try {
      const leader = await acquireLease(database.db, {
        name: PROJECTOR_LEASE,
        holder,
        ttlMs: leaseTtlMs,
      });
      if (leader !== stats.leader) {
        logger.info(leader ? 'projector lease taken' : 'projector lease lost', { holder });
        stats.leader = leader;
        if (leader) signal.notify();
      }
    } catch (error) {
      quietWhileAway(logger, 'warn', 'projector lease renewal failed', error);
    }
  };

  const run = async () => {
    while (running) {
      if (!stats.leader) {
        // While PostgreSQL is away the lease cannot be asked for: ask again soon, not in a while.
        const away = !database.health.available();
        await signal.wait(away ? RETRY_WHILE_AWAY_MS : leaseTtlMs / 3);
        if (away) await renewLease();
        continue;
      }
      try {
        const started = performance.now();
        const { checkpoint, events } = await projectBatch(database, { holder, batchSize: size });
        stats.polls += 1;
        stats.checkpoint = checkpoint;
        if (events > 0) {
          stats.eventsProjected += events;
          stats.batches += 1;
          stats.lastBatchAt = Date.now();
          options.onProjected?.(checkpoint, events);
          logger.debug('projected batch', { events, ms: Math.round(performance.now() - started) });
        }
        // A full batch means a backlog: the next one is larger, until the log is drained.
        const full = events === size;
        size = full ? Math.min(size * 2, maxBatchSize) : batchSize;
        if (!full) await signal.wait(idlePollMs);
      } catch (error) {
        if (error instanceof LeaseLost) {
          stats.leader = false;
          logger.warn('projector lease lost before commit; batch rolled back', { holder });
          // Free again after an outage that outlasted it, or another's now: ask at once.
          await renewLease();
        } else if (error instanceof StorageUnavailable) {
          // The outage log says it once; commands wait for this loop, so look again soon.
          await signal.wait(RETRY_WHILE_AWAY_MS);
        } else {
          logger.error('projection batch failed; retrying', { error });
          await signal.wait(1000);
        }
      }
    }
  };

  return {
    stats: (): ProjectorStats => ({ ...stats }),
    /** Wakes the loop now: the same process just appended. */
    wake: () => signal.notify(),
    async start() {
      running = true;
      unlisten = await database.listen(EVENTS_CHANNEL, () => signal.notify());
      await renewLease();
      leaseTimer = setInterval(renewLease, leaseTtlMs / 3);
      reportTimer = setInterval(report, reportEveryMs);
      // Every second: a table that grows fast is planned as it is within moments.
      statisticsTimer = setInterval(refresh, STATISTICS_EVERY_MS);
      void report();
      loop = run();
    },
    async stop() {
      running = false;
      clearInterval(leaseTimer);
      clearInterval(reportTimer);
      clearInterval(statisticsTimer);
      signal.notify();
      await loop;
      await unlisten?.();
      if (stats.leader)
        await releaseLease(database.db, { name: PROJECTOR_LEASE, holder }).catch(() => {});
      stats.leader = false;
    },
  };
};

export type Projector = ReturnType<typeof createProjector>;
