import type { Logger } from '@im/domain';
import type { StorageHealth } from '@im/eventstore';
import { sql } from 'kysely';
import { quietWhileAway } from '../quiet-while-away.ts';
import { projectorLease } from '../read-model/names.ts';
import type { Db } from '../read-model/schema.ts';
import { acquireLeases, leaseHolders, releaseLeases, renewLeases } from './lease.ts';

export interface PartitionLeaseOptions {
  db: Db;
  health: StorageHealth;
  /** The database's number of partitions. */
  partitions: number;
  /** Who this process is, as the leases record it. */
  holder: string;
  ttlMs: number;
  logger: Logger;
  /** Called when the partitions held changed. */
  onChange(held: readonly number[]): void;
}

/** Holds partition leases for this process: asks for them, renews them, gives them back. */
export interface PartitionLeases {
  /** The partitions held, ascending. */
  held(): readonly number[];
  /** Renews what is held and asks for what the share allows, now. */
  renew(): Promise<void>;
  /** Something found leases gone (a batch rolled back): ask again at once. */
  lost(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A live process's own lease: processes count each other by them. */
const instanceLease = (holder: string) => `instance:${holder}`;

/** Live processes: those whose instance lease has not expired, this one included. */
const liveProcesses = async (db: Db, holder: string, ttlMs: number): Promise<number> => {
  await acquireLeases(db, { names: [instanceLease(holder)], holder, ttlMs });
  const result = await sql<{ live: number }>`
    SELECT count(*)::int AS live FROM leases
    WHERE name LIKE 'instance:%' AND expires_at > now()`.execute(db);
  return Math.max(1, result.rows[0]?.live ?? 1);
};

/**
 * Renews every third of the TTL, so a holder keeps its leases through two missed renewals; an
 * expired lease goes to whichever process asks next. Live processes share the partitions evenly:
 * each holds at most ceil(partitions / live processes), asks for free leases up to that share,
 * starting at a place of its own (a hash of its name) so that processes starting together do not
 * all ask for the same ones first, and gives back what is past it, for a newcomer to take.
 */
export const createPartitionLeases = (options: PartitionLeaseOptions): PartitionLeases => {
  const { db, holder, ttlMs, logger } = options;
  const count = options.partitions;
  const names = new Map(Array.from({ length: count }, (_, p) => [projectorLease(p), p]));
  let held: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  let renewing: Promise<void> | undefined;
  const offset = [...holder].reduce((sum, c) => (sum * 31 + c.charCodeAt(0)) >>> 0, 7) % count;
  const order = Array.from({ length: count }, (_, i) => (i + offset) % count);

  const set = (now: number[]) => {
    now.sort((a, b) => a - b);
    if (now.length === held.length && now.every((p, i) => p === held[i])) return;
    const taken = now.filter((p) => !held.includes(p));
    const gone = held.filter((p) => !now.includes(p));
    held = now;
    if (taken.length > 0) logger.info('projector partitions taken', { holder, partitions: taken });
    if (gone.length > 0) logger.info('projector partitions given up', { holder, partitions: gone });
    options.onChange(held);
  };

  /** Up to `wanted` partitions whose leases nobody holds, in this process's order. */
  const takeFree = async (kept: readonly number[], wanted: number): Promise<number[]> => {
    const busy = new Set(
      (await leaseHolders(db, 'projector:'))
        .filter((lease) => lease.live && lease.holder !== holder)
        .map((lease) => names.get(lease.name)),
    );
    const free = order.filter((p) => !kept.includes(p) && !busy.has(p)).slice(0, wanted);
    if (free.length === 0) return [];
    const granted = await acquireLeases(db, { names: free.map(projectorLease), holder, ttlMs });
    return granted.map((name) => names.get(name) as number);
  };

  const renewOnce = async () => {
    try {
      const wanted = Math.ceil(count / (await liveProcesses(db, holder, ttlMs)));
      const kept = (await renewLeases(db, { names: held.map(projectorLease), holder, ttlMs })).map(
        (name) => names.get(name) as number,
      );
      const surplus = kept.slice(wanted);
      if (surplus.length > 0) {
        await releaseLeases(db, { names: surplus.map(projectorLease), holder });
        kept.length = wanted;
      }
      const taken =
        kept.length < wanted ? await takeFree(kept, wanted - kept.length) : ([] as number[]);
      set([...kept, ...taken].slice(0, Math.max(wanted, 0)));
    } catch (error) {
      quietWhileAway(logger, 'warn', 'projector lease renewal failed', error);
    }
  };
  // One renewal at a time: a timer tick and a lost batch may ask together.
  const renew = () => {
    renewing ??= renewOnce().finally(() => {
      renewing = undefined;
    });
    return renewing;
  };

  return {
    held: () => held,
    renew,
    async lost() {
      await renew();
    },
    async start() {
      await renew();
      timer = setInterval(renew, ttlMs / 3);
    },
    async stop() {
      clearInterval(timer);
      await renewing;
      const names = [...held.map(projectorLease), instanceLease(holder)];
      await releaseLeases(db, { names, holder }).catch(() => {});
      set([]);
    },
  };
};
