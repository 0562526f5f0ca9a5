import type { Logger } from '@im/domain';
import type { StorageHealth } from '@im/eventstore';
import { quietWhileAway } from '../quiet-while-away.ts';
import type { Db } from '../read-model/schema.ts';
import { acquireLease, releaseLease } from './lease.ts';

export interface LeaseKeeperOptions {
  db: Db;
  health: StorageHealth;
  /** The lease's name in `leases`. */
  name: string;
  /** Who this process is, as the lease records it. */
  holder: string;
  ttlMs: number;
  logger: Logger;
  /** Called when the lease becomes this process's. */
  onTaken(): void;
}

/** Holds a named lease for this process: asks for it, renews it, and gives it back on stop. */
export interface LeaseKeeper {
  held(): boolean;
  /** Asks for the lease (or renews it) now. */
  renew(): Promise<void>;
  /** Something found the lease gone (a batch rolled back): ask for it again at once. */
  lost(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Renews every third of the TTL, so a holder keeps its lease through two missed renewals; an
 * expired lease goes to whichever process asks next.
 */
export const createLeaseKeeper = (options: LeaseKeeperOptions): LeaseKeeper => {
  const { db, name, holder, ttlMs, logger } = options;
  let held = false;
  let timer: NodeJS.Timeout | undefined;
  const set = (now: boolean) => {
    if (now === held) return;
    held = now;
    logger.info(now ? 'projector lease taken' : 'projector lease lost', { holder, lease: name });
    if (now) options.onTaken();
  };
  const renew = async () => {
    try {
      set(await acquireLease(db, { name, holder, ttlMs }));
    } catch (error) {
      quietWhileAway(logger, 'warn', 'projector lease renewal failed', error);
    }
  };
  return {
    held: () => held,
    renew,
    async lost() {
      set(false);
      await renew();
    },
    async start() {
      await renew();
      timer = setInterval(renew, ttlMs / 3);
    },
    async stop() {
      clearInterval(timer);
      if (held) await releaseLease(db, { name, holder }).catch(() => {});
      held = false;
    },
  };
};
