import type { Logger } from '@im/domain';
import type { EngineDatabase } from '../read-model/schema.ts';
import { keepStatisticsFresh } from './fresh-statistics.ts';
import { createPartitionLeases } from './lease-keeper.ts';
import type { ProjectedBatch } from './project-batch.ts';
import { createProjectionReport, type ReportFigures } from './projection-report.ts';
import { createProjectionRunner, type RunnerCounts } from './runner.ts';

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

export interface ProjectorStats extends ReportFigures, RunnerCounts {
  /** Whether this process projects any partition. */
  leader: boolean;
  /** The partitions this process projects. */
  held: readonly number[];
}

/** A table that grows fast is planned as it is within a second. */
export const STATISTICS_EVERY_MS = 1000;

/**
 * Holds this process's share of the partitions' leases, and measures and reports their lag and
 * keeps the statistics of the tables they write fresh: what a process that projects does beside
 * its batches, wherever those run.
 */
export const createProjectionDuties = (options: {
  database: EngineDatabase;
  holder: string;
  logger: Logger;
  partitions: number;
  leaseTtlMs?: number;
  reportEveryMs?: number;
  onChange(held: readonly number[]): void;
  projected(): number;
}) => {
  const { database, logger } = options;
  const leases = createPartitionLeases({
    db: database.db,
    health: database.health,
    partitions: options.partitions,
    holder: options.holder,
    ttlMs: options.leaseTtlMs ?? 5000,
    logger,
    onChange: options.onChange,
  });
  const report = createProjectionReport({
    db: database.db,
    logger,
    partitions: () => leases.held(),
    everyMs: options.reportEveryMs ?? 5000,
    projected: options.projected,
  });
  let statistics: { stop(): void } | undefined;
  return {
    leases,
    figures: report.figures,
    async start() {
      await leases.start();
      report.start();
      statistics = keepStatisticsFresh({
        database,
        logger,
        active: () => leases.held().length > 0,
        everyMs: STATISTICS_EVERY_MS,
      });
    },
    async stop() {
      report.stop();
      statistics?.stop();
      await leases.stop();
    },
  };
};

/**
 * The live projector of the partitions this process holds (one process at a time projects a
 * partition: its lease), in this thread: woken by append notifications, catching up in batches
 * until the log is drained; it reports its lag and keeps the statistics of its tables fresh.
 */
export const createProjector = (options: ProjectorOptions) => {
  const { database, holder, logger } = options;
  const duties = createProjectionDuties({
    database,
    holder,
    logger,
    partitions: options.partitions,
    leaseTtlMs: options.leaseTtlMs,
    reportEveryMs: options.reportEveryMs,
    onChange(held) {
      options.onPartitionsChanged?.(held);
      runner.wake();
    },
    projected: () => runner.counts().eventsProjected,
  });
  const runner = createProjectionRunner({
    database,
    holder,
    logger,
    partitionCount: options.partitions,
    partitions: () => duties.leases.held(),
    onLeasesLost: () => duties.leases.lost(),
    batchSize: options.batchSize,
    maxBatchSize: options.maxBatchSize,
    idlePollMs: options.idlePollMs,
    withoutPartitionsMs: (options.leaseTtlMs ?? 5000) / 3,
    leaseTtlMs: options.leaseTtlMs,
    onProjected: options.onProjected,
    onLayoutChanged: options.onLayoutChanged,
  });

  return {
    stats: (): ProjectorStats => ({
      leader: duties.leases.held().length > 0,
      held: duties.leases.held(),
      ...runner.counts(),
      ...duties.figures(),
    }),
    /** Wakes the loop now: the same process just appended. */
    wake: () => runner.wake(),
    async start() {
      await duties.start();
      await runner.start();
    },
    async stop() {
      await runner.stop();
      await duties.stop();
    },
  };
};

export type Projector = ReturnType<typeof createProjector>;
