import type { Logger } from '@im/domain';
import { type StorageHealth, StorageUnavailable } from '@im/eventstore';
import type { LeaseKeeper } from './lease-keeper.ts';
import { LeaseLost } from './project-batch.ts';
import type { createSignal } from './signal.ts';

/** How soon a batch is tried again while PostgreSQL is away. */
const RETRY_WHILE_AWAY_MS = 100;

export interface BatchLoopOptions {
  lease: LeaseKeeper;
  health: StorageHealth;
  signal: ReturnType<typeof createSignal>;
  logger: Logger;
  /** Runs one batch; answers whether the log may hold more at once. */
  step(): Promise<boolean>;
  /** How long an idle loop waits for a notification before it looks anyway. */
  idlePollMs: number;
  /** How long a loop without the lease waits before it looks again. */
  withoutLeaseMs: number;
  running(): boolean;
}

/** After a failed batch: what to do before the next. */
const recover = async (options: BatchLoopOptions, error: unknown) => {
  if (error instanceof LeaseLost) {
    options.logger.warn('projector lease lost before commit; batch rolled back');
    // Free again after an outage that outlasted it, or another's now: ask at once.
    await options.lease.lost();
  } else if (error instanceof StorageUnavailable) {
    // The outage log says it once; commands wait for this loop, so look again soon.
    await options.signal.wait(RETRY_WHILE_AWAY_MS);
  } else {
    options.logger.error('projection batch failed; retrying', { error });
    await options.signal.wait(1000);
  }
};

/**
 * Runs batches while `running()` and the lease is held; waits for a notification (or the idle
 * poll) when the log is drained, and for the lease when another process holds it.
 */
export const runBatches = async (options: BatchLoopOptions): Promise<void> => {
  const { lease, signal } = options;
  while (options.running()) {
    if (!lease.held()) {
      // While PostgreSQL is away the lease cannot be asked for: ask again soon, not in a while.
      const away = !options.health.available();
      await signal.wait(away ? RETRY_WHILE_AWAY_MS : options.withoutLeaseMs);
      if (away) await lease.renew();
      continue;
    }
    try {
      if (!(await options.step())) await signal.wait(options.idlePollMs);
    } catch (error) {
      await recover(options, error);
    }
  }
};

/** A batch size that doubles while batches come back full (a backlog), up to `max`. */
export const growingBatchSize = (base: number, max: number) => {
  let size = base;
  return {
    current: () => size,
    /** Notes a batch's event count; answers whether it was full. */
    after(events: number): boolean {
      const full = events === size;
      size = full ? Math.min(size * 2, Math.max(base, max)) : base;
      return full;
    },
  };
};
