import type { Logger } from '@im/domain';
import { EVENTS_CHANNEL, type StorageHealth, StorageUnavailable } from '@im/eventstore';
import type { EngineDatabase } from '../read-model/schema.ts';
import { keepStatisticsFresh } from './fresh-statistics.ts';
import { createPartitionLeases, type PartitionLeases } from './lease-keeper.ts';
import { LayoutChanged, LeaseLost, type ProjectedBatch, projectBatch } from './project-batch.ts';
import { createProjectionReport, type ReportFigures } from './projection-report.ts';
import { createSignal } from './signal.ts';

/** How soon a batch is tried again while PostgreSQL is away. */
const RETRY_WHILE_AWAY_MS = 100;

export interface BatchLoopOptions {
  lease: PartitionLeases;
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
  /** A rebuild changed the number of partitions: the loop has stopped. */
  onLayoutChanged(partitions: number): void;
}

/** After a failed batch: what to do before the next. */
const recover = async (options: BatchLoopOptions, error: unknown) => {
  if (error instanceof LayoutChanged) {
    options.logger.error('projection layout changed: this process stops projecting; restart it', {
      partitions: error.partitions,
    });
    options.onLayoutChanged(error.partitions);
  } else if (error instanceof LeaseLost) {
    options.logger.warn('projector leases lost before commit; batch rolled back');
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
    if (lease.held().length === 0) {
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

export interface ProjectorOptions {
  database: EngineDatabase;
  /** Who this process is, as the leases record it. */
  holder: string;
  logger: Logger;
  /** The database's number of partitions (its projection layout). */
  partitions: number;
  /** Events per batch when the projector keeps up (default 1000). */
  batchSize?: number;
  /** Batches grow up to this while a backlog lasts: fewer round trips per event drained. */
  maxBatchSize?: number;
  /** How long a lease lasts unrenewed (default 5000 ms). */
  leaseTtlMs?: number;
  /** How often an idle projector looks anyway, should a notification be missed (default 250 ms). */
  idlePollMs?: number;
  /** How often lag and throughput are measured, logged and put in the stats (default 5000 ms). */
  reportEveryMs?: number;
  /** Told of each batch that projected events: where it got, and the callbacks it handed over. */
  onProjected?: (batch: ProjectedBatch) => void;
  /** Told when the partitions held changed. */
  onPartitionsChanged?: (held: readonly number[]) => void;
  /** Told when a rebuild changed the number of partitions: the projector has stopped. */
  onLayoutChanged?: (partitions: number) => void;
}

export interface ProjectorStats extends ReportFigures {
  /** Whether this process projects any partition. */
  leader: boolean;
  /** The partitions this process projects. */
  held: readonly number[];
  eventsProjected: number;
  batches: number;
  /** Batch transactions run, empty ones included: each is one look at the log. */
  polls: number;
  lastBatchAt: number | undefined;
  /** The latest batch that projected events: how many, and its time from read to commit. */
  lastBatch: { events: number; ms: number } | undefined;
}

/** A table that grows fast is planned as it is within a second. */
const STATISTICS_EVERY_MS = 1000;

/** What the projector counts of its batches, for its stats. */
const createCounts = () => {
  const counts = {
    eventsProjected: 0,
    batches: 0,
    polls: 0,
    lastBatchAt: undefined as number | undefined,
    lastBatch: undefined as { events: number; ms: number } | undefined,
  };
  return {
    values: () => ({ ...counts }),
    eventsProjected: () => counts.eventsProjected,
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

/** One batch, counted and announced; answers whether the log may hold more at once. */
const batchStep = (
  options: ProjectorOptions,
  parts: {
    lease: PartitionLeases;
    size: ReturnType<typeof growingBatchSize>;
    counts: ReturnType<typeof createCounts>;
    outbox: ReturnType<typeof createOutboxChain>;
  },
) => {
  const { lease, size, counts, outbox } = parts;
  return async (): Promise<boolean> => {
    const started = performance.now();
    const { database, holder } = options;
    const partitions = lease.held();
    const batch = await projectBatch(database, {
      holder,
      partitionCount: options.partitions,
      partitions,
      batchSize: size.current(),
      outboxAfter: outbox.after(partitions),
    });
    const ms = Math.round((performance.now() - started) * 10) / 10;
    counts.polled(batch, ms);
    if (batch.checkpoints.size < partitions.length) await lease.lost();
    if (batch.outbox) outbox.wrote(partitions, batch.outbox.lastID);
    if (batch.events > 0) {
      options.onProjected?.(batch);
      options.logger.debug('projected batch', { events: batch.events, ms });
    }
    return size.after(batch.events);
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

/**
 * The live projector of the partitions this process holds (one process at a time projects a
 * partition: its lease), woken by append notifications, catching up in batches until the log is
 * drained; it reports its lag and keeps the statistics of its tables fresh.
 */
export const createProjector = (options: ProjectorOptions) => {
  const { database, holder, logger } = options;
  const batchSize = options.batchSize ?? 1000;
  const size = growingBatchSize(batchSize, options.maxBatchSize ?? batchSize * 8);
  const leaseTtlMs = options.leaseTtlMs ?? 5000;
  const idlePollMs = options.idlePollMs ?? 250;
  const signal = createSignal();
  const counts = createCounts();
  const lease = createPartitionLeases({
    db: database.db,
    health: database.health,
    partitions: options.partitions,
    holder,
    ttlMs: leaseTtlMs,
    logger,
    onChange(held) {
      options.onPartitionsChanged?.(held);
      signal.notify();
    },
  });
  const report = createProjectionReport({
    db: database.db,
    logger,
    partitions: () => lease.held(),
    everyMs: options.reportEveryMs ?? 5000,
    projected: () => counts.eventsProjected(),
  });
  let running = false;
  let loop: Promise<void> | undefined;
  let statistics: { stop(): void } | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  const step = batchStep(options, { lease, size, counts, outbox: createOutboxChain() });

  return {
    stats: (): ProjectorStats => ({
      leader: lease.held().length > 0,
      held: lease.held(),
      ...counts.values(),
      ...report.figures(),
    }),
    /** Wakes the loop now: the same process just appended. */
    wake: () => signal.notify(),
    async start() {
      running = true;
      unlisten = await database.listen(EVENTS_CHANNEL, () => signal.notify());
      await lease.start();
      report.start();
      statistics = keepStatisticsFresh({
        database,
        logger,
        active: () => lease.held().length > 0,
        everyMs: STATISTICS_EVERY_MS,
      });
      loop = runBatches({
        lease,
        health: database.health,
        signal,
        logger,
        step,
        idlePollMs,
        withoutLeaseMs: leaseTtlMs / 3,
        running: () => running,
        onLayoutChanged(partitions) {
          running = false;
          options.onLayoutChanged?.(partitions);
        },
      });
    },
    async stop() {
      running = false;
      report.stop();
      statistics?.stop();
      signal.notify();
      await loop;
      await unlisten?.();
      await lease.stop();
    },
  };
};

export type Projector = ReturnType<typeof createProjector>;
