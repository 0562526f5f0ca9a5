import type { Logger } from '@im/domain';
import { EVENTS_CHANNEL, StorageUnavailable } from '@im/eventstore';
import type { EngineDatabase } from '../read-model/schema.ts';
import { LayoutChanged, LeaseLost, type ProjectedBatch, projectBatch } from './project-batch.ts';
import { createSignal } from './signal.ts';

/** How soon a batch is tried again while PostgreSQL is away. */
const RETRY_WHILE_AWAY_MS = 100;

export interface RunnerOptions {
  database: EngineDatabase;
  /** Who this process is, as the leases record it. */
  holder: string;
  logger: Logger;
  /** The database's number of partitions (its projection layout). */
  partitionCount: number;
  /** The partitions to project now: those whose leases this process holds for it. */
  partitions(): readonly number[];
  /** A batch found fewer of them its own than asked for (or none): ask for the leases again. */
  onLeasesLost(): Promise<void> | void;
  /** Events per batch when the projector keeps up (default 1000). */
  batchSize?: number;
  /** Batches grow up to this while a backlog lasts: fewer round trips per event drained. */
  maxBatchSize?: number;
  /** How often an idle projector looks anyway, should a notification be missed (default 250 ms). */
  idlePollMs?: number;
  /** How long a runner with no partitions waits before it looks again (default 1000 ms). */
  withoutPartitionsMs?: number;
  /** How long a lease lasts unrenewed (default 5000 ms): each batch renews its partitions'. */
  leaseTtlMs?: number;
  /** Told of each batch that projected events: where it got, and the callbacks it handed over. */
  onProjected?: (batch: ProjectedBatch) => void;
  /** Told when a rebuild changed the number of partitions: the runner has stopped. */
  onLayoutChanged?: (partitions: number) => void;
}

export interface RunnerCounts {
  eventsProjected: number;
  batches: number;
  /** Batch transactions run, empty ones included: each is one look at the log. */
  polls: number;
  lastBatchAt: number | undefined;
  /** The latest batch that projected events: how many, and its time from read to commit. */
  lastBatch: { events: number; ms: number } | undefined;
}

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

/** What the runner counts of its batches, for its stats. */
const createCounts = () => {
  const counts: RunnerCounts = {
    eventsProjected: 0,
    batches: 0,
    polls: 0,
    lastBatchAt: undefined,
    lastBatch: undefined,
  };
  return {
    values: (): RunnerCounts => ({ ...counts }),
    polled(batch: { events: number }, ms: number) {
      counts.polls += 1;
      if (batch.events === 0) return;
      counts.eventsProjected += batch.events;
      counts.batches += 1;
      counts.lastBatchAt = Date.now();
      counts.lastBatch = { events: batch.events, ms };
    },
  };
};

/**
 * The projector's last outbox row, while its partitions stay the same: its next batch's entries
 * follow it for the publisher. A change of partitions starts the chain anew.
 */
const createOutboxChain = () => {
  let last: { partitions: string; id: number } | undefined;
  const key = (partitions: readonly number[]) => partitions.join(',');
  return {
    after: (partitions: readonly number[]) =>
      last?.partitions === key(partitions) ? last.id : undefined,
    wrote(partitions: readonly number[], id: number) {
      last = { partitions: key(partitions), id };
    },
  };
};

/** After a failed batch: what to do before the next; 'stop' when this runner must stop. */
const recoverFrom = async (
  error: unknown,
  options: RunnerOptions,
  signal: ReturnType<typeof createSignal>,
): Promise<'stop' | 'go on'> => {
  const { logger } = options;
  if (error instanceof LayoutChanged) {
    logger.error('projection layout changed: this process stops projecting; restart it', {
      partitions: error.partitions,
    });
    options.onLayoutChanged?.(error.partitions);
    return 'stop';
  }
  if (error instanceof LeaseLost) {
    logger.warn('projector leases lost before commit; batch rolled back');
    // Free again after an outage that outlasted them, or another's now: ask at once.
    await options.onLeasesLost();
  } else if (error instanceof StorageUnavailable) {
    // The outage log says it once; commands wait for this loop, so look again soon.
    await signal.wait(RETRY_WHILE_AWAY_MS);
  } else {
    logger.error('projection batch failed; retrying', { error });
    await signal.wait(1000);
  }
  return 'go on';
};

/**
 * Projects the partitions it is given, batch after batch: woken by append notifications, catching
 * up until the log is drained, and waiting (or looking now and then) when it is. It holds no
 * lease itself: whoever gives it the partitions keeps their leases, and each batch confirms them.
 */
export const createProjectionRunner = (options: RunnerOptions) => {
  const { database, logger } = options;
  const batchSize = options.batchSize ?? 1000;
  const size = growingBatchSize(batchSize, options.maxBatchSize ?? batchSize * 8);
  const idlePollMs = options.idlePollMs ?? 250;
  const signal = createSignal();
  const counts = createCounts();
  const outbox = createOutboxChain();
  let running = false;
  let loop: Promise<void> | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  /** One batch, counted and announced; answers whether the log may hold more at once. */
  const step = async (partitions: readonly number[]): Promise<boolean> => {
    const started = performance.now();
    const batch = await projectBatch(database, {
      holder: options.holder,
      partitionCount: options.partitionCount,
      partitions,
      batchSize: size.current(),
      leaseTtlMs: options.leaseTtlMs,
      outboxAfter: outbox.after(partitions),
    });
    const ms = Math.round((performance.now() - started) * 10) / 10;
    counts.polled(batch, ms);
    if (batch.checkpoints.size < partitions.length) await options.onLeasesLost();
    if (batch.outbox) outbox.wrote(partitions, batch.outbox.lastID);
    if (batch.events > 0) {
      options.onProjected?.(batch);
      logger.debug('projected batch', { events: batch.events, ms });
    }
    return size.after(batch.events);
  };

  const run = async () => {
    while (running) {
      const partitions = options.partitions();
      if (partitions.length === 0) {
        // While PostgreSQL is away no lease can be asked for: ask again soon, not in a while.
        const away = !database.health.available();
        await signal.wait(away ? RETRY_WHILE_AWAY_MS : (options.withoutPartitionsMs ?? 1000));
        if (away) await options.onLeasesLost();
        continue;
      }
      try {
        if (!(await step(partitions))) await signal.wait(idlePollMs);
      } catch (error) {
        if ((await recoverFrom(error, options, signal)) === 'stop') running = false;
      }
    }
  };

  return {
    counts: counts.values,
    /** Wakes the loop now: an append, or new partitions. */
    wake: () => signal.notify(),
    async start() {
      running = true;
      unlisten = await database.listen(EVENTS_CHANNEL, () => signal.notify());
      loop = run();
    },
    async stop() {
      running = false;
      signal.notify();
      await loop;
      await unlisten?.();
    },
  };
};

export type ProjectionRunner = ReturnType<typeof createProjectionRunner>;
