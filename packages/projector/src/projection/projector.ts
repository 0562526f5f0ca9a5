import {
  type Checkpoint,
  type Database,
  EVENTS_CHANNEL,
  readCheckpoint,
  readEventsAfter,
  storeCheckpoint,
} from '@im/eventstore';
import { sql } from 'kysely';
import type { Logger } from '../logger.ts';
import { applyBatch, recordChanges } from './apply-batch.ts';
import { acquireLease, confirmLease, PROJECTOR_LEASE, releaseLease } from './lease.ts';
import { createSignal } from './signal.ts';
import { PROJECTED_CHANNEL, PROJECTOR_CHECKPOINT } from './watcher.ts';

export const LIVE_TABLE = 'conversation_item';

export interface ProjectorOptions {
  database: Database;
  /** Who this process is, as the lease records it. */
  holder: string;
  logger: Logger;
  batchSize?: number;
  leaseTtlMs?: number;
  /** How often an idle projector looks anyway, should a notification be missed. */
  idlePollMs?: number;
  onProjected?: (checkpoint: Checkpoint, events: number) => void;
}

export interface ProjectorStats {
  leader: boolean;
  checkpoint: Checkpoint | undefined;
  eventsProjected: number;
  batches: number;
  lastBatchAt: number | undefined;
}

class LeaseLost extends Error {}

/** Runs one projection batch in one transaction: read-model changes, outbox and checkpoint together. */
export const projectBatch = async (
  database: Database,
  options: { holder: string; batchSize: number },
): Promise<{ checkpoint: Checkpoint; events: number }> =>
  database.db.transaction().execute(async (tx) => {
    if (!(await confirmLease(tx, { name: PROJECTOR_LEASE, holder: options.holder })))
      throw new LeaseLost();
    const checkpoint = await readCheckpoint(tx, PROJECTOR_CHECKPOINT);
    const events = await readEventsAfter(tx, checkpoint.position, { limit: options.batchSize });
    const last = events.at(-1);
    if (!last) return { checkpoint, events: 0 };
    const { handled, changes } = await applyBatch(tx, LIVE_TABLE, events, checkpoint.handled);
    await recordChanges(tx, changes);
    const next = { position: last.position, handled };
    await storeCheckpoint(tx, PROJECTOR_CHECKPOINT, next);
    await sql`SELECT pg_notify(${PROJECTED_CHANNEL}, ${JSON.stringify(next.position)})`.execute(tx);
    return { checkpoint: next, events: events.length };
  });

/**
 * The live projector: one active per database (the lease), woken by append notifications,
 * catching up in batches until the log is drained.
 */
export const createProjector = (options: ProjectorOptions) => {
  const { database, holder, logger } = options;
  const batchSize = options.batchSize ?? 1000;
  const leaseTtlMs = options.leaseTtlMs ?? 5000;
  const idlePollMs = options.idlePollMs ?? 250;
  const signal = createSignal();
  const stats: ProjectorStats = {
    leader: false,
    checkpoint: undefined,
    eventsProjected: 0,
    batches: 0,
    lastBatchAt: undefined,
  };
  let running = false;
  let loop: Promise<void> | undefined;
  let leaseTimer: NodeJS.Timeout | undefined;
  let unlisten: (() => Promise<void>) | undefined;

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
      logger.warn('projector lease renewal failed', { error });
    }
  };

  const run = async () => {
    while (running) {
      if (!stats.leader) {
        await signal.wait(leaseTtlMs / 3);
        continue;
      }
      try {
        const started = performance.now();
        const { checkpoint, events } = await projectBatch(database, { holder, batchSize });
        stats.checkpoint = checkpoint;
        if (events > 0) {
          stats.eventsProjected += events;
          stats.batches += 1;
          stats.lastBatchAt = Date.now();
          options.onProjected?.(checkpoint, events);
          logger.debug('projected batch', { events, ms: Math.round(performance.now() - started) });
        }
        if (events < batchSize) await signal.wait(idlePollMs);
      } catch (error) {
        if (error instanceof LeaseLost) {
          stats.leader = false;
          logger.warn('projector lease lost before commit; batch rolled back', { holder });
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
      loop = run();
    },
    async stop() {
      running = false;
      clearInterval(leaseTimer);
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
